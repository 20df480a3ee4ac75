package ir

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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
	// HashUnofficial marks names read back from disk that are reported
	// with ".UNOFFICIAL" appended, as clamscan does for unsigned databases.
	HashUnofficial
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
// millions of them, so each costs only its digest, its size and a reference
// to its name: 24 bytes for MD5. Names are not held in memory for databases
// read from disk (see HashTable.BeginFile): a detection is rare, and reading
// one line back is cheap.
type rec[D comparable] struct {
	size uint32
	ref  uint32 // name reference: see nameRun
	d    D
}

// table holds the signatures of one digest length, per kind, ordered by
// digest once sorted (digests are uniformly distributed, which makes the
// sort a cheap radix pass; the size is checked after the digest matched).
type table[D comparable] struct {
	// recs holds the signatures by kind and by the digest's first byte:
	// digests are uniformly distributed, so the buckets fill evenly and
	// sorting them is 256 small independent sorts, with no pass over all.
	recs  [3][256][]rec[D]
	sizes [3]sizeSet
	key   func(d *D) (hi, lo uint64)

	// locks guard recs buckets and sizes during AddRefs, which parallel
	// loaders call concurrently.
	locks   [3][256]sync.Mutex
	sizesMu sync.Mutex
}

// addConcurrent appends one record under its bucket's lock; the caller
// records the size.
func (t *table[D]) addConcurrent(kind HashKind, size, ref uint32, d D) {
	hi, _ := t.key(&d)
	b := hi >> 56
	t.locks[kind][b].Lock()
	t.recs[kind][b] = append(t.recs[kind][b], rec[D]{size: size, ref: ref, d: d})
	t.locks[kind][b].Unlock()
}

// sizeSet records which object sizes signatures exist for: a bitmap for
// sizes below 16 MiB (where nearly all are) and a map above.
type sizeSet struct {
	small []uint64
	large map[uint32]bool
	any   bool
}

const smallSizes = 1 << 24

func (s *sizeSet) add(size uint32) {
	switch {
	case size == anySize:
		s.any = true
	case size < smallSizes:
		if s.small == nil {
			s.small = make([]uint64, smallSizes/64)
		}
		s.small[size/64] |= 1 << (size % 64)
	default:
		if s.large == nil {
			s.large = map[uint32]bool{}
		}
		s.large[size] = true
	}
}

func (s *sizeSet) has(size uint32) bool {
	if s.any {
		return true
	}
	if size < smallSizes {
		return s.small != nil && s.small[size/64]&(1<<(size%64)) != 0
	}
	return s.large[size]
}

func (t *table[D]) add(kind HashKind, size, ref uint32, d D) {
	hi, _ := t.key(&d)
	b := &t.recs[kind][hi>>56]
	*b = append(*b, rec[D]{size: size, ref: ref, d: d})
	t.sizes[kind].add(size)
}

// reserve makes room for about n more records of kind, spread over the
// buckets as uniformly distributed digests will be.
func (t *table[D]) reserve(kind HashKind, n int) {
	per := n/256 + n/256/16 + 16
	for b := range t.recs[kind] {
		t.recs[kind][b] = slices.Grow(t.recs[kind][b], per)
	}
}

func (t *table[D]) sort() {
	var wg sync.WaitGroup
	for half := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range t.recs {
				for b := half * 128; b < half*128+128; b++ {
					radixRec(t.recs[k][b], t.key, 1)
				}
			}
		}()
	}
	wg.Wait()
}

// radixRec orders rs by digest (then size, then load order): in-place
// most-significant-byte radix passes from byte level on, until buckets are
// small enough for an insertion sort.
func radixRec[D comparable](rs []rec[D], key func(d *D) (hi, lo uint64), level int) {
	if len(rs) <= 32 || level == 8 {
		insertionSort(rs, key)
		return
	}
	starts := radixPass(rs, key, level)
	for b := range 256 {
		radixRec(rs[starts[b]:starts[b+1]], key, level+1)
	}
}

// radixPass permutes rs in place into 256 buckets by byte level of the
// digest and returns the bucket boundaries.
func radixPass[D comparable](rs []rec[D], key func(d *D) (hi, lo uint64), level int) (starts [257]int) {
	shift := 56 - 8*uint(level)
	top := func(r *rec[D]) int { h, _ := key(&r.d); return int(byte(h >> shift)) }
	var count [256]int
	for i := range rs {
		count[top(&rs[i])]++
	}
	var next [256]int
	sum := 0
	for b := range 256 {
		starts[b] = sum
		next[b] = sum
		sum += count[b]
	}
	starts[256] = sum
	for b := range 256 {
		end := starts[b+1]
		for next[b] < end {
			r := rs[next[b]]
			t := top(&r)
			for t != b {
				// Swap r into its bucket, carrying the displaced record on.
				rs[next[t]], r = r, rs[next[t]]
				next[t]++
				t = top(&r)
			}
			rs[next[b]] = r
			next[b]++
		}
	}
	return starts
}

func insertionSort[D comparable](rs []rec[D], key func(d *D) (hi, lo uint64)) {
	less := func(a, b *rec[D]) bool {
		ah, al := key(&a.d)
		bh, bl := key(&b.d)
		if ah != bh {
			return ah < bh
		}
		if al != bl {
			return al < bl
		}
		if a.size != b.size {
			return a.size < b.size
		}
		return a.ref < b.ref // load order among duplicates
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && less(&rs[j], &rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func (t *table[D]) lookup(kind HashKind, d *D, size uint32, fn func(ref, size uint32)) {
	hi, lo := t.key(d)
	rs := t.recs[kind][hi>>56]
	i := sort.Search(len(rs), func(i int) bool {
		h, l := t.key(&rs[i].d)
		return h > hi || (h == hi && l >= lo)
	})
	for ; i < len(rs) && rs[i].d == *d; i++ {
		if rs[i].size == size || rs[i].size == anySize {
			fn(rs[i].ref, rs[i].size)
		}
	}
}

// nameRun says where the names of a range of references live: in memory
// (names), or in a database file on disk where the reference minus start is
// the byte offset of the signature's line.
type nameRun struct {
	start, end uint32
	flags      HashFlags
	file       string // reported as the signature's database
	names      []byte // in memory: uvarint length, bytes
	path       string // on disk: file to read the line from
	nameField  int    // on disk: ':'-separated field holding the name
}

// HashTable holds hash signatures keyed by kind, algorithm and size, so that
// objects of a size no signature has are never hashed.
type HashTable struct {
	md5    table[[16]byte]
	sha1   table[[20]byte]
	sha256 table[[32]byte]
	runs   []*nameRun // ordered by start
	next   uint32     // first free reference
	count  atomic.Int64
}

// NewHashTable returns an empty table.
func NewHashTable() *HashTable {
	return &HashTable{
		md5: table[[16]byte]{key: func(d *[16]byte) (uint64, uint64) {
			return binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
		}},
		sha1: table[[20]byte]{key: func(d *[20]byte) (uint64, uint64) {
			return binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:16])
		}},
		sha256: table[[32]byte]{key: func(d *[32]byte) (uint64, uint64) {
			return binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:16])
		}},
	}
}

func storedSize(size int64) uint32 {
	if size >= 0 && size < int64(anySize) {
		return uint32(size)
	}
	return anySize
}

// Add appends one signature whose name is kept in memory. digest must be
// 16, 20 or 32 bytes long; size is the object size or AnySize.
func (t *HashTable) Add(kind HashKind, digest []byte, size int64, name string, flags HashFlags, src Source) {
	var run *nameRun
	if n := len(t.runs); n > 0 && t.runs[n-1].path == "" && t.runs[n-1].file == src.File && t.runs[n-1].flags == flags && t.runs[n-1].end == t.next {
		run = t.runs[n-1]
	} else {
		run = &nameRun{start: t.next, end: t.next, flags: flags, file: src.File}
		t.runs = append(t.runs, run)
	}
	ref := run.end
	run.names = binary.AppendUvarint(run.names, uint64(len(name)))
	run.names = append(run.names, name...)
	run.end = run.start + uint32(len(run.names))
	t.next = run.end
	t.AddRef(kind, digest, size, ref)
}

// BeginFile reserves references for a database file of the given length
// whose names stay on disk: the signature on the line starting at byte
// offset o is added with AddRef(..., base+o). nameField is the index of the
// ':'-separated field that holds the name.
func (t *HashTable) BeginFile(path, file string, length int64, nameField int, flags HashFlags) (base uint32) {
	base = t.next
	t.runs = append(t.runs, &nameRun{start: base, end: base + uint32(length) + 1, flags: flags, file: file, path: path, nameField: nameField})
	t.next = base + uint32(length) + 1
	return base
}

// Reserve makes room for n more signatures of the given kind and digest
// length, so loading a large file does not grow the table repeatedly.
func (t *HashTable) Reserve(kind HashKind, digestLen, n int) {
	switch digestLen {
	case 16:
		t.md5.reserve(kind, n)
	case 20:
		t.sha1.reserve(kind, n)
	default:
		t.sha256.reserve(kind, n)
	}
}

// AddRef appends one signature whose name is found through ref (see Add and
// BeginFile). It is not safe for concurrent use.
func (t *HashTable) AddRef(kind HashKind, digest []byte, size int64, ref uint32) {
	sz := storedSize(size)
	switch len(digest) {
	case 16:
		t.md5.add(kind, sz, ref, [16]byte(digest))
	case 20:
		t.sha1.add(kind, sz, ref, [20]byte(digest))
	default:
		t.sha256.add(kind, sz, ref, [32]byte(digest))
	}
	t.count.Add(1)
}

// HashRef is one signature for AddRefs.
type HashRef struct {
	Digest [32]byte
	Len    uint8 // digest length: 16, 20 or 32
	Size   int64
	Ref    uint32
}

// AddRefs appends a batch of signatures whose names are found through their
// references (see AddRef). Unlike the other methods, it may be called by
// several goroutines at once, so a large database is loaded on all cores.
func (t *HashTable) AddRefs(kind HashKind, batch []HashRef) {
	var used [3]bool
	for i := range batch {
		h := &batch[i]
		sz := storedSize(h.Size)
		switch h.Len {
		case 16:
			t.md5.addConcurrent(kind, sz, h.Ref, [16]byte(h.Digest[:16]))
			used[0] = true
		case 20:
			t.sha1.addConcurrent(kind, sz, h.Ref, [20]byte(h.Digest[:20]))
			used[1] = true
		default:
			t.sha256.addConcurrent(kind, sz, h.Ref, h.Digest)
			used[2] = true
		}
	}
	record := func(mu *sync.Mutex, ss *sizeSet, n uint8) {
		mu.Lock()
		for i := range batch {
			if batch[i].Len == n {
				ss.add(storedSize(batch[i].Size))
			}
		}
		mu.Unlock()
	}
	if used[0] {
		record(&t.md5.sizesMu, &t.md5.sizes[kind], 16)
	}
	if used[1] {
		record(&t.sha1.sizesMu, &t.sha1.sizes[kind], 20)
	}
	if used[2] {
		record(&t.sha256.sizesMu, &t.sha256.sizes[kind], 32)
	}
	t.count.Add(int64(len(batch)))
}

// Len returns the number of signatures in the table.
func (t *HashTable) Len() int { return int(t.count.Load()) }

// Sort orders the records for lookup. It must be called after the last Add
// and before the first lookup; the table is read-only afterwards and safe for
// concurrent use.
func (t *HashTable) Sort() {
	t.md5.sort()
	t.sha1.sort()
	t.sha256.sort()
}

// Algos returns the algorithms for which kind has signatures that an object
// of the given size could match (its size, or '*'). An empty result means the
// object need not be hashed for this kind.
func (t *HashTable) Algos(kind HashKind, size int64) []HashAlgo {
	var out []HashAlgo
	sz := storedSize(size)
	if t.md5.sizes[kind].has(sz) {
		out = append(out, MD5)
	}
	if t.sha1.sizes[kind].has(sz) {
		out = append(out, SHA1)
	}
	if t.sha256.sizes[kind].has(sz) {
		out = append(out, SHA256)
	}
	return out
}

// Lookup calls fn for every signature of kind whose digest equals digest and
// whose size is size or '*', in load order for each size.
func (t *HashTable) Lookup(kind HashKind, digest []byte, size int64, fn func(HashEntry)) {
	algo := algoFor(len(digest))
	emit := func(ref, sz uint32) { fn(t.entry(kind, algo, digest, sz, ref)) }
	sz := storedSize(size)
	switch len(digest) {
	case 16:
		d := [16]byte(digest)
		t.md5.lookup(kind, &d, sz, emit)
	case 20:
		d := [20]byte(digest)
		t.sha1.lookup(kind, &d, sz, emit)
	case 32:
		d := [32]byte(digest)
		t.sha256.lookup(kind, &d, sz, emit)
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

func (t *HashTable) entry(kind HashKind, algo HashAlgo, digest []byte, size, ref uint32) HashEntry {
	e := HashEntry{Kind: kind, Algo: algo, Size: int64(size)}
	if size == anySize {
		e.Size = AnySize
	}
	i := sort.Search(len(t.runs), func(i int) bool { return t.runs[i].start > ref }) - 1
	if i < 0 {
		return e
	}
	run := t.runs[i]
	e.Flags = run.flags
	e.Source.File = run.file
	off := ref - run.start
	if run.path == "" {
		n, w := binary.Uvarint(run.names[off:])
		e.Name = string(run.names[int(off)+w : int(off)+w+int(n)])
		return e
	}
	e.Name = readName(run.path, int64(off), run.nameField, digest)
	if run.flags&HashUnofficial != 0 {
		e.Name += ".UNOFFICIAL"
	}
	return e
}

// readName reads back the name of the signature whose line starts at off.
// The line must still carry the digest it was loaded with; if the file
// changed since, the name is reported as unknown rather than guessed.
func readName(path string, off int64, field int, digest []byte) string {
	const unknown = "Unknown.Signature.DatabaseChanged"
	f, err := os.Open(path)
	if err != nil {
		return unknown
	}
	defer f.Close()
	buf := make([]byte, 1024)
	n, err := f.ReadAt(buf, off)
	if n == 0 && err != nil && err != io.EOF {
		return unknown
	}
	line := buf[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	fields := bytes.Split(line, []byte(":"))
	if field >= len(fields) {
		return unknown
	}
	hexd := make([]byte, 0, 64)
	const digits = "0123456789abcdef"
	for _, b := range digest {
		hexd = append(hexd, digits[b>>4], digits[b&15])
	}
	found := false
	for _, f := range fields {
		if bytes.EqualFold(f, hexd) {
			found = true
		}
	}
	if !found {
		return unknown
	}
	return string(fields[field])
}

// Merge appends every signature of o to t; o must not be used afterwards.
// Loading files in parallel fills one table per file and merges them.
func (t *HashTable) Merge(o *HashTable) {
	base := t.next
	for _, r := range o.runs {
		r.start += base
		r.end += base
		t.runs = append(t.runs, r)
	}
	t.next += o.next
	mergeTable(&t.md5, &o.md5, base)
	mergeTable(&t.sha1, &o.sha1, base)
	mergeTable(&t.sha256, &o.sha256, base)
	t.count.Add(o.count.Load())
}

func mergeTable[D comparable](dst, src *table[D], base uint32) {
	for k := range src.recs {
		for b := range src.recs[k] {
			for _, r := range src.recs[k][b] {
				r.ref += base
				dst.recs[k][b] = append(dst.recs[k][b], r)
				dst.sizes[k].add(r.size)
			}
		}
	}
}
