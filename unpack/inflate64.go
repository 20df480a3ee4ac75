package unpack

import (
	"errors"
	"io"
)

// inflater decodes deflate (RFC 1951) and its Deflate64 variant (zip
// method 9, "enhanced deflating"), which compress/flate lacks: a 64 KiB
// window, length code 285 taking 16 extra bits over a base of 3, and
// distance codes 30 and 31 reaching 64 KiB back. It reads from a byte
// slice and keeps only the window in memory.
type inflater struct {
	br    bitReader
	d64   bool
	win   [1 << 16]byte
	wpos  int // bytes written so far
	final bool
	state int
	// stored block bytes left, or the match being copied.
	stored             int
	copyLen, copyDist  int
	lit, dist          *huffman
	fixedLit, fixedDst *huffman
}

const (
	infHeader = iota
	infStored
	infHuffman
	infDone
)

var (
	infLenBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	infLenExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	infDstBase  = [32]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32769, 49153}
	infDstExtra = [32]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14}
	infCLOrder  = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

var errInflate = errors.New("invalid deflate data")

func newInflater(data []byte, deflate64 bool) *inflater {
	return &inflater{br: bitReader{data: data}, d64: deflate64}
}

func (f *inflater) put(b byte) {
	f.win[f.wpos&0xffff] = b
	f.wpos++
}

// Read decodes into p; it returns io.EOF after the final block.
func (f *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.copyLen > 0 {
			b := f.win[(f.wpos-f.copyDist)&0xffff]
			f.put(b)
			p[n] = b
			n++
			f.copyLen--
			continue
		}
		switch f.state {
		case infDone:
			return n, io.EOF
		case infHeader:
			if err := f.header(); err != nil {
				return n, err
			}
		case infStored:
			if f.stored == 0 {
				f.next()
				continue
			}
			b, err := f.br.byte()
			if err != nil {
				return n, err
			}
			f.put(b)
			p[n] = b
			n++
			f.stored--
		case infHuffman:
			sym, err := f.lit.decode(&f.br, false)
			if err != nil {
				return n, err
			}
			switch {
			case sym < 256:
				f.put(byte(sym))
				p[n] = byte(sym)
				n++
			case sym == 256:
				f.next()
			default:
				if err := f.match(sym - 257); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// next moves past the end of a block.
func (f *inflater) next() {
	if f.final {
		f.state = infDone
	} else {
		f.state = infHeader
	}
}

// match reads the length extra bits and the distance of length code c
// and sets up the copy.
func (f *inflater) match(c int) error {
	if c >= 29 {
		return errInflate
	}
	base, extra := infLenBase[c], infLenExtra[c]
	if c == 28 && f.d64 {
		base, extra = 3, 16
	}
	e, err := f.br.take(extra)
	if err != nil {
		return err
	}
	length := base + int(e)
	dc, err := f.dist.decode(&f.br, false)
	if err != nil {
		return err
	}
	if dc >= 30 && !f.d64 || dc >= 32 {
		return errInflate
	}
	e, err = f.br.take(infDstExtra[dc])
	if err != nil {
		return err
	}
	dist := infDstBase[dc] + int(e)
	if dist > f.wpos || dist > len(f.win) {
		return errInflate
	}
	f.copyLen, f.copyDist = length, dist
	return nil
}

// header reads a block header and prepares its decoding.
func (f *inflater) header() error {
	v, err := f.br.take(3)
	if err != nil {
		return err
	}
	f.final = v&1 == 1
	switch v >> 1 {
	case 0:
		f.br.alignByte()
		l, err := f.br.take(16)
		if err != nil {
			return err
		}
		nl, err := f.br.take(16)
		if err != nil {
			return err
		}
		if l != ^nl&0xffff {
			return errInflate
		}
		f.stored, f.state = int(l), infStored
	case 1:
		if f.fixedLit == nil {
			var ll [288]uint8
			for i := range ll {
				switch {
				case i < 144:
					ll[i] = 8
				case i < 256:
					ll[i] = 9
				case i < 280:
					ll[i] = 7
				default:
					ll[i] = 8
				}
			}
			var dl [32]uint8
			for i := range dl {
				dl[i] = 5
			}
			f.fixedLit, _ = newHuffman(ll[:])
			f.fixedDst, _ = newHuffman(dl[:])
		}
		f.lit, f.dist, f.state = f.fixedLit, f.fixedDst, infHuffman
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.state = infHuffman
	default:
		return errInflate
	}
	return nil
}

// dynamic reads the code lengths of a dynamic block.
func (f *inflater) dynamic() error {
	v, err := f.br.take(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlen > 286 && !f.d64 || nlen > 288 {
		return errInflate
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		c, err := f.br.take(3)
		if err != nil {
			return err
		}
		cl[infCLOrder[i]] = uint8(c)
	}
	clh, err := newHuffman(cl[:])
	if err != nil {
		return err
	}
	lengths := make([]uint8, nlen+ndist)
	for i := 0; i < len(lengths); {
		sym, err := clh.decode(&f.br, false)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			val = lengths[i-1]
			e, err := f.br.take(2)
			if err != nil {
				return err
			}
			rep = 3 + int(e)
		case 17:
			e, err := f.br.take(3)
			if err != nil {
				return err
			}
			rep = 3 + int(e)
		default:
			e, err := f.br.take(7)
			if err != nil {
				return err
			}
			rep = 11 + int(e)
		}
		if i+rep > len(lengths) {
			return errInflate
		}
		for ; rep > 0; rep-- {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errInflate
	}
	if f.lit, err = newHuffman(lengths[:nlen]); err != nil {
		return err
	}
	f.dist, err = newHuffman(lengths[nlen:])
	return err
}
