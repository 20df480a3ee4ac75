package unpack

import (
	"context"
	"errors"
)

// This file holds the LZ77 decompressor that FSG and MEW share (MEW packs
// the program with it, or in LZMA mode only the LZMA decoder): a variant
// of aPLib, as the packers' loaders run it and ClamAV reproduces it
// (cli_unfsg, unmew). The first byte is a literal;
// then a prefix code read one bit at a time, most significant bit first,
// from tag bytes interleaved with the data, chooses between
//
//	0    a literal byte;
//	10   a match: a gamma code (1, then pairs of bits: a value bit and a
//	     "more" bit) of 2 right after a literal reuses the last distance;
//	     otherwise the code minus 3 (minus 2 right after a match) is the
//	     high part of a new distance, whose low byte follows; the length
//	     is another gamma code, lengthened by one for distances of at
//	     least 0x500 and 0x7d00 and by two for distances under 0x80;
//	110  a short match: the next byte holds the distance (its top seven
//	     bits, zero ending the stream) and the length (two or three);
//	111  a one-byte match within the last 15 bytes, read from four bits,
//	     or, for a distance of zero, a zero byte.
//
// The decoder is bounded by the two buffers: a reference before the start
// of the output or past its end, or input that runs out before the end
// code, is corrupt input.

// errAPLib is the error of corrupt input; callers wrap it with their
// format's name and offset.
var errAPLib = errors.New("corrupt aPLib-style stream")

// aplibBits reads the control bits: each tag byte gives eight bits, its
// top bit first, and a marker bit shifted in behind them tells when it is
// used up.
type aplibBits struct {
	src []byte
	pos int
	tag byte
	err bool
}

func (r *aplibBits) bit() uint32 {
	old := r.tag
	r.tag <<= 1
	if old&0x7f == 0 {
		// As the loaders do (and ClamAV checks), a tag byte is never the
		// last byte of the input: data always follows it.
		if r.pos >= len(r.src)-1 {
			r.err = true
			return 0
		}
		old = r.src[r.pos]
		r.pos++
		r.tag = old<<1 | 1
	}
	return uint32(old >> 7)
}

// gamma reads an Elias-gamma-like number: a leading 1, then value bits
// each followed by a bit that says whether another pair comes. Values of
// 2^30 and more are corrupt (no output buffer is that large).
func (r *aplibBits) gamma() uint32 {
	v := uint32(1)
	for {
		if v >= 1<<29 {
			r.err = true
			return 0
		}
		v = v<<1 | r.bit()
		if r.err {
			return 0
		}
		if r.bit() == 0 || r.err {
			return v
		}
	}
}

// aplibDecode decompresses src into dst and returns how many bytes of
// src it consumed (up to and including the end code) and how many of dst
// it wrote. The budget's deadline and ctx are checked as it goes.
func aplibDecode(ctx context.Context, b *Budget, src, dst []byte) (nsrc, ndst int, err error) {
	if len(src) == 0 || len(dst) == 0 {
		return 0, 0, errAPLib
	}
	r := &aplibBits{src: src, pos: 1, tag: 0x80}
	dst[0] = src[0]
	out := 1
	var last uint32           // the last match distance
	afterLiteral := uint32(1) // 1 unless the last item was a match
	for n := 0; ; n++ {
		if n&0xfff == 0 {
			if err := b.Check(ctx); err != nil {
				return r.pos, out, err
			}
		}
		var dist, length uint32
		switch {
		case r.bit() == 0:
			if r.err || r.pos >= len(src) || out >= len(dst) {
				return r.pos, out, errAPLib
			}
			dst[out] = src[r.pos]
			out++
			r.pos++
			afterLiteral = 1
			continue
		case r.bit() == 0: // 10: gamma-coded match
			hi := r.gamma() - 1 - afterLiteral
			if r.err {
				return r.pos, out, errAPLib
			}
			if hi == 0 {
				dist, length = last, r.gamma()
			} else {
				if r.pos >= len(src) || hi > 1<<23 {
					return r.pos, out, errAPLib
				}
				dist = uint32(src[r.pos]) + (hi-1)<<8
				r.pos++
				length = r.gamma()
				if dist >= 0x7d00 {
					length++
				}
				if dist >= 0x500 {
					length++
				}
				if dist <= 0x7f {
					length += 2
				}
				last = dist
			}
			afterLiteral = 0
		case r.bit() == 0: // 110: short match or end
			if r.err || r.pos >= len(src) {
				return r.pos, out, errAPLib
			}
			c := src[r.pos]
			r.pos++
			dist, length = uint32(c>>1), uint32(c&1)+2
			if dist == 0 {
				return r.pos, out, nil
			}
			last = dist
			afterLiteral = 0
		default: // 111: one byte from close by, or a zero
			v := uint32(0x10)
			for v < 0x100 && !r.err {
				v = v<<1 | r.bit()
			}
			dist, length = v&0xff, 1
			afterLiteral = 1
			if dist == 0 && !r.err {
				if out >= len(dst) {
					return r.pos, out, errAPLib
				}
				dst[out] = 0
				out++
				continue
			}
		}
		if r.err || int64(dist) > int64(out) || int64(length) > int64(len(dst)-out) {
			return r.pos, out, errAPLib
		}
		from := out - int(dist)
		for i := 0; i < int(length); i++ {
			dst[out+i] = dst[from+i]
		}
		out += int(length)
	}
}
