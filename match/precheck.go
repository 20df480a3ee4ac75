package match

import (
	"encoding/binary"
	"math/bits"
)

// A precheck is a necessary condition for an atom occurrence to be part of
// a match, cheap enough to test before the verification proper: eight data
// bytes at a fixed distance from the atom, masked and compared. The bytes
// come from the atom's own run of byte positions (a fixed segment, or a run
// of consecutive byte classes in an automaton whose interior nodes have no
// other way in or out), so any match through the atom occurrence has them.
//
// Most atom occurrences are not matches (real files are full of the atoms
// of x86 code and UTF-16 text: 85 c0 0f 84, 7b 00 30 00), and verifying
// one costs a look at the segment, its program or mask bytes and the hit
// buffers, all in memory far from the prefilter's; the precheck lives
// beside the atom's reference in the prefilter's table and rejects nearly
// all of them with one load and one compare.
type precheck struct {
	mask, val uint64
	d         int32 // window start minus atom start
}

// pass reports whether data can hold a match through an atom at at. Near
// the ends of data, where the window does not fit, it passes.
func (p *precheck) pass(data []byte, at int) bool {
	s := at + int(p.d)
	if p.mask == 0 || s < 0 || s > len(data)-8 {
		return true
	}
	return binary.LittleEndian.Uint64(data[s:])&p.mask == p.val
}

// maxPrecheckDist bounds how far from its atom a precheck window may start,
// so that the window's bytes are usually in the cache line of the atom's.
const maxPrecheckDist = 32

// newPrecheck chooses the window for an atom of k positions at position at
// of a run of n positions whose mask form form gives (a zero mask where a
// position has none): the eight positions, within the run, with the most
// mask bits outside the atom.
func newPrecheck(n, at, k int, form func(j int) (mask, val byte)) precheck {
	if n <= k {
		return precheck{}
	}
	lo := max(0, at-maxPrecheckDist)
	hi := max(lo, min(n-8, at+maxPrecheckDist))
	// The forms of positions lo.. (each looked up once), and their bit
	// counts, the atom's weighing less.
	var ms, vs [2*maxPrecheckDist + 8]byte
	var out, in [len(ms)]int
	for j := lo; j < min(n, hi+8); j++ {
		m, v := form(j)
		ms[j-lo], vs[j-lo] = m, v
		if j >= at && j < at+k {
			in[j-lo] = bits.OnesCount8(m)
		} else {
			out[j-lo] = bits.OnesCount8(m)
		}
	}
	bestS, bestScore := -1, 0
	for s := lo; s <= hi; s++ {
		// Bits outside the atom count most; the atom's own break ties.
		outside, score := 0, 0
		for j := s - lo; j < s-lo+8 && j+lo < n; j++ {
			outside += out[j]
			score += 16*out[j] + in[j]
		}
		if outside > 0 && score > bestScore {
			bestS, bestScore = s, score
		}
	}
	if bestS < 0 {
		return precheck{}
	}
	var p precheck
	for j := bestS; j < bestS+8 && j < n; j++ {
		m, v := ms[j-lo], vs[j-lo]
		p.mask |= uint64(m) << (8 * (j - bestS))
		p.val |= uint64(v&m) << (8 * (j - bestS))
	}
	p.d = int32(bestS - at)
	return p
}
