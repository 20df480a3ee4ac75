package match

import "math/bits"

// Atom limits: an atom is at most maxAtomLen bytes; each position a class of
// at most maxAtomClass bytes; one atom expands to at most maxAtomExpand
// strings and one segment's atoms to at most maxCoverAtoms.
const (
	maxAtomLen    = 4
	maxAtomClass  = 16
	maxAtomExpand = 64
	maxCoverAtoms = 256
)

// atomCand is one atom: a path of len(cls) byte edges from NFA node s0 to
// node sk. off is the atom's fixed distance from the segment start, or -1.
type atomCand struct {
	cls    []Class
	s0, sk int32
	off    int
	pre    precheck // tested before verifying an occurrence
}

// cover is a set of atoms such that every match of the segment contains one
// of them. q is its quality (the worst atom's), n its number of strings.
type cover struct {
	atoms []atomCand
	q, n  int
}

// better reports whether c should replace d.
func (c *cover) better(d *cover) bool {
	if c == nil {
		return false
	}
	return d == nil || c.q > d.q || c.q == d.q && c.n < d.n
}

// union is the cover of an alternation of c's and d's sub-patterns.
func (c *cover) union(d *cover) *cover {
	if c == nil || d == nil || c.n+d.n > maxCoverAtoms {
		return nil
	}
	u := &cover{q: min(c.q, d.q), n: c.n + d.n}
	u.atoms = append(append(u.atoms, c.atoms...), d.atoms...)
	return u
}

// commonBytes are the bytes frequent in real files (padding, spaces, int3,
// nop, line ends), which make atoms of them hit often. Read only.
var commonBytes = Class{1<<0x00 | 1<<0x0a | 1<<0x0d | 1<<0x20, 0, 1 << (0x90 - 0x80), 1<<(0xcc-0xc0) | 1<<(0xff-0xc0)}

// commonByte reports whether b is in commonBytes.
func commonByte(b byte) bool { return commonBytes.Has(b) }

// An atom's quality is higher when it is expected to hit less often: exact
// rare bytes score most; lower-case letters, letters with case folded,
// nibble classes and frequent bytes less; many distinct bytes add, a run of
// one frequent byte (00 00 00 00) is heavily penalised. Positions whose
// classes are too wide cannot be in an atom. bestIn computes it.

// itemScore is one position's share of an atom's quality. Lower-case
// letters score less than other exact bytes: they fill every text, so an
// atom spelled of them ("echo", "prin") hits in every script and library
// and is usually shared by many patterns.
func itemScore(count int, single byte) int {
	switch {
	case count == 1 && 'a' <= single && single <= 'z':
		return 16
	case count == 1:
		return 20 - 8*int(commonBytes[single>>6]>>(single&63)&1)
	case count == 2:
		return 16
	}
	return 8 - bits.Len(uint(count))
}

// window is a candidate atom: run positions i..i+k-1, quality q, n strings.
// k == 0 means none.
type window struct{ i, k, q, n int }

// better reports whether w should replace v (as cover.better).
func (w window) better(v window) bool {
	return w.k > 0 && (v.k == 0 || w.q > v.q || w.q == v.q && w.n < v.n)
}

// bestIn returns the best window of run among those of at most maxK
// positions, extending each start one position at a time so that every
// window costs O(1) instead of a rescoring.
func bestIn[T runItem | elem](run []T, maxK int) window {
	var best window
	for i := range run {
		n, base, nd, singles := 1, 0, 0, 0
		same := true
		var first byte
		var seen [maxAtomLen]byte
		for k := 1; k <= maxK && k <= maxAtomLen && i+k <= len(run); k++ {
			c, b := itemOf(&run[i+k-1])
			if c == 0 || c > maxAtomClass {
				break
			}
			n *= c
			if n > maxAtomExpand {
				break
			}
			base += itemScore(c, b)
			if c == 1 {
				dup := false
				for _, x := range seen[:nd] {
					dup = dup || x == b
				}
				if !dup {
					seen[nd] = b
					nd++
				}
				singles++
				if k == 1 {
					first = b
				} else if b != first {
					same = false
				}
			} else {
				same = false
			}
			q := base + 2*nd
			if same && singles == k && k > 1 && commonByte(first) {
				q -= 10 * k
			}
			q -= bits.Len(uint(n)) - 1
			if w := (window{i, k, q, n}); w.better(best) {
				best = w
				if q == maxQuality && n == 1 {
					// Nothing can beat it (nor tie with fewer strings).
					return best
				}
			}
		}
	}
	return best
}

// itemOf returns the class size and smallest byte of a run position.
func itemOf[T runItem | elem](x *T) (count int, single byte) {
	switch x := any(x).(type) {
	case *runItem:
		return int(x.count), x.single
	case *elem:
		return int(x.count), x.single
	}
	return 0, 0
}

// maxQuality is the highest quality an atom can have: maxAtomLen distinct
// rare exact bytes.
const maxQuality = maxAtomLen * (20 + 2)

// lowest returns the smallest byte of a non-empty class.
func lowest(c Class) byte {
	for i, w := range c {
		if w != 0 {
			return byte(i*64 + bits.TrailingZeros64(w))
		}
	}
	return 0
}

// bestWindow returns the best single-atom cover taken from a run of byte
// positions; end is the NFA node after the run's last byte.
func bestWindow(run []runItem, es []elem, r *elemRefs, end int32) *cover {
	w := bestIn(run, maxAtomLen)
	if w.k == 0 {
		return nil
	}
	return &cover{q: w.q, n: w.n, atoms: []atomCand{w.atom(run, es, r, end, make([]Class, w.k))}}
}

// atom materialises window w of run (whose items index es) into an atom,
// its classes stored in cls (of length w.k).
func (w window) atom(run []runItem, es []elem, r *elemRefs, end int32, cls []Class) atomCand {
	for j := range cls {
		cls[j] = es[run[w.i+j].ei].class(r)
	}
	sk := end
	if w.i+w.k < len(run) {
		sk = run[w.i+w.k].node
	}
	pre := newPrecheck(len(run), w.i, w.k, func(j int) (byte, byte) {
		m, v, ok := es[run[j].ei].maskForm(r)
		if !ok {
			return 0, 0
		}
		return m, v
	})
	return atomCand{cls: cls, s0: run[w.i].node, sk: sk, off: int(run[w.i].off), pre: pre}
}

// appendKeys appends every byte string of the atom's classes, as a
// little-endian key, to dst.
func (a *atomCand) appendKeys(dst []uint32) []uint32 {
	var buf [2][maxAtomExpand]uint32
	cur, nxt := buf[0][:1], buf[1][:0]
	cur[0] = 0
	for i, c := range a.cls {
		nxt = nxt[:0]
		for wi, word := range c {
			for ; word != 0; word &= word - 1 {
				b := uint32(wi*64 + bits.TrailingZeros64(word))
				for _, k := range cur {
					if len(nxt) == maxAtomExpand {
						break
					}
					nxt = append(nxt, k|b<<(8*i))
				}
			}
		}
		cur, nxt = nxt, cur
	}
	return append(dst, cur...)
}
