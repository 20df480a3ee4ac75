package unpack

import (
	"context"
	"encoding/binary"
	"errors"
)

// This file holds the NRV2B, NRV2D and NRV2E decompressors of UPX, as the
// UPX loader of a packed Windows program runs them and ClamAV reproduces
// them: a stream of literal bytes and back references whose control bits
// come 32 at a time in little-endian words, most significant bit first,
// interleaved with the byte stream. The three methods share the literal
// and offset coding and differ in how a match length is spelled:
//
//   - offset: a gamma code; 2 means "reuse the last offset", else
//     (gamma-3)*256 + the next byte, complemented, is the distance; a
//     distance of zero ends the stream. NRV2D and NRV2E take the lowest
//     bit of that value as the first bit of the length.
//   - length: two bits (2B, 2D) or one or two (2E), extended by a gamma
//     code when they are zero, plus one when the distance exceeds 0xd00
//     (2B) or 0x500 (2D, 2E).
//
// The decoders are bounded by the output size they are given: a
// reference before the start of the output or past its end, or input that
// ends before the end marker, is corrupt input.

// errNRV is returned for corrupt NRV input; the caller wraps it.
var errNRV = errors.New("corrupt NRV stream")

// nrvMethod names the three NRV variants.
type nrvMethod int

const (
	nrv2b nrvMethod = iota
	nrv2d
	nrv2e
)

func (m nrvMethod) String() string {
	switch m {
	case nrv2b:
		return "NRV2B"
	case nrv2d:
		return "NRV2D"
	}
	return "NRV2E"
}

// nrvBits reads the control bits.
type nrvBits struct {
	src []byte
	pos int
	bb  uint32 // remaining bits, with a 1 marking where they end
	err bool   // input ended
}

func (r *nrvBits) bit() uint32 {
	if r.bb&0x7fffffff == 0 {
		if r.pos+4 > len(r.src) {
			r.err = true
			return 0
		}
		w := binary.LittleEndian.Uint32(r.src[r.pos:])
		r.pos += 4
		r.bb = w<<1 | 1
		return w >> 31
	}
	b := r.bb >> 31
	r.bb <<= 1
	return b
}

func (r *nrvBits) byte() (uint32, bool) {
	if r.pos >= len(r.src) {
		r.err = true
		return 0, false
	}
	c := r.src[r.pos]
	r.pos++
	return uint32(c), true
}

// gamma continues an Elias-gamma-like code from v: each step appends one
// data bit, and a control bit says whether another follows (stop when
// the control bit equals stop). Values past 2^30 are corrupt.
func (r *nrvBits) gamma(v uint32, stop uint32) (uint32, bool) {
	for {
		v = v<<1 | r.bit()
		if r.err || v > 1<<30 {
			return 0, false
		}
		if r.bit() == stop {
			return v, !r.err
		}
	}
}

// nrvDecode decompresses src into dst (its length is the size the packer
// declared) and returns the number of bytes written. ctx and b are
// checked every so often: the output bounds the work.
func nrvDecode(ctx context.Context, b *Budget, m nrvMethod, src, dst []byte) (int, error) {
	r := &nrvBits{src: src}
	var dcur int
	lastOff := int64(-1) // the last distance, negative: back from dcur
	for iter := 0; ; iter++ {
		if iter&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return dcur, err
			}
		}
		// Literals.
		for {
			bit := r.bit()
			if r.err {
				return dcur, errNRV
			}
			if bit == 0 {
				break
			}
			c, ok := r.byte()
			if !ok || dcur >= len(dst) {
				return dcur, errNRV
			}
			dst[dcur] = byte(c)
			dcur++
		}
		// The offset's gamma code: 2B stops on a 1 control bit; 2D and 2E
		// interleave a decrement and one more bit when it is 0.
		off := uint32(1)
		for {
			off = off<<1 | r.bit()
			if r.bit() == 1 {
				break
			}
			if r.err || off > 1<<30 {
				return dcur, errNRV
			}
			if m != nrv2b {
				off--
				off = off<<1 | r.bit()
			}
		}
		if r.err {
			return dcur, errNRV
		}
		var mlen uint32
		lenBit := false // 2D/2E: the first length bit was given
		if off >= 3 {
			c, ok := r.byte()
			if !ok || off-3 > 0xffffff {
				return dcur, errNRV
			}
			v := ^((off-3)<<8 | c) // a negative distance as int32
			if v == 0 {
				break // end marker
			}
			d := int64(int32(v))
			if m != nrv2b {
				mlen = uint32(d) & 1
				lenBit = true
				d >>= 1
			}
			lastOff = d
		}
		var ok bool
		switch m {
		case nrv2b:
			mlen = r.bit()<<1 | r.bit()
			if mlen == 0 {
				if mlen, ok = r.gamma(1, 1); !ok {
					return dcur, errNRV
				}
				mlen += 2
			}
			if uint32(lastOff) < 0xfffff300 {
				mlen++
			}
			mlen++
		case nrv2d:
			if !lenBit {
				mlen = r.bit()
			}
			mlen = mlen<<1 | r.bit()
			if mlen == 0 {
				if mlen, ok = r.gamma(1, 1); !ok {
					return dcur, errNRV
				}
				mlen += 2
			}
			if uint32(lastOff) < 0xfffffb00 {
				mlen++
			}
			mlen++
		case nrv2e:
			if !lenBit {
				mlen = r.bit()
			}
			if mlen != 0 {
				mlen = r.bit()
			} else if r.bit() == 1 {
				mlen = 2 + r.bit()
			} else {
				if mlen, ok = r.gamma(1, 1); !ok {
					return dcur, errNRV
				}
				mlen += 2
			}
			if uint32(lastOff) < 0xfffffb00 {
				mlen++
			}
			mlen += 2
		}
		if r.err {
			return dcur, errNRV
		}
		from := int64(dcur) + lastOff
		if lastOff >= 0 || from < 0 || int64(dcur)+int64(mlen) > int64(len(dst)) {
			return dcur, errNRV
		}
		// Overlapping copy, byte by byte, as the loader does.
		for i := int64(0); i < int64(mlen); i++ {
			dst[int64(dcur)+i] = dst[from+i]
		}
		dcur += int(mlen)
	}
	return dcur, nil
}
