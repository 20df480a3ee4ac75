package unpack

import (
	"context"
	"errors"
)

// This file holds the LZMA decoder of the packers that compress with LZMA
// inside the memory image they unpack to: MEW (its LZMA mode) and Upack.
// Their loaders are hand-written LZMA decoders that keep the probability
// model in the image, use the image itself as the dictionary, start the
// range coder from values the packer stored, and stop when the output
// reaches a given address rather than at a size in a header. Under those
// differences the coding is LZMA's own — the same states, literal coder
// (with a matched literal after a match), length and distance coders and
// four repeat distances — with a literal context of lc bits of the
// previous byte, lp bits of the position for literals and pb bits for the
// rest: MEW uses lc=4, lp=0, pb=2; Upack lc=8-k (k from its loader), lp=0,
// pb=0. So one decoder serves both, parameterised as they need.
//
// Unlike a stream decoder, it writes straight into the image: matches may
// reach back before the start of the output (into what the image already
// holds, as the loaders allow), and the caller chooses whether a match
// crossing the stop address is cut there (MEW) or written out in full as
// long as it stays in the image (Upack).

// errPackLZMA is the error of corrupt input; callers wrap it with their
// format's name.
var errPackLZMA = errors.New("corrupt LZMA stream")

// The probability model in LZMA's usual order, in 16-bit units, for the
// largest posState count (16): where MEW's loader keeps it too.
const (
	plzStates      = 12
	plzIsMatch     = 0
	plzIsRep       = plzIsMatch + plzStates<<4
	plzIsRepG0     = plzIsRep + plzStates
	plzIsRepG1     = plzIsRepG0 + plzStates
	plzIsRepG2     = plzIsRepG1 + plzStates
	plzIsRep0Long  = plzIsRepG2 + plzStates
	plzPosSlot     = plzIsRep0Long + plzStates<<4
	plzSpecPos     = plzPosSlot + 4<<6
	plzAlign       = plzSpecPos + 128 - 14
	plzLenCoder    = plzAlign + 16
	plzLenProbs    = 2 + 2*16<<3 + 256
	plzRepLenCoder = plzLenCoder + plzLenProbs
	plzLiteral     = plzRepLenCoder + plzLenProbs // 1846
)

// packLZMA is one LZMA stream being decoded into an image.
type packLZMA struct {
	lc, lp, pb uint
	probs      []uint16

	// The range decoder: the input, the next byte to read, the range and
	// the code (the input's value minus the low end of the range).
	src       []byte
	pos       int
	rng, code uint32
	err       bool

	// reps are the four last distances, counted as how many bytes back
	// the copy starts (LZMA's distance plus one); state is LZMA's state.
	reps  [4]uint32
	state uint32
}

// newPackLZMA starts a stream with literal context lc, literal position
// bits lp and position bits pb (lc <= 8, lp <= 4, pb <= 4). The range
// coder starts with range rng and code code, reading further bytes from
// src[pos:]; the model starts with every probability at 0x400 (one half)
// and the four distances at one byte back.
func newPackLZMA(lc, lp, pb uint, src []byte, pos int, rng, code uint32) *packLZMA {
	d := &packLZMA{lc: lc, lp: lp, pb: pb, src: src, pos: pos, rng: rng, code: code, reps: [4]uint32{1, 1, 1, 1}}
	d.probs = make([]uint16, plzLiteral+0x300<<(lc+lp))
	for i := range d.probs {
		d.probs[i] = 0x400
	}
	return d
}

// bit decodes one bit with probability *p, normalising the range first.
func (d *packLZMA) bit(p *uint16) uint32 {
	if d.rng < 1<<24 {
		if d.pos >= len(d.src) {
			d.err = true
			return 0
		}
		d.rng <<= 8
		d.code = d.code<<8 | uint32(d.src[d.pos])
		d.pos++
	}
	bound := (d.rng >> 11) * uint32(*p)
	if d.code < bound {
		d.rng = bound
		*p += (0x800 - *p) >> 5
		return 0
	}
	d.rng -= bound
	d.code -= bound
	*p -= *p >> 5
	return 1
}

// direct decodes n bits of even probability, most significant first.
func (d *packLZMA) direct(n uint) uint32 {
	var v uint32
	for ; n > 0; n-- {
		if d.rng < 1<<24 {
			if d.pos >= len(d.src) {
				d.err = true
				return 0
			}
			d.rng <<= 8
			d.code = d.code<<8 | uint32(d.src[d.pos])
			d.pos++
		}
		d.rng >>= 1
		v <<= 1
		if d.code >= d.rng {
			d.code -= d.rng
			v |= 1
		}
	}
	return v
}

// tree decodes an n-bit symbol from the bit tree at probs[base:],
// most significant bit first.
func (d *packLZMA) tree(base int, n uint) uint32 {
	m := uint32(1)
	for i := uint(0); i < n; i++ {
		m = m<<1 | d.bit(&d.probs[base+int(m)])
	}
	return m - 1<<n
}

// reverse decodes an n-bit symbol from the bit tree at probs[base:],
// least significant bit first.
func (d *packLZMA) reverse(base int, n uint) uint32 {
	m, v := uint32(1), uint32(0)
	for i := uint(0); i < n; i++ {
		b := d.bit(&d.probs[base+int(m)])
		m = m<<1 | b
		v |= b << i
	}
	return v
}

// length decodes a match length minus two with the length coder at base.
func (d *packLZMA) length(base int, posState uint32) uint32 {
	switch {
	case d.bit(&d.probs[base]) == 0:
		return d.tree(base+2+int(posState)<<3, 3)
	case d.bit(&d.probs[base+1]) == 0:
		return 8 + d.tree(base+2+16<<3+int(posState)<<3, 3)
	}
	return 16 + d.tree(base+2+2*16<<3, 8)
}

// distance decodes a match distance (LZMA's, from zero) for a match of
// length len+2.
func (d *packLZMA) distance(len uint32) uint32 {
	slot := d.tree(plzPosSlot+int(min(len, 3))<<6, 6)
	if slot < 4 {
		return slot
	}
	n := uint(slot>>1) - 1
	dist := (2 | slot&1) << n
	if slot < 14 {
		return dist + d.reverse(plzSpecPos+int(dist)-int(slot)-1, n)
	}
	dist += d.direct(n-4) << 4
	return dist + d.reverse(plzAlign, 4)
}

// decode writes the stream into img from img[start], until the output
// reaches img[stop] or the stream's end marker, and returns where the
// output ended. A match crossing stop is cut there when clip is set, and
// otherwise written out in full (it must stay within img). The budget's
// deadline and ctx are checked as it goes.
func (d *packLZMA) decode(ctx context.Context, b *Budget, img []byte, start, stop int, clip bool) (int, error) {
	if start < 0 || stop > len(img) || start > stop {
		return start, errPackLZMA
	}
	pbMask, lpMask := uint32(1)<<d.pb-1, uint32(1)<<d.lp-1
	out := start
	for n := 0; out < stop; n++ {
		if n&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return out, err
			}
		}
		if d.err {
			return out, errPackLZMA
		}
		posState := uint32(out-start) & pbMask
		if d.bit(&d.probs[plzIsMatch+int(d.state<<4+posState)]) == 0 {
			if err := d.literal(img, start, out, lpMask); err != nil {
				return out, err
			}
			out++
			continue
		}
		var length uint32
		if d.bit(&d.probs[plzIsRep+int(d.state)]) == 0 {
			length = d.length(plzLenCoder, posState)
			d.state = plzNext(d.state, 7, 10)
			back := d.distance(length) + 1
			d.reps = [4]uint32{back, d.reps[0], d.reps[1], d.reps[2]}
			if back == 0 && !d.err {
				return out, nil // the end marker
			}
		} else {
			if d.bit(&d.probs[plzIsRepG0+int(d.state)]) == 0 {
				if d.bit(&d.probs[plzIsRep0Long+int(d.state<<4+posState)]) == 0 {
					// A single byte from the last distance.
					d.state = plzNext(d.state, 9, 11)
					if d.err || int64(d.reps[0]) > int64(out) {
						return out, errPackLZMA
					}
					img[out] = img[out-int(d.reps[0])]
					out++
					continue
				}
			} else {
				var r uint32
				if d.bit(&d.probs[plzIsRepG1+int(d.state)]) == 0 {
					r = d.reps[1]
				} else {
					if d.bit(&d.probs[plzIsRepG2+int(d.state)]) == 0 {
						r = d.reps[2]
					} else {
						r = d.reps[3]
						d.reps[3] = d.reps[2]
					}
					d.reps[2] = d.reps[1]
				}
				d.reps[1] = d.reps[0]
				d.reps[0] = r
			}
			length = d.length(plzRepLenCoder, posState)
			d.state = plzNext(d.state, 8, 11)
		}
		if d.err {
			return out, errPackLZMA
		}
		n := int64(length) + 2
		if clip {
			n = min(n, int64(stop-out))
		}
		back := int64(d.reps[0])
		if back > int64(out) || n > int64(len(img)-out) {
			return out, errPackLZMA
		}
		from := out - int(back)
		for i := 0; i < int(n); i++ {
			img[out+i] = img[from+i]
		}
		out += int(n)
	}
	return out, nil
}

// plzNext is the state after a match, repeat match or short repeat: short
// (a literal came last) when the state is under 7, else long.
func plzNext(state, short, long uint32) uint32 {
	if state < 7 {
		return short
	}
	return long
}

// literal decodes the byte at img[out]: in the context of the byte before
// it (none at start) and of the position, matched against the byte at the
// last distance when a match came last.
func (d *packLZMA) literal(img []byte, start, out int, lpMask uint32) error {
	var prev uint32
	if out > start {
		prev = uint32(img[out-1])
	}
	lit := (uint32(out-start)&lpMask)<<d.lc + prev>>(8-d.lc)
	base := plzLiteral + 0x300*int(lit)
	sym := uint32(1)
	if d.state >= 7 {
		if int64(d.reps[0]) > int64(out) || d.reps[0] == 0 {
			return errPackLZMA
		}
		match := uint32(img[out-int(d.reps[0])])
		for sym < 0x100 {
			mbit := match >> 7 & 1
			match <<= 1
			bit := d.bit(&d.probs[base+int(0x100+mbit<<8+sym)])
			sym = sym<<1 | bit
			if bit != mbit {
				break
			}
		}
	}
	for sym < 0x100 {
		sym = sym<<1 | d.bit(&d.probs[base+int(sym)])
	}
	// The state after a literal.
	switch {
	case d.state < 4:
		d.state = 0
	case d.state < 10:
		d.state -= 3
	default:
		d.state -= 6
	}
	if d.err {
		return errPackLZMA
	}
	img[out] = byte(sym)
	return nil
}
