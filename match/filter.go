package match

import (
	"math/bits"
	"slices"
)

// hashMul is the multiplier of the Fibonacci hash of the exact table.
const hashMul = 0x9E3779B1

// The bitmap of 3- and 4-byte atoms has a fixed type, so that the scan loop
// indexes an array with provably in-range indices, but only its first
// 2^bits bits are used, bits chosen from the number of distinct atoms: about
// one bit in 2^bmSparse set, so that a small set's bitmap stays in L1 (2,000
// atoms: 2^18 bits, 32 KiB) and a large one's keeps false candidates rare
// (at most 2^21 bits, 256 KiB in L2: 5% for 100,000 atoms).
const (
	bmBits    = 21
	bmMinBits = 12
	bmSparse  = 9
	bmWords   = 1 << (bmBits - 6)
)

// The bitmap of the 3-byte windows of 4-byte atoms (two per atom) may be
// larger, 2^bm3Bits bits: with 100,000 atoms a 2^21-bit one lets a tenth
// of the samples through.
const (
	bm3Bits  = 23
	bm3Words = 1 << (bm3Bits - 6)
)

// bm3Hash is bmHash for the bitmap of 3-byte windows.
func bm3Hash(k uint32, mask uint64) uint64 {
	return uint64(k) * 0x9E3779B97F4A7C15 >> (64 - bm3Bits) & mask
}

// bm3Mask is bmMask for the bitmap of 3-byte windows.
func bm3Mask(n int) uint64 {
	return 1<<min(bm3Bits, max(bmMinBits, bits.Len(uint(n))+bmSparse)) - 1
}

// bmHash maps a window to its bitmap bit; mask is 2^bits-1 for a bitmap of
// bits bits. The constant shift keeps the index provably in range and the
// mask sizes the bitmap with one instruction.
func bmHash(k uint32, mask uint64) uint64 {
	return uint64(k) * 0x9E3779B97F4A7C15 >> (64 - bmBits) & mask
}

// bmMask returns the bmHash mask of a bitmap for n keys.
func bmMask(n int) uint64 {
	return 1<<min(bmBits, max(bmMinBits, bits.Len(uint(n))+bmSparse)) - 1
}

// aref names one atom: atom number atom of segment seg, of pattern pat,
// with the atom's precheck, so that occurrences of skipped patterns and
// most occurrences that are no match are rejected without a look at the
// segment.
type aref struct {
	seg, atom, pat int32
	pre            precheck
}

// group is the prefilter for all atoms of one length: a bitmap that rejects
// most data windows with one bit test, and an exact table from the window's
// bytes (little-endian) to the atoms spelled so.
type group struct {
	length int
	bits   []uint64         // length ≤ 2: indexed by the key itself
	bm     *[bmWords]uint64 // length ≥ 3: indexed by bmHash(key, bmask)
	bmask  uint64
	// length 4: the bitmap of the atoms' 3-byte prefixes and suffixes,
	// for the search that samples every other position (scanStride).
	bm3    *[bm3Words]uint64
	bmask3 uint64
	// length ≤ 2: refs of key k are refs[off[k]:off[k+1]].
	off []int32
	// length ≥ 3: open addressing on keys; slot i holds refs[lo[i]:hi[i]],
	// an empty slot has hi == 0.
	keys   []uint32
	lo, hi []int32
	tshift uint32
	refs   []aref
}

type groupEntry struct {
	key uint32
	ref aref
}

func newGroup(length int, es []groupEntry) *group {
	slices.SortFunc(es, func(a, b groupEntry) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return 0
	})
	g := &group{length: length, refs: make([]aref, len(es))}
	for i, e := range es {
		g.refs[i] = e.ref
	}
	if length <= 2 {
		size := 1 << (8 * length)
		g.bits = make([]uint64, (size+63)/64)
		g.off = make([]int32, size+1)
		for _, e := range es {
			g.bits[e.key>>6] |= 1 << (e.key & 63)
			g.off[e.key+1]++
		}
		for i := 0; i < size; i++ {
			g.off[i+1] += g.off[i]
		}
		return g
	}
	distinct := 0
	for i := range es {
		if i == 0 || es[i].key != es[i-1].key {
			distinct++
		}
	}
	g.bm = new([bmWords]uint64)
	g.bmask = bmMask(distinct)
	if length == 4 {
		g.bm3, g.bmask3 = new([bm3Words]uint64), bm3Mask(2*distinct)
	}
	tl := max(4, bits.Len(uint(distinct*2-1)))
	g.tshift = uint32(32 - tl)
	g.keys = make([]uint32, 1<<tl)
	g.lo = make([]int32, 1<<tl)
	g.hi = make([]int32, 1<<tl)
	mask := uint32(1<<tl - 1)
	for i := 0; i < len(es); {
		j := i
		for j < len(es) && es[j].key == es[i].key {
			j++
		}
		k := es[i].key
		h := bmHash(k, g.bmask)
		g.bm[h>>6] |= 1 << (h & 63)
		if g.bm3 != nil {
			h = bm3Hash(k&0xffffff, g.bmask3)
			g.bm3[h>>6] |= 1 << (h & 63)
			h = bm3Hash(k>>8, g.bmask3)
			g.bm3[h>>6] |= 1 << (h & 63)
		}
		s := k * hashMul >> g.tshift
		for g.hi[s] != 0 {
			s = (s + 1) & mask
		}
		g.keys[s], g.lo[s], g.hi[s] = k, int32(i), int32(j)
		i = j
	}
	return g
}

// lookup returns the atoms spelled by key.
func (g *group) lookup(key uint32) []aref {
	if g.length <= 2 {
		return g.refs[g.off[key]:g.off[key+1]]
	}
	mask := uint32(len(g.keys) - 1)
	for s := key * hashMul >> g.tshift; g.hi[s] != 0; s = (s + 1) & mask {
		if g.keys[s] == key {
			return g.refs[g.lo[s]:g.hi[s]]
		}
	}
	return nil
}
