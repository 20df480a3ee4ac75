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

// commonByte reports whether b is frequent in real files (padding, spaces,
// int3, nop, line ends), which makes atoms of it hit often.
func commonByte(b byte) bool {
	switch b {
	case 0x00, 0xff, 0xcc, 0x20, 0x90, 0x0a, 0x0d:
		return true
	}
	return false
}

// quality scores an atom made of these run positions; higher means fewer
// expected hits. Exact rare bytes score most; letters with case folded,
// nibble classes and frequent bytes less; many distinct bytes add, a run of
// one frequent byte (00 00 00 00) is heavily penalised. It returns ok=false
// when the classes are too wide to be an atom.
func quality(items []runItem) (q, n int, ok bool) {
	n = 1
	var seen Class
	singles, same := 0, true
	var first byte
	for i := range items {
		k := items[i].count
		if k == 0 || k > maxAtomClass {
			return 0, 0, false
		}
		n *= k
		if n > maxAtomExpand {
			return 0, 0, false
		}
		switch {
		case k == 1:
			b := items[i].single
			if commonByte(b) {
				q += 12
			} else {
				q += 20
			}
			seen.Add(b)
			singles++
			if i == 0 {
				first = b
			} else if b != first {
				same = false
			}
		case k == 2:
			q += 16
			same = false
		default:
			q += 8 - bits.Len(uint(k))
			same = false
		}
	}
	q += 2 * seen.Count()
	if same && singles == len(items) && commonByte(first) && len(items) > 1 {
		q -= 10 * len(items)
	}
	q -= bits.Len(uint(n)) - 1
	return q, n, true
}

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
func bestWindow(run []runItem, end int32) *cover {
	var best *cover
	for i := range run {
		for k := 1; k <= maxAtomLen && i+k <= len(run); k++ {
			q, n, ok := quality(run[i : i+k])
			if !ok {
				break
			}
			if best != nil && (q < best.q || q == best.q && n >= best.n) {
				continue
			}
			cls := make([]Class, k)
			for j := range cls {
				cls[j] = run[i+j].cls
			}
			sk := end
			if i+k < len(run) {
				sk = run[i+k].node
			}
			c := &cover{q: q, n: n, atoms: []atomCand{{cls: cls, s0: run[i].node, sk: sk, off: run[i].off}}}
			if c.better(best) {
				best = c
			}
		}
	}
	return best
}

// expand calls f with every byte string of the atom's classes.
func (a *atomCand) expand(f func(key uint32)) {
	var rec func(i int, key uint32)
	rec = func(i int, key uint32) {
		if i == len(a.cls) {
			f(key)
			return
		}
		c := a.cls[i]
		for b := 0; b < 256; b++ {
			if c.Has(byte(b)) {
				rec(i+1, key|uint32(b)<<(8*i))
			}
		}
	}
	rec(0, 0)
}
