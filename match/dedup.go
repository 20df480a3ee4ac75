package match

import (
	"encoding/binary"
	"slices"
)

// Rule sets repeat themselves: public YARA collections copy each other's
// rules, and one rule often has a string another already has. Compile
// searches each distinct pattern once; the others are aliases that share
// its hits. A pattern's identity is its syntax tree, written out by
// nodeKey.

// dupInfo records the aliases of a Matcher.
type dupInfo struct {
	// canon maps every pattern to the pattern searched for it (itself
	// when it is not an alias).
	canon []int32
	// groups lists, per searched pattern with aliases, the pattern
	// followed by its aliases; group[p] is the index in groups of
	// pattern p's group, or -1.
	groups [][]int32
	group  []int32
	// flat holds the groups one after another, each preceded by its
	// length, for searchMask's walk over all of them on every scan.
	flat []int32
}

// newDupInfo groups the patterns by canon.
func newDupInfo(canon []int32) dupInfo {
	d := dupInfo{canon: canon, group: make([]int32, len(canon))}
	for i := range d.group {
		d.group[i] = -1
	}
	for i, c := range canon {
		if int(c) == i {
			continue
		}
		if d.group[c] < 0 {
			d.group[c] = int32(len(d.groups))
			d.groups = append(d.groups, []int32{c})
		}
		g := d.group[c]
		d.groups[g] = append(d.groups[g], int32(i))
	}
	for _, g := range d.groups {
		d.flat = append(d.flat, int32(len(g)))
		d.flat = append(d.flat, g...)
	}
	return d
}

// nodeKey appends an encoding of n that is equal for two trees exactly when
// they are equal, field by field.
func nodeKey(dst []byte, n *Node) []byte {
	dst = append(dst, byte(n.Op))
	switch n.Op {
	case OpLiteral:
		dst = binary.AppendUvarint(dst, uint64(len(n.Lit)))
		dst = append(dst, n.Lit...)
		if n.Fold {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	case OpClass:
		for _, w := range n.Class {
			dst = binary.LittleEndian.AppendUint64(dst, w)
		}
	case OpConcat, OpAlt, OpRepeat:
		if n.Op == OpRepeat {
			dst = binary.AppendVarint(dst, int64(n.Min))
			dst = binary.AppendVarint(dst, int64(n.Max))
			if n.Greedy {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(n.Sub)))
		for _, s := range n.Sub {
			dst = nodeKey(dst, s)
		}
	case OpAssert:
		dst = append(dst, byte(n.Assert))
	}
	return dst
}

// searchMask returns the skip mask the search uses for the host's mask
// skip: a searched pattern with aliases is left out only when all of them
// are. It uses buf as scratch.
func (d *dupInfo) searchMask(skip, buf []uint64) []uint64 {
	if skip == nil || d.groups == nil {
		return skip
	}
	buf = append(buf[:0], skip...)
	for f := d.flat; len(f) > 0; {
		g := f[1 : 1+f[0]]
		f = f[1+f[0]:]
		c := g[0]
		if buf[c>>6]&(1<<(c&63)) == 0 {
			continue
		}
		for _, a := range g[1:] {
			if skip[a>>6]&(1<<(a&63)) == 0 {
				buf[c>>6] &^= 1 << (c & 63)
				break
			}
		}
	}
	return buf
}

// spread gives the aliases of every matched pattern its hits, and takes
// them from a searched pattern the host skipped (searched only for its
// aliases), keeping h.matched sorted.
func (d *dupInfo) spread(h *Hits, skip []uint64) {
	if d.groups == nil {
		return
	}
	skipped := func(p int32) bool { return skip != nil && skip[p>>6]&(1<<(p&63)) != 0 }
	n := len(h.matched)
	changed := false
	for i := 0; i < n; i++ {
		c := int32(h.matched[i])
		gi := d.group[c]
		if gi < 0 {
			continue
		}
		changed = true
		for _, a := range d.groups[gi][1:] {
			if !skipped(a) {
				h.pats[a], h.trunc[a] = h.pats[c], h.trunc[c]
				h.matched = append(h.matched, int(a))
			}
		}
		if skipped(c) {
			h.pats[c], h.trunc[c] = nil, false
			h.matched[i] = -1
		}
	}
	if changed {
		h.matched = slices.DeleteFunc(h.matched, func(p int) bool { return p < 0 })
		slices.Sort(h.matched)
	}
}
