package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"

	"github.com/glassav/glassav/filetype"
)

// binhexFormat opens BinHex 4.0 files (RFC 1741), the classic Macintosh
// 7-bit encoding: a banner line, then the file between two ':' as 6-bit
// characters, run-length coded with 0x90, holding a header (name, type,
// fork lengths), the data fork and the resource fork. Both forks are
// members; CRCs are not checked, as a payload with a bad CRC still runs.
func binhexFormat() *Format {
	return &Format{
		Name:  "binhex",
		Types: []filetype.Type{filetype.BinHex},
		Unpack: func(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
			i := bytes.Index(data, binhexBanner)
			if i < 0 {
				return Corrupt("binhex", 0, "no BinHex 4.0 banner")
			}
			return unbinhex(ctx, data[i:], b, emit)
		},
	}
}

// binhexBanner starts the line before BinHex data; encoders finish it
// differently ("with BinHex 4.0)", "; you knew that already.)").
var binhexBanner = []byte("(This file must be converted")

// hqxAlphabet holds the 64 characters of BinHex 4.0, in value order.
const hqxAlphabet = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"

// hqxValue maps a byte to its 6-bit value, or -1.
var hqxValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(hqxAlphabet); i++ {
		v[hqxAlphabet[i]] = int8(i)
	}
	return v
}()

// unbinhex decodes the BinHex text that starts with the banner.
func unbinhex(ctx context.Context, text []byte, b *Budget, emit func(Member) error) error {
	// The encoded data starts at the first ':' that begins a line after
	// the banner line.
	_, next := nextLine(text, 0)
	start := -1
	for off := next; off < len(text); {
		line, n := nextLine(text, off)
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == ':' {
			start = off + (len(line) - len(t)) + 1
			break
		}
		off = n
	}
	if start < 0 {
		return Corrupt("binhex", int64(next), "no ':' starting the encoded data")
	}
	r := &hqxReader{src: text[start:]}
	var hdr [1]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Corrupt("binhex", int64(start), "empty")
	}
	rest := make([]byte, int(hdr[0])+1+4+4+2+4+4+2)
	if _, err := io.ReadFull(r, rest); err != nil {
		return Corrupt("binhex", int64(start), "header truncated")
	}
	nameLen := int(hdr[0])
	name := string(rest[:nameLen])
	f := rest[nameLen+1+4+4+2:]
	dataLen := int64(binary.BigEndian.Uint32(f[0:4]))
	rsrcLen := int64(binary.BigEndian.Uint32(f[4:8]))
	packed := int64(len(text) - start)
	forks := []struct {
		name string
		n    int64
	}{{name, dataLen}, {name + ":rsrc", rsrcLen}}
	for i, fk := range forks {
		if fk.n == 0 {
			var crc [2]byte
			io.ReadFull(r, crc[:]) // an empty fork still has its CRC
			continue
		}
		got, err := b.Read(ctx, io.LimitReader(r, fk.n), packed)
		if len(got) > 0 {
			if eerr := emit(Member{Name: fk.name, Data: got, Offset: -1}); eerr != nil {
				return eerr
			}
		}
		if err != nil {
			return err
		}
		if int64(len(got)) < fk.n {
			return Corrupt("binhex", int64(start), "fork %d truncated: %d of %d bytes", i, len(got), fk.n)
		}
		var crc [2]byte
		io.ReadFull(r, crc[:])
	}
	return nil
}

// hqxReader decodes BinHex 6-bit text and its run-length coding: 0x90 n
// repeats the previous byte to n copies in all, 0x90 0 is a literal 0x90.
// It stops at the closing ':' or the end of the text.
type hqxReader struct {
	src   []byte
	pos   int
	acc   uint32
	nbits int
	last  byte
	rep   int
	done  bool
}

func (r *hqxReader) raw() (byte, bool) {
	for r.nbits < 8 {
		if r.done || r.pos >= len(r.src) {
			r.done = true
			return 0, false
		}
		c := r.src[r.pos]
		r.pos++
		if c == ':' {
			r.done = true
			return 0, false
		}
		v := hqxValue[c]
		if v < 0 {
			continue
		}
		r.acc = r.acc<<6 | uint32(v)
		r.nbits += 6
	}
	r.nbits -= 8
	return byte(r.acc >> r.nbits), true
}

func (r *hqxReader) next() (byte, bool) {
	for {
		if r.rep > 0 {
			r.rep--
			return r.last, true
		}
		c, ok := r.raw()
		if !ok {
			return 0, false
		}
		if c != 0x90 {
			r.last = c
			return c, true
		}
		n, ok := r.raw()
		if !ok {
			return 0, false
		}
		if n == 0 {
			r.last = 0x90
			return 0x90, true
		}
		r.rep = int(n) - 1
	}
}

func (r *hqxReader) Read(p []byte) (int, error) {
	for i := range p {
		c, ok := r.next()
		if !ok {
			if i == 0 {
				return 0, io.EOF
			}
			return i, nil
		}
		p[i] = c
	}
	return len(p), nil
}
