package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/glassav/glassav/filetype"
)

// arjFormat opens ARJ archives and ARJ SFX executables (the archive
// follows a stub: the first header whose CRC checks is the main header).
// Each file has a local header (0x60 0xEA, size, fields, name, CRC-32)
// followed by its data: stored (method 0), the LZ77 + static Huffman
// coding of methods 1-3 (LHA's -lh6- layout with a 26 KiB window), or
// method 4's shorter Elias-gamma-like codes. Garbled (password) files are
// emitted as encrypted.
func arjFormat() *Format {
	return &Format{Name: "arj", Types: []filetype.Type{filetype.ARJ, filetype.ARJSFX}, Unpack: unpackARJ}
}

const (
	arjMaxHeader  = 2600
	arjDicSize    = 26624
	arjFlagGarble = 0x01
	arjTypeDir    = 3
)

type arjHeader struct {
	flags, method, ftype byte
	packed, size         int64
	name                 string
	next                 int64 // where the data starts
}

// arjReadHeader reads the header at p; ok is false when none is there
// (bad signature, size or CRC), end when it is the end-of-archive marker.
func arjReadHeader(data []byte, p int64) (h arjHeader, end, ok bool) {
	if p < 0 || p+4 > int64(len(data)) || data[p] != 0x60 || data[p+1] != 0xea {
		return h, false, false
	}
	size := int64(binary.LittleEndian.Uint16(data[p+2:]))
	if size == 0 {
		return h, true, true
	}
	if size < 30 || size > arjMaxHeader || p+4+size+4 > int64(len(data)) {
		return h, false, false
	}
	hd := data[p+4 : p+4+size]
	if crc32.ChecksumIEEE(hd) != binary.LittleEndian.Uint32(data[p+4+size:]) {
		return h, false, false
	}
	first := int64(hd[0])
	if first < 30 || first > size {
		return h, false, false
	}
	h.flags, h.method, h.ftype = hd[4], hd[5], hd[6]
	h.packed = int64(binary.LittleEndian.Uint32(hd[12:]))
	h.size = int64(binary.LittleEndian.Uint32(hd[16:]))
	name := hd[first:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	h.name = string(name)
	// Extended headers: size, data, CRC-32, until a zero size.
	q := p + 4 + size + 4
	for {
		if q+2 > int64(len(data)) {
			return h, false, false
		}
		ext := int64(binary.LittleEndian.Uint16(data[q:]))
		q += 2
		if ext == 0 {
			break
		}
		q += ext + 4
	}
	h.next = q
	return h, false, true
}

func unpackARJ(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	// The main header: the first that checks, past any SFX stub.
	p := int64(-1)
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte{0x60, 0xea})
		if i < 0 {
			return Corrupt("arj", 0, "no ARJ main header")
		}
		at := int64(from + i)
		if _, end, ok := arjReadHeader(data, at); ok && !end {
			p = at
			break
		}
		from += i + 1
	}
	main, _, _ := arjReadHeader(data, p)
	p = main.next
	var ferr error
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		h, end, ok := arjReadHeader(data, p)
		if end {
			return ferr
		}
		if !ok {
			return Corrupt("arj", p, "bad local header")
		}
		dataEnd := h.next + h.packed
		if dataEnd > int64(len(data)) {
			dataEnd = int64(len(data))
		}
		body := data[h.next:dataEnd]
		m := Member{Name: h.name, Offset: -1}
		switch {
		case h.ftype == arjTypeDir:
		case h.flags&arjFlagGarble != 0:
			m.Encrypted = true
			if err := emit(m); err != nil {
				return err
			}
		case h.method == 0:
			m.Offset = h.next
			if err := emitStored(b, body[:min(int64(len(body)), h.size)], m, emit); err != nil {
				if !memberLimited(err) {
					return err
				}
				keepFirst(&ferr, err)
			}
		case h.method <= 4:
			var r io.Reader
			if h.method == 4 {
				r = &arjFastReader{arjWindow: newARJWindow(body, h.size)}
			} else {
				r = &arjReader{arjWindow: newARJWindow(body, h.size)}
			}
			if err := emitRead(ctx, b, r, int64(len(body)), m, "arj", h.next, emit); err != nil {
				if !memberLimited(err) {
					return err
				}
				keepFirst(&ferr, err)
			}
		default:
			if ferr == nil {
				ferr = Corrupt("arj", p, "file %q: unknown method %d", h.name, h.method)
			}
		}
		if h.next+h.packed > int64(len(data)) {
			return Corrupt("arj", h.next, "file %q: data truncated", h.name)
		}
		p = h.next + h.packed
	}
}

var errARJ = errors.New("arj: corrupt compressed data")

// arjWindow holds what both decoders share: the bit input (most
// significant bit first), the 26 KiB window and the output still due.
type arjWindow struct {
	in      []byte
	pos     int
	bitbuf  uint32 // next bits, at the top
	nbits   uint
	over    int
	text    []byte
	r       int
	left    int64  // output bytes still due
	pending []byte // decoded, not yet read: pending[rd:]
	rd      int
	err     error // sticky decoding error, returned once pending is read
}

func newARJWindow(in []byte, size int64) arjWindow {
	return arjWindow{in: in, text: make([]byte, arjDicSize), left: size}
}

func (w *arjWindow) fill(n uint) {
	for w.nbits < n {
		var c uint32
		if w.pos < len(w.in) {
			c = uint32(w.in[w.pos])
			w.pos++
		} else {
			w.over++
		}
		w.bitbuf |= c << (24 - w.nbits)
		w.nbits += 8
	}
}

func (w *arjWindow) peek(n uint) uint32 {
	w.fill(n)
	return w.bitbuf >> (32 - n)
}

func (w *arjWindow) skip(n uint) {
	w.fill(n)
	w.bitbuf <<= n
	w.nbits -= n
}

func (w *arjWindow) bits(n uint) uint32 {
	if n == 0 {
		return 0
	}
	v := w.peek(n)
	w.skip(n)
	return v
}

func (w *arjWindow) literal(c byte) {
	w.text[w.r] = c
	w.r = (w.r + 1) % arjDicSize
	w.pending = append(w.pending, c)
	w.left--
}

// match copies n bytes from dist+1 back, stopping at the stated size.
func (w *arjWindow) match(n int, dist int) {
	i := w.r - dist - 1
	if i < 0 {
		i += arjDicSize
	}
	for ; n > 0 && w.left > 0; n-- {
		w.literal(w.text[i])
		i = (i + 1) % arjDicSize
	}
}

// read drains pending output into p, calling step for more while
// output is due.
func (w *arjWindow) read(p []byte, step func() error) (int, error) {
	if w.rd == len(w.pending) {
		if w.err != nil {
			return 0, w.err
		}
		w.pending, w.rd = w.pending[:0], 0
		// Decode a run of steps at once: calls through the budget's
		// reader are costly per byte.
		for len(w.pending) < 4096 && w.left > 0 {
			if w.over > 4 {
				if len(w.pending) > 0 {
					break
				}
				return 0, fmt.Errorf("%w: input ends %d bytes early", errARJ, w.left)
			}
			if err := step(); err != nil {
				w.err = err
				if len(w.pending) > 0 {
					break // return what was decoded first
				}
				return 0, err
			}
		}
		if len(w.pending) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, w.pending[w.rd:])
	w.rd += n
	return n, nil
}

// arjReader decodes methods 1-3.
type arjReader struct {
	arjWindow
	blockSize int
	c, pt     arjTree // literal/length and position codes
	t         arjTree // the code of c's code lengths
}

const (
	arjNC    = 255 + 256 + 2 - 3 // 510: bytes and match lengths 3..256
	arjNP    = 17
	arjNT    = 19
	arjCBits = 9
	arjPBits = 5
	arjTBits = 5
)

func (r *arjReader) Read(p []byte) (int, error) { return r.read(p, r.step) }

func (r *arjReader) step() error {
	if r.blockSize == 0 {
		r.blockSize = int(r.bits(16))
		if err := r.readPtLen(&r.t, arjNT, arjTBits, 3); err != nil {
			return err
		}
		if err := r.readCLen(); err != nil {
			return err
		}
		if err := r.readPtLen(&r.pt, arjNP, arjPBits, -1); err != nil {
			return err
		}
	}
	r.blockSize--
	c, err := r.c.decode(&r.arjWindow)
	if err != nil {
		return err
	}
	if c <= 255 {
		r.literal(byte(c))
		return nil
	}
	length := c - 253
	d, err := r.pt.decode(&r.arjWindow)
	if err != nil {
		return err
	}
	if d != 0 {
		d--
		d = 1<<d + int(r.bits(uint(d)))
	}
	if d >= arjDicSize {
		return fmt.Errorf("%w: match distance %d past the window", errARJ, d)
	}
	r.match(length, d)
	return nil
}

// readPtLen reads the lengths of the position code or of the code-length
// code: 3-bit lengths, 7 and up in unary, and after the special-th one a
// 2-bit count of zero lengths.
func (r *arjReader) readPtLen(t *arjTree, nn int, nbit uint, special int) error {
	n := int(r.bits(nbit))
	if n == 0 {
		return t.single(int(r.bits(nbit)), nn)
	}
	if n > nn {
		return fmt.Errorf("%w: %d code lengths of %d", errARJ, n, nn)
	}
	lens := make([]byte, nn)
	for i := 0; i < n; {
		c := int(r.peek(3))
		if c == 7 {
			r.skip(3)
			for r.bits(1) == 1 {
				c++
				if c > 16 {
					return fmt.Errorf("%w: code length over 16", errARJ)
				}
			}
		} else {
			r.skip(3)
		}
		lens[i] = byte(c)
		i++
		if i == special {
			for z := int(r.bits(2)); z > 0 && i < nn; z-- {
				lens[i] = 0
				i++
			}
		}
	}
	return t.build(lens)
}

// readCLen reads the literal/length code's lengths, coded with r.t.
func (r *arjReader) readCLen() error {
	n := int(r.bits(arjCBits))
	if n == 0 {
		return r.c.single(int(r.bits(arjCBits)), arjNC)
	}
	if n > arjNC {
		return fmt.Errorf("%w: %d code lengths of %d", errARJ, n, arjNC)
	}
	lens := make([]byte, arjNC)
	for i := 0; i < n; {
		c, err := r.t.decode(&r.arjWindow)
		if err != nil {
			return err
		}
		if c > 2 {
			lens[i] = byte(c - 2)
			i++
			continue
		}
		switch c {
		case 0:
			c = 1
		case 1:
			c = int(r.bits(4)) + 3
		default:
			c = int(r.bits(arjCBits)) + 20
		}
		for ; c > 0 && i < arjNC; c-- {
			lens[i] = 0
			i++
		}
	}
	return r.c.build(lens)
}

// arjTree is a canonical Huffman code read a bit at a time, or a single
// symbol that takes no bits (a table of one code).
type arjTree struct {
	lzxTree
	only int // >= 0: every code is this symbol
}

func (t *arjTree) single(sym, n int) error {
	if sym >= n {
		return fmt.Errorf("%w: single code %d of %d", errARJ, sym, n)
	}
	t.only = sym
	return nil
}

func (t *arjTree) build(lens []byte) error {
	t.only = -1
	for _, l := range lens {
		if l > 16 {
			return fmt.Errorf("%w: code length %d", errARJ, l)
		}
	}
	if err := t.lzxTree.build(lens); err != nil {
		return fmt.Errorf("%w: %v", errARJ, err)
	}
	return nil
}

func (t *arjTree) decode(w *arjWindow) (int, error) {
	if t.only >= 0 {
		return t.only, nil
	}
	code, first, index := 0, 0, 0
	for l := 1; l <= 16; l++ {
		code |= int(w.bits(1))
		c := int(t.count[l])
		if code-first < c {
			return int(t.syms[index+code-first]), nil
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	return 0, fmt.Errorf("%w: bad Huffman code", errARJ)
}

// arjFastReader decodes method 4: a unary-prefixed length (0: literal
// byte follows) and a unary-prefixed position of 9 to 12 bits.
type arjFastReader struct {
	arjWindow
}

func (r *arjFastReader) Read(p []byte) (int, error) { return r.read(p, r.step) }

func (r *arjFastReader) step() error {
	c := r.gamma(0, 7)
	if c == 0 {
		r.literal(byte(r.bits(8)))
		return nil
	}
	r.match(c-1+3, r.gamma(9, 13))
	return nil
}

// gamma reads ones (each doubling the step, at most stop-start of them)
// ended by a zero, then width bits.
func (r *arjFastReader) gamma(start, stop uint) int {
	plus, pwr := 0, 1<<start
	width := start
	for ; width < stop; width++ {
		if r.bits(1) == 0 {
			break
		}
		plus += pwr
		pwr <<= 1
	}
	return plus + int(r.bits(width))
}
