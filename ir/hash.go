package ir

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
)

// AnySize is the size of a hash signature written with size '*'.
const AnySize = -1

// HashFlags qualify a hash entry.
type HashFlags uint8

// Hash entry flags.
const (
	HashPUA      HashFlags = 1 << iota // from a PUA database (.hdu ...)
	HashAllow                          // allow-list entry (.fp .sfp): the object is clean
	HashOfficial                       // from a signed container
)

// HashEntry is one hash signature as returned by lookups.
type HashEntry struct {
	Kind   HashKind
	Algo   HashAlgo
	Size   int64
	Name   string
	Flags  HashFlags
	Source Source
}

// hashRec is the compact in-memory form of a hash signature: the feed ships
// millions of them, so each costs its digest, its size and two references.
type hashRec struct {
	digest [32]byte // only the first Algo.Size() bytes are used
	size   int64
	name   uint32 // offset of the name in HashTable.names
	src    uint32 // index into HashTable.srcs
}

type hashKey struct {
	kind HashKind
	algo HashAlgo
}

// HashTable holds hash signatures keyed by kind, algorithm and size, so that
// objects of a size no signature has are never hashed.
type HashTable struct {
	recs  map[hashKey][]hashRec
	names []byte // length-prefixed names: uvarint length, bytes, flags byte
	srcs  []Source
	// sizes per kind: the set of fixed sizes present, and whether any
	// signature of the kind has size '*'.
	sorted bool
}

// NewHashTable returns an empty table.
func NewHashTable() *HashTable { return &HashTable{recs: map[hashKey][]hashRec{}} }

// Add appends one signature. digest must be 16, 20 or 32 bytes.
func (t *HashTable) Add(kind HashKind, digest []byte, size int64, name string, flags HashFlags, src Source) {
	algo := algoFor(len(digest))
	var r hashRec
	copy(r.digest[:], digest)
	r.size = size
	r.name = uint32(len(t.names))
	t.names = binary.AppendUvarint(t.names, uint64(len(name)))
	t.names = append(t.names, name...)
	t.names = append(t.names, byte(flags))
	if n := len(t.srcs); n > 0 && t.srcs[n-1].File == src.File {
		// Lines of one file share their Source entry; the line is stored in it
		// only for the first, so keep per-record lines out of memory: the
		// name is what reports need, and a lookup reports the file.
		r.src = uint32(n - 1)
	} else {
		t.srcs = append(t.srcs, Source{File: src.File})
		r.src = uint32(len(t.srcs) - 1)
	}
	k := hashKey{kind, algo}
	t.recs[k] = append(t.recs[k], r)
	t.sorted = false
}

func algoFor(n int) HashAlgo {
	switch n {
	case 16:
		return MD5
	case 20:
		return SHA1
	default:
		return SHA256
	}
}

// Len returns the number of signatures in the table.
func (t *HashTable) Len() int {
	n := 0
	for _, rs := range t.recs {
		n += len(rs)
	}
	return n
}

// Merge appends every signature of o to t.
func (t *HashTable) Merge(o *HashTable) {
	base := uint32(len(t.names))
	sbase := uint32(len(t.srcs))
	t.names = append(t.names, o.names...)
	t.srcs = append(t.srcs, o.srcs...)
	for k, rs := range o.recs {
		dst := t.recs[k]
		for _, r := range rs {
			r.name += base
			r.src += sbase
			dst = append(dst, r)
		}
		t.recs[k] = dst
	}
	t.sorted = false
}

// Sort orders the records for lookup. It must be called after the last Add
// and before the first lookup; the table is read-only afterwards and safe for
// concurrent use.
func (t *HashTable) Sort() {
	for k, rs := range t.recs {
		slices.SortFunc(rs, func(a, b hashRec) int {
			if c := cmp.Compare(a.size, b.size); c != 0 {
				return c
			}
			return bytes.Compare(a.digest[:], b.digest[:])
		})
		t.recs[k] = rs
	}
	t.sorted = true
}

// Algos returns the algorithms for which kind has signatures that an object
// of the given size could match (its size, or '*'). An empty result means the
// object need not be hashed for this kind.
func (t *HashTable) Algos(kind HashKind, size int64) []HashAlgo {
	var out []HashAlgo
	for _, a := range []HashAlgo{MD5, SHA1, SHA256} {
		rs := t.recs[hashKey{kind, a}]
		if len(rs) == 0 {
			continue
		}
		if hasSize(rs, size) || (len(rs) > 0 && rs[0].size == AnySize) {
			out = append(out, a)
		}
	}
	return out
}

func hasSize(rs []hashRec, size int64) bool {
	i, _ := slices.BinarySearchFunc(rs, size, func(r hashRec, s int64) int { return cmp.Compare(r.size, s) })
	return i < len(rs) && rs[i].size == size
}

// Lookup calls fn for every signature of kind whose digest equals digest and
// whose size is size or '*'.
func (t *HashTable) Lookup(kind HashKind, digest []byte, size int64, fn func(HashEntry)) {
	algo := algoFor(len(digest))
	rs := t.recs[hashKey{kind, algo}]
	for _, sz := range [2]int64{AnySize, size} {
		var key [32]byte
		copy(key[:], digest)
		i, _ := slices.BinarySearchFunc(rs, sz, func(r hashRec, s int64) int {
			if c := cmp.Compare(r.size, s); c != 0 {
				return c
			}
			return bytes.Compare(r.digest[:], key[:])
		})
		for ; i < len(rs) && rs[i].size == sz && rs[i].digest == key; i++ {
			fn(t.entry(kind, algo, rs[i]))
		}
		if size == AnySize {
			break
		}
	}
}

func (t *HashTable) entry(kind HashKind, algo HashAlgo, r hashRec) HashEntry {
	n, w := binary.Uvarint(t.names[r.name:])
	start := int(r.name) + w
	name := string(t.names[start : start+int(n)])
	return HashEntry{
		Kind:   kind,
		Algo:   algo,
		Size:   r.size,
		Name:   name,
		Flags:  HashFlags(t.names[start+int(n)]),
		Source: t.srcs[r.src],
	}
}
