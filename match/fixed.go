package match

import (
	"encoding/binary"
	"math/bits"
)

// fixedClass is a position of a fixed segment whose class has no mask
// form; its mask there is 0 so that the compare passes and the class is
// tested afterwards.
type fixedClass struct {
	off int32
	cls Class
}

// fixedAssert is an assertion at a fixed offset of a fixed segment.
type fixedAssert struct {
	off int
	as  Assertion
}

// fixedSeq is a segment of fixed length made only of byte classes and
// assertions: verification is one pass over its bytes, data&mask == val
// eight bytes at a time. Exact bytes, ASCII case folding, nibble masks and
// ?? all fit the mask form, so ClamAV hex bodies rarely need classes.
type fixedSeq struct {
	mv    []byte // the masks, then the values
	extra *fixedExtra
}

// fixedExtra holds the rare parts of a fixed sequence.
type fixedExtra struct {
	classes []fixedClass
	asserts []fixedAssert
}

// len returns the number of bytes the sequence matches.
func (f *fixedSeq) len() int { return len(f.mv) / 2 }

// maskForm returns mask and val with c == {b : b&mask == val}, if there are
// such.
func maskForm(c Class) (mask, val byte, ok bool) { return maskFormOf(&c, c.Count(), lowest(c)) }

// maskFormOf is maskForm for a class whose size k and smallest byte v0 are
// known.
func maskFormOf(c *Class, k int, v0 byte) (mask, val byte, ok bool) {
	switch {
	case k == 1:
		return 0xff, v0, true
	case k == 256:
		return 0, 0, true
	case k == 0 || k&(k-1) != 0:
		return 0, 0, false
	}
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

// maskForm is maskForm of a class element's bytes.
func (e *elem) maskForm(r *elemRefs) (mask, val byte, ok bool) {
	switch {
	case e.count == 1:
		return 0xff, e.single, true
	case e.ref == 0: // a letter and its other case
		return 0xdf, e.single, true
	}
	return maskFormOf(r.cls(e), int(e.count), e.single)
}

// newFixedSeq builds the fast path for es, or returns nil if es has
// anything but classes and assertions.
func (c *compiler) newFixedSeq(es []elem) *fixedSeq {
	n, nc, na := 0, 0, 0
	for i := range es {
		switch e := &es[i]; e.kind {
		case elemClass:
			n++
			if e.ref != 0 {
				if _, _, ok := e.maskForm(&c.refs); !ok {
					nc++
				}
			}
		case elemAssert:
			na++
		default:
			return nil
		}
	}
	f := &c.fixes.alloc(1)[0]
	f.mv = c.bytes.alloc(2 * n)
	mask, val := f.mv[:n], f.mv[n:]
	var x *fixedExtra
	if nc+na > 0 {
		x = &c.extras.alloc(1)[0]
		x.classes = c.fclasses.alloc(nc)[:0]
		x.asserts = c.asserts.alloc(na)[:0]
		f.extra = x
	}
	i := 0
	for j := range es {
		e := &es[j]
		if e.kind == elemAssert {
			x.asserts = append(x.asserts, fixedAssert{off: i, as: e.as})
			continue
		}
		if m, v, ok := e.maskForm(&c.refs); ok {
			mask[i], val[i] = m, v
		} else {
			x.classes = append(x.classes, fixedClass{off: int32(i), cls: *c.refs.cls(e)})
		}
		i++
	}
	return f
}

// match reports whether the sequence matches at data[s:]; first says
// whether s is the start of the pattern's match.
func (f *fixedSeq) match(data []byte, s int, first bool) bool {
	n := len(f.mv) / 2
	if s < 0 || len(data)-s < n {
		return false
	}
	d := data[s : s+n]
	mask, val := f.mv[:n], f.mv[n:2*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		if binary.LittleEndian.Uint64(d[i:])&binary.LittleEndian.Uint64(mask[i:]) != binary.LittleEndian.Uint64(val[i:]) {
			return false
		}
	}
	for ; i < n; i++ {
		if d[i]&mask[i] != val[i] {
			return false
		}
	}
	if x := f.extra; x != nil {
		for _, c := range x.classes {
			if !c.cls.Has(d[c.off]) {
				return false
			}
		}
		for _, a := range x.asserts {
			if !assertAt(a.as, data, s+a.off, first && a.off == 0) {
				return false
			}
		}
	}
	return true
}
