package unpack

import (
	"context"
	"encoding/binary"
	"io"

	"github.com/glassav/glassav/filetype"
)

// szddFormat opens files packed by Microsoft's COMPRESS.EXE (the SZDD
// variant, "FILE.EX_"), which hold one member compressed with a small
// LZSS: a 4 KiB window filled with spaces, flag bytes whose bits (low
// first) choose a literal byte (1) or a 12-bit position and 4-bit length
// pair (0). The header names only the last character of the original
// name, so the member is nameless.
func szddFormat() *Format {
	return &Format{Name: "szdd", Types: []filetype.Type{filetype.MSSZDD}, Unpack: unpackSZDD}
}

const szddHeaderLen = 14

var szddMagic = []byte{'S', 'Z', 'D', 'D', 0x88, 0xf0, 0x27, 0x33}

func unpackSZDD(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if len(data) < szddHeaderLen || string(data[:8]) != string(szddMagic) {
		return Corrupt("szdd", 0, "no SZDD header")
	}
	if data[8] != 'A' {
		return Corrupt("szdd", 8, "unknown compression mode %q", data[8])
	}
	size := int64(binary.LittleEndian.Uint32(data[10:14]))
	r := &szddReader{in: data[szddHeaderLen:], left: size}
	r.pos = 4096 - 16
	for i := range r.window {
		r.window[i] = ' '
	}
	err := emitRead(ctx, b, r, int64(len(data)-szddHeaderLen), Member{Offset: -1}, "szdd", -1, emit)
	if err == nil && r.left > 0 {
		return Corrupt("szdd", int64(len(data)), "stream ends %d bytes short of the stated size %d", r.left, size)
	}
	return err
}

// szddReader decodes the LZSS stream; it stops at the size the header
// states or when the input ends, whichever comes first.
type szddReader struct {
	in     []byte
	left   int64 // bytes still due by the header
	window [4096]byte
	pos    int
	flags  uint // current flag byte, with a sentinel bit above its 8 bits
	// pending match: copy n more bytes from window position from
	from, n int
}

func (r *szddReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) && r.left > 0 {
		if r.n > 0 {
			c := r.window[r.from&4095]
			r.from++
			r.n--
			r.put(c)
			p[w] = c
			w++
			continue
		}
		if r.flags <= 1 {
			if len(r.in) == 0 {
				break
			}
			r.flags = uint(r.in[0]) | 0x100
			r.in = r.in[1:]
		}
		bit := r.flags & 1
		r.flags >>= 1
		if bit == 1 {
			if len(r.in) == 0 {
				break
			}
			c := r.in[0]
			r.in = r.in[1:]
			r.put(c)
			p[w] = c
			w++
			continue
		}
		if len(r.in) < 2 {
			r.in = nil
			break
		}
		r.from = int(r.in[0]) | int(r.in[1]&0xf0)<<4
		r.n = int(r.in[1]&0x0f) + 3
		r.in = r.in[2:]
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}

func (r *szddReader) put(c byte) {
	r.window[r.pos] = c
	r.pos = (r.pos + 1) & 4095
	r.left--
}
