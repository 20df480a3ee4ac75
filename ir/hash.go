package ir

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"sort"
	"sync"
)

// AnySize is the size of a hash signature written with size '*'.
const AnySize = -1

// anySize is AnySize as stored: sizes are kept in 32 bits (ClamAV never
// scans objects of 2 GiB or more).
const anySize = ^uint32(0)

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
	Source Source // the database file; Line is not kept for hash signatures
}

// rec is the in-memory form of one hash signature. The official feed ships
// millions of them, so each costs only its digest, its size and the offset
// of its name: 24 bytes for MD5.
type rec[D comparable] struct {
	size uint32
	name uint32 // offset in HashTable.names
	d    D
}

// table holds the signatures of one digest length, per kind.
type table[D comparable] struct {
	recs    [3][]rec[D] // by HashKind
	compare func(a, b D) int
}

func (t *table[D]) sort() {
	var wg sync.WaitGroup
	for k := range t.recs {
		rs := t.recs[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sortRecs(rs, t.compare)
		}()
	}
	wg.Wait()
}

// sortRecs orders by (size, digest). Large tables are sorted in two halves
// in parallel and merged, which halves the load time of the official feed.
func sortRecs[D comparable](rs []rec[D], compare func(a, b D) int) {
	less := func(a, b rec[D]) int {
		if c := cmp.Compare(a.size, b.size); c != 0 {
			return c
		}
		return compare(a.d, b.d)
	}
	if len(rs) < 1<<16 {
		slices.SortFunc(rs, less)
		return
	}
	mid := len(rs) / 2
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); slices.SortFunc(rs[:mid], less) }()
	slices.SortFunc(rs[mid:], less)
	wg.Wait()
	merged := make([]rec[D], 0, len(rs))
	i, j := 0, mid
	for i < mid && j < len(rs) {
		if less(rs[j], rs[i]) < 0 {
			merged = append(merged, rs[j])
			j++
		} else {
			merged = append(merged, rs[i])
			i++
		}
	}
	merged = append(merged, rs[i:mid]...)
	merged = append(merged, rs[j:]...)
	copy(rs, merged)
}

// has reports whether kind has a signature of the given stored size.
func (t *table[D]) has(kind HashKind, size uint32) bool {
	rs := t.recs[kind]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].size >= size })
	return i < len(rs) && rs[i].size == size
}

func (t *table[D]) lookup(kind HashKind, d *D, size uint32, fn func(name uint32)) {
	rs := t.recs[kind]
	i := sort.Search(len(rs), func(i int) bool {
		if rs[i].size != size {
			return rs[i].size > size
		}
		return t.compare(rs[i].d, *d) >= 0
	})
	for ; i < len(rs) && rs[i].size == size && rs[i].d == *d; i++ {
		fn(rs[i].name)
	}
}

// HashTable holds hash signatures keyed by kind, algorithm and size, so that
// objects of a size no signature has are never hashed.
type HashTable struct {
	md5    table[[16]byte]
	sha1   table[[20]byte]
	sha256 table[[32]byte]
	// names holds each signature's name: uvarint length, bytes, flags byte.
	names []byte
	// files maps name offsets to database files: entry i covers names from
	// files[i].start on.
	files []fileRun
	n     int
}

type fileRun struct {
	start uint32
	file  string
}

// NewHashTable returns an empty table.
func NewHashTable() *HashTable {
	return &HashTable{
		md5:    table[[16]byte]{compare: cmp16},
		sha1:   table[[20]byte]{compare: func(a, b [20]byte) int { return bytes.Compare(a[:], b[:]) }},
		sha256: table[[32]byte]{compare: func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) }},
	}
}

// Add appends one signature. digest must be 16, 20 or 32 bytes long; size
// is the object size or AnySize.
func (t *HashTable) Add(kind HashKind, digest []byte, size int64, name string, flags HashFlags, src Source) {
	off := uint32(len(t.names))
	if n := len(t.files); n == 0 || t.files[n-1].file != src.File {
		t.files = append(t.files, fileRun{start: off, file: src.File})
	}
	t.names = binary.AppendUvarint(t.names, uint64(len(name)))
	t.names = append(t.names, name...)
	t.names = append(t.names, byte(flags))
	sz := anySize
	if size >= 0 && size < int64(anySize) {
		sz = uint32(size)
	}
	switch len(digest) {
	case 16:
		t.md5.recs[kind] = append(t.md5.recs[kind], rec[[16]byte]{size: sz, name: off, d: [16]byte(digest)})
	case 20:
		t.sha1.recs[kind] = append(t.sha1.recs[kind], rec[[20]byte]{size: sz, name: off, d: [20]byte(digest)})
	default:
		t.sha256.recs[kind] = append(t.sha256.recs[kind], rec[[32]byte]{size: sz, name: off, d: [32]byte(digest)})
	}
	t.n++
}

// Len returns the number of signatures in the table.
func (t *HashTable) Len() int { return t.n }

// Sort orders the records for lookup. It must be called after the last Add
// and before the first lookup; the table is read-only afterwards and safe for
// concurrent use.
func (t *HashTable) Sort() {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); t.md5.sort() }()
	go func() { defer wg.Done(); t.sha1.sort() }()
	go func() { defer wg.Done(); t.sha256.sort() }()
	wg.Wait()
}

// Algos returns the algorithms for which kind has signatures that an object
// of the given size could match (its size, or '*'). An empty result means the
// object need not be hashed for this kind.
func (t *HashTable) Algos(kind HashKind, size int64) []HashAlgo {
	var out []HashAlgo
	sz := anySize
	if size >= 0 && size < int64(anySize) {
		sz = uint32(size)
	}
	if t.md5.has(kind, sz) || t.md5.has(kind, anySize) {
		out = append(out, MD5)
	}
	if t.sha1.has(kind, sz) || t.sha1.has(kind, anySize) {
		out = append(out, SHA1)
	}
	if t.sha256.has(kind, sz) || t.sha256.has(kind, anySize) {
		out = append(out, SHA256)
	}
	return out
}

// Lookup calls fn for every signature of kind whose digest equals digest and
// whose size is size or '*'.
func (t *HashTable) Lookup(kind HashKind, digest []byte, size int64, fn func(HashEntry)) {
	sz := anySize
	if size >= 0 && size < int64(anySize) {
		sz = uint32(size)
	}
	for _, s := range [2]uint32{sz, anySize} {
		emit := func(name uint32) { fn(t.entry(kind, algoFor(len(digest)), s, name)) }
		switch len(digest) {
		case 16:
			d := [16]byte(digest)
			t.md5.lookup(kind, &d, s, emit)
		case 20:
			d := [20]byte(digest)
			t.sha1.lookup(kind, &d, s, emit)
		case 32:
			d := [32]byte(digest)
			t.sha256.lookup(kind, &d, s, emit)
		}
		if s == anySize {
			break
		}
	}
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

func (t *HashTable) entry(kind HashKind, algo HashAlgo, size uint32, off uint32) HashEntry {
	n, w := binary.Uvarint(t.names[off:])
	start := int(off) + w
	e := HashEntry{
		Kind:  kind,
		Algo:  algo,
		Size:  int64(size),
		Name:  string(t.names[start : start+int(n)]),
		Flags: HashFlags(t.names[start+int(n)]),
	}
	if size == anySize {
		e.Size = AnySize
	}
	i := sort.Search(len(t.files), func(i int) bool { return t.files[i].start > off }) - 1
	if i >= 0 {
		e.Source.File = t.files[i].file
	}
	return e
}

// Merge appends every signature of o to t; o must not be used afterwards.
// Loading files in parallel fills one table per file and merges them.
func (t *HashTable) Merge(o *HashTable) {
	base := uint32(len(t.names))
	t.names = append(t.names, o.names...)
	for _, f := range o.files {
		t.files = append(t.files, fileRun{start: f.start + base, file: f.file})
	}
	mergeTable(&t.md5, &o.md5, base)
	mergeTable(&t.sha1, &o.sha1, base)
	mergeTable(&t.sha256, &o.sha256, base)
	t.n += o.n
}

func mergeTable[D comparable](dst, src *table[D], base uint32) {
	for k := range src.recs {
		for _, r := range src.recs[k] {
			r.name += base
			dst.recs[k] = append(dst.recs[k], r)
		}
	}
}

// cmp16 orders MD5 digests as two big-endian words: the feed is mostly MD5,
// and this is the comparison its sort spends its time in.
func cmp16(a, b [16]byte) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}
