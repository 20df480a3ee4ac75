package unpack

import (
	"errors"
	"io"
)

// exploder decodes PKWARE's "imploding" (zip method 6, PKZIP 1.x): LZ77
// over a 4 or 8 KiB window whose literals, match lengths and distances'
// high bits are Shannon-Fano coded. The codes are canonical prefix codes
// read with every bit complemented, and the stream has no end marker: it
// ends after the entry's uncompressed size.
type exploder struct {
	br       bitReader
	lit      *huffman // nil: literals are 8 raw bits
	length   *huffman
	dist     *huffman
	lowBits  uint // distance bits sent raw: 6 (4 KiB) or 7 (8 KiB)
	minMatch int  // 3 with a literal tree, else 2
	win      [1 << 13]byte
	wpos     int
	left     int64 // bytes still to produce
	copyLen  int
	copyDist int
}

var errExplode = errors.New("invalid imploded data")

// newExploder starts decoding data, the entry's compressed bytes, with the
// entry's general purpose flags (bit 1: 8 KiB window; bit 2: literal tree)
// and its uncompressed size.
func newExploder(data []byte, flags uint16, size int64) (*exploder, error) {
	e := &exploder{lowBits: 6, minMatch: 2, left: size}
	if flags&2 != 0 {
		e.lowBits = 7
	}
	pos := 0
	tree := func(n int) (*huffman, error) {
		if pos >= len(data) {
			return nil, io.ErrUnexpectedEOF
		}
		lengths := make([]uint8, 0, n)
		count := int(data[pos]) + 1
		pos++
		for ; count > 0; count-- {
			if pos >= len(data) {
				return nil, io.ErrUnexpectedEOF
			}
			bl, rep := data[pos]&15+1, int(data[pos]>>4)+1
			pos++
			if len(lengths)+rep > n {
				return nil, errExplode
			}
			for ; rep > 0; rep-- {
				lengths = append(lengths, bl)
			}
		}
		if len(lengths) != n {
			return nil, errExplode
		}
		return newHuffman(lengths)
	}
	var err error
	if flags&4 != 0 {
		e.minMatch = 3
		if e.lit, err = tree(256); err != nil {
			return nil, err
		}
	}
	if e.length, err = tree(64); err != nil {
		return nil, err
	}
	if e.dist, err = tree(64); err != nil {
		return nil, err
	}
	e.br = bitReader{data: data[pos:]}
	return e, nil
}

func (e *exploder) put(b byte) {
	e.win[e.wpos&(len(e.win)-1)] = b
	e.wpos++
	e.left--
}

// Read decodes into p until the uncompressed size is reached.
func (e *exploder) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if e.left <= 0 {
			return n, io.EOF
		}
		if e.copyLen > 0 {
			var b byte
			if e.copyDist <= e.wpos {
				b = e.win[(e.wpos-e.copyDist)&(len(e.win)-1)]
			}
			// A distance before the start reads zeros, as PKZIP's
			// window starts zeroed.
			e.put(b)
			p[n] = b
			n++
			e.copyLen--
			continue
		}
		flag, err := e.br.take(1)
		if err != nil {
			return n, err
		}
		if flag == 1 {
			var sym uint32
			if e.lit != nil {
				s, err := e.lit.decode(&e.br, true)
				if err != nil {
					return n, err
				}
				sym = uint32(s)
			} else if sym, err = e.br.take(8); err != nil {
				return n, err
			}
			e.put(byte(sym))
			p[n] = byte(sym)
			n++
			continue
		}
		low, err := e.br.take(e.lowBits)
		if err != nil {
			return n, err
		}
		high, err := e.dist.decode(&e.br, true)
		if err != nil {
			return n, err
		}
		l, err := e.length.decode(&e.br, true)
		if err != nil {
			return n, err
		}
		if l == 63 {
			x, err := e.br.take(8)
			if err != nil {
				return n, err
			}
			l += int(x)
		}
		e.copyDist = high<<e.lowBits | int(low) + 1
		e.copyLen = l + e.minMatch
	}
	return n, nil
}
