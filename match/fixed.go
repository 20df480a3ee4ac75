package match

import "math/bits"

// fixedItem tests one byte: data&mask == val, or membership in a general
// class when cls >= 0. Exact bytes, ASCII case folding, nibble masks and ??
// all fit the mask form, so ClamAV hex bodies rarely need the bitmap.
type fixedItem struct {
	mask, val byte
	cls       int32
}

// fixedAssert is an assertion at a fixed offset of a fixed segment.
type fixedAssert struct {
	off int
	as  Assertion
}

// fixedSeq is a segment of fixed length made only of byte classes and
// assertions: verification is one pass over its bytes.
type fixedSeq struct {
	items   []fixedItem
	asserts []fixedAssert
	classes []Class
}

// maskForm returns mask and val with c == {b : b&mask == val}, if there are
// such.
func maskForm(c Class) (mask, val byte, ok bool) {
	k := c.Count()
	switch {
	case k == 1:
		return 0xff, lowest(c), true
	case k == 256:
		return 0, 0, true
	case k == 0 || k&(k-1) != 0:
		return 0, 0, false
	}
	v0 := lowest(c)
	var diff byte
	for i, w := range c {
		for ; w != 0; w &= w - 1 {
			diff |= byte(i*64+bits.TrailingZeros64(w)) ^ v0
		}
	}
	if 1<<bits.OnesCount8(diff) != k {
		return 0, 0, false
	}
	return ^diff, v0 &^ diff, true
}

// newFixedSeq builds the fast path for es, or returns nil if es has
// anything but classes and assertions.
func (c *compiler) newFixedSeq(es []elem) *fixedSeq {
	n := 0
	for _, e := range es {
		switch e.kind {
		case elemClass:
			n++
		case elemAssert:
		default:
			return nil
		}
	}
	f := &c.fixes.alloc(1)[0]
	f.items = c.items.alloc(n)
	i := 0
	for _, e := range es {
		if e.kind == elemAssert {
			f.asserts = append(f.asserts, fixedAssert{off: i, as: e.as})
			continue
		}
		if m, v, ok := maskForm(e.cls); ok {
			f.items[i] = fixedItem{mask: m, val: v, cls: -1}
		} else {
			f.items[i] = fixedItem{cls: int32(len(f.classes))}
			f.classes = append(f.classes, e.cls)
		}
		i++
	}
	return f
}

// match reports whether the sequence matches at data[s:]; first says
// whether s is the start of the pattern's match.
func (f *fixedSeq) match(data []byte, s int, first bool) bool {
	if s < 0 || len(data)-s < len(f.items) {
		return false
	}
	d := data[s : s+len(f.items)]
	for i, it := range f.items {
		b := d[i]
		if it.cls < 0 {
			if b&it.mask != it.val {
				return false
			}
		} else if !f.classes[it.cls].Has(b) {
			return false
		}
	}
	for _, a := range f.asserts {
		if !assertAt(a.as, data, s+a.off, first && a.off == 0) {
			return false
		}
	}
	return true
}
