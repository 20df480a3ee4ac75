package unpack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// lzxDecoder decodes LZX, the LZ77 + Huffman compression of Microsoft
// cabinets and CHM files, one output frame (32 KiB, less for the last) at
// a time from one continuous input (a cabinet folder's data blocks joined,
// or a CHM section). Each frame ends on a 16-bit boundary of the input.
// The state that spans frames (the window, the current block and its
// trees, the three repeated offsets) stays in the decoder; reset drops it
// where a CHM stream restarts.
//
// The bit stream is read as 16-bit little-endian words, most significant
// bit first. Each block starts with a 3-bit type and a 24-bit length: a
// verbatim block carries a main tree (literals and match headers) and a
// length tree, an aligned block adds a tree for the low 3 bits of long
// offsets, an uncompressed block holds raw bytes after the three repeated
// offsets. Tree code lengths are themselves coded by a 20-symbol pretree
// as deltas from the previous block's lengths.
type lzxDecoder struct {
	window    []byte
	wpos      int
	slots     int
	r         [3]uint32
	header    bool // the E8 translation header was read
	e8size    int32
	e8started bool
	e8pos     int64 // stream position of the next frame, for E8 translation
	frame     int
	excess    int // bytes the last frame's final match ran past its end

	btype     int
	blockLen  int
	remaining int

	mainLens   []byte
	lengthLens [lzxSecondaryLengths]byte
	alignLens  [8]byte
	pretree    lzxTree
	main       lzxTree
	length     lzxTree
	aligned    lzxTree

	bits lzxBits
	out  []byte
}

const (
	lzxMinMatch         = 2
	lzxSecondaryLengths = 249
	lzxFrameSize        = 32768
	lzxBlockVerbatim    = 1
	lzxBlockAligned     = 2
	lzxBlockStored      = 3
)

// lzxSlots is the number of position slots for window sizes 2^15..2^21.
var lzxSlots = [...]int{30, 32, 34, 36, 38, 42, 50}

var lzxExtraBits, lzxPositionBase = func() (extra [51]uint8, base [51]uint32) {
	for i := range extra {
		switch {
		case i < 4:
			extra[i] = 0
		case (i-2)/2 > 17:
			extra[i] = 17
		default:
			extra[i] = uint8((i - 2) / 2)
		}
		if i > 0 {
			base[i] = base[i-1] + 1<<extra[i-1]
		}
	}
	return
}()

var errLZX = errors.New("lzx: corrupt stream")

// newLZXDecoder returns a decoder of in for a window of 2^wbits bytes.
func newLZXDecoder(in []byte, wbits int) (*lzxDecoder, error) {
	if wbits < 15 || wbits > 21 {
		return nil, fmt.Errorf("lzx: window of 2^%d bytes not supported", wbits)
	}
	slots := lzxSlots[wbits-15]
	d := &lzxDecoder{
		window:   make([]byte, 1<<wbits),
		slots:    slots,
		mainLens: make([]byte, 256+slots*8),
		bits:     lzxBits{in: in},
	}
	d.reset()
	return d, nil
}

// reset restarts the stream state, as at a CHM reset point; the window
// contents and the E8 position carry on.
func (d *lzxDecoder) reset() {
	d.r = [3]uint32{1, 1, 1}
	d.header = false
	d.btype = 0
	d.remaining = 0
	d.blockLen = 0
	clear(d.mainLens)
	clear(d.lengthLens[:])
}

// decodeFrame decodes the next size bytes (at most one frame) and returns
// them; the slice is valid until the next call.
func (d *lzxDecoder) decodeFrame(size int) ([]byte, error) {
	if size <= 0 || size > lzxFrameSize {
		return nil, fmt.Errorf("lzx: frame of %d bytes", size)
	}
	if d.wpos+size > len(d.window) {
		return nil, fmt.Errorf("lzx: frame of %d bytes runs past the window", size)
	}
	br := &d.bits
	br.over = 0
	if !d.header {
		if br.read(1) == 1 {
			hi := br.read(16)
			lo := br.read(16)
			d.e8size = int32(hi<<16 | lo)
		} else {
			d.e8size = 0
		}
		d.header = true
	}
	start := d.wpos
	todo := size
	for todo > 0 {
		if d.remaining == 0 {
			if err := d.readBlockHeader(); err != nil {
				return nil, err
			}
		}
		run := min(d.remaining, todo)
		todo -= run
		d.remaining -= run
		var err error
		if d.btype == lzxBlockStored {
			err = d.copyStored(run)
		} else {
			run, err = d.decodeRun(run)
		}
		if err != nil {
			return nil, err
		}
		if run < 0 { // a match went past the run's end into the block's rest
			if -run > d.remaining {
				return nil, fmt.Errorf("%w: match overruns its block", errLZX)
			}
			d.remaining += run
		}
		if br.over > 4 {
			return nil, fmt.Errorf("%w: input ends inside the frame", errLZX)
		}
	}
	if d.wpos-start != size {
		// The last match ran past the frame's end. Compressors do this at
		// the end of a stream (Free Pascal's chmcmd); like 7-Zip, keep the
		// frame and drop the excess.
		d.excess = d.wpos - start - size
		d.wpos = start + size
	}
	// The next frame starts at a 16-bit boundary: drop what is left of
	// the current word.
	br.buf, br.n = 0, 0
	d.out = append(d.out[:0], d.window[start:d.wpos]...)
	if d.wpos == len(d.window) {
		d.wpos = 0
	}
	if d.e8started && d.e8size != 0 && d.frame < 32768 && size > 10 {
		lzxUndoE8(d.out, d.e8pos, d.e8size)
	}
	d.e8pos += int64(size)
	d.frame++
	return d.out, nil
}

func (d *lzxDecoder) readBlockHeader() error {
	br := &d.bits
	if d.btype == lzxBlockStored && d.blockLen&1 == 1 {
		br.rawByte() // padding after an odd-sized stored block
	}
	d.btype = int(br.read(3))
	d.blockLen = int(br.read(16)<<8 | br.read(8))
	d.remaining = d.blockLen
	switch d.btype {
	case lzxBlockAligned:
		for i := range d.alignLens {
			d.alignLens[i] = byte(br.read(3))
		}
		if err := d.aligned.build(d.alignLens[:]); err != nil {
			return err
		}
		fallthrough
	case lzxBlockVerbatim:
		if err := d.readLengths(d.mainLens[:256]); err != nil {
			return err
		}
		if err := d.readLengths(d.mainLens[256:]); err != nil {
			return err
		}
		if err := d.main.build(d.mainLens); err != nil {
			return err
		}
		if d.mainLens[0xe8] != 0 {
			d.e8started = true
		}
		if err := d.readLengths(d.lengthLens[:]); err != nil {
			return err
		}
		if err := d.length.build(d.lengthLens[:]); err != nil {
			return err
		}
	case lzxBlockStored:
		d.e8started = true
		br.align()
		var rs [12]byte
		for i := range rs {
			c, ok := br.rawByte()
			if !ok {
				return fmt.Errorf("%w: stored block header truncated", errLZX)
			}
			rs[i] = c
		}
		for i := range d.r {
			d.r[i] = binary.LittleEndian.Uint32(rs[i*4:])
		}
	default:
		return fmt.Errorf("%w: block type %d", errLZX, d.btype)
	}
	if br.over > 4 {
		return fmt.Errorf("%w: input ends in a block header", errLZX)
	}
	return nil
}

// readLengths reads code lengths coded by a pretree as deltas from lens.
func (d *lzxDecoder) readLengths(lens []byte) error {
	br := &d.bits
	var pre [20]byte
	for i := range pre {
		pre[i] = byte(br.read(4))
	}
	if err := d.pretree.build(pre[:]); err != nil {
		return err
	}
	for x := 0; x < len(lens); {
		z, err := d.pretree.decode(br)
		if err != nil {
			return err
		}
		switch z {
		case 17, 18:
			var n int
			if z == 17 {
				n = int(br.read(4)) + 4
			} else {
				n = int(br.read(5)) + 20
			}
			for ; n > 0 && x < len(lens); n-- {
				lens[x] = 0
				x++
			}
		case 19:
			n := int(br.read(1)) + 4
			z, err = d.pretree.decode(br)
			if err != nil {
				return err
			}
			if z > 16 {
				return fmt.Errorf("%w: pretree run of code %d", errLZX, z)
			}
			v := (int(lens[x]) - z + 17) % 17
			for ; n > 0 && x < len(lens); n-- {
				lens[x] = byte(v)
				x++
			}
		default:
			lens[x] = byte((int(lens[x]) - z + 17) % 17)
			x++
		}
		if br.over > 4 {
			return fmt.Errorf("%w: input ends in a tree", errLZX)
		}
	}
	return nil
}

// decodeRun decodes about run bytes of a verbatim or aligned block into the
// window, returning run less what it wrote (negative when the last match
// went past it).
func (d *lzxDecoder) decodeRun(run int) (int, error) {
	br := &d.bits
	w := d.window
	for run > 0 {
		sym, err := d.main.decode(br)
		if err != nil {
			return run, err
		}
		if sym < 256 {
			w[d.wpos] = byte(sym)
			d.wpos++
			run--
			continue
		}
		sym -= 256
		length := sym & 7
		if length == 7 {
			f, err := d.length.decode(br)
			if err != nil {
				return run, err
			}
			length += f
		}
		length += lzxMinMatch
		slot := sym >> 3
		var off uint32
		switch {
		case slot > 2:
			extra := lzxExtraBits[slot]
			off = lzxPositionBase[slot] - 2
			if d.btype == lzxBlockAligned && extra >= 3 {
				if extra > 3 {
					off += br.read(uint(extra-3)) << 3
				}
				a, err := d.aligned.decode(br)
				if err != nil {
					return run, err
				}
				off += uint32(a)
			} else if extra > 0 {
				off += br.read(uint(extra))
			} else {
				off = 1
			}
			d.r[2], d.r[1], d.r[0] = d.r[1], d.r[0], off
		case slot == 0:
			off = d.r[0]
		case slot == 1:
			off = d.r[1]
			d.r[1], d.r[0] = d.r[0], off
		default:
			off = d.r[2]
			d.r[2], d.r[0] = d.r[0], off
		}
		if d.wpos+length > len(w) {
			return run, fmt.Errorf("%w: match runs past the window", errLZX)
		}
		if off == 0 || int64(off) > int64(len(w)) {
			return run, fmt.Errorf("%w: match offset %d", errLZX, off)
		}
		src := d.wpos - int(off)
		if src < 0 {
			src += len(w)
		}
		for range length {
			w[d.wpos] = w[src]
			d.wpos++
			src++
			if src == len(w) {
				src = 0
			}
		}
		run -= length
		if br.over > 4 {
			return run, fmt.Errorf("%w: input ends in a block", errLZX)
		}
	}
	return run, nil
}

// copyStored copies run raw bytes of a stored block into the window.
func (d *lzxDecoder) copyStored(run int) error {
	br := &d.bits
	n := min(run, len(br.in)-br.pos)
	copy(d.window[d.wpos:], br.in[br.pos:br.pos+n])
	br.pos += n
	d.wpos += n
	if n < run {
		return fmt.Errorf("%w: stored block truncated", errLZX)
	}
	return nil
}

// lzxUndoE8 turns the absolute CALL targets the compressor wrote back into
// relative ones, in the frame at stream position pos.
func lzxUndoE8(b []byte, pos int64, size int32) {
	cur := pos
	end := len(b) - 10
	for i := 0; i < end; {
		if b[i] != 0xe8 {
			i++
			cur++
			continue
		}
		abs := int64(int32(binary.LittleEndian.Uint32(b[i+1:])))
		if abs >= -cur && abs < int64(size) {
			rel := abs - cur
			if abs < 0 {
				rel = abs + int64(size)
			}
			binary.LittleEndian.PutUint32(b[i+1:], uint32(int32(rel)))
		}
		i += 5
		cur += 5
	}
}

// lzxBits reads LZX's bit stream: 16-bit little-endian words, most
// significant bit first. Past the end it reads zeros and counts the words
// it made up in over.
type lzxBits struct {
	in   []byte
	pos  int
	buf  uint64 // pending bits, at the top
	n    uint
	over int
}

func (br *lzxBits) fill(k uint) {
	for br.n < k {
		var w uint64
		if br.pos+1 < len(br.in) {
			w = uint64(br.in[br.pos]) | uint64(br.in[br.pos+1])<<8
			br.pos += 2
		} else {
			br.pos = len(br.in)
			br.over++
		}
		br.buf |= w << (48 - br.n)
		br.n += 16
	}
}

func (br *lzxBits) read(k uint) uint32 {
	if k == 0 {
		return 0
	}
	br.fill(k)
	v := uint32(br.buf >> (64 - k))
	br.buf <<= k
	br.n -= k
	return v
}

// align drops the rest of the current 16-bit word, or a whole word when
// the stream is already at a word boundary, before raw bytes.
func (br *lzxBits) align() {
	if br.n == 0 {
		br.fill(16)
	}
	br.buf, br.n = 0, 0
}

func (br *lzxBits) rawByte() (byte, bool) {
	if br.pos >= len(br.in) {
		br.over++
		return 0, false
	}
	c := br.in[br.pos]
	br.pos++
	return c, true
}

// lzxTree is a canonical Huffman code of at most 16 bits, decoded a bit at
// a time from counts per length and symbols in code order.
type lzxTree struct {
	count [17]uint16
	syms  []uint16
}

func (t *lzxTree) build(lens []byte) error {
	clear(t.count[:])
	for _, l := range lens {
		t.count[l]++
	}
	left := 1
	for l := 1; l <= 16; l++ {
		left = left<<1 - int(t.count[l])
		if left < 0 {
			return fmt.Errorf("%w: over-subscribed code", errLZX)
		}
	}
	var offs [17]uint16
	for l := 1; l < 16; l++ {
		offs[l+1] = offs[l] + t.count[l]
	}
	n := int(offs[16] + t.count[16])
	if cap(t.syms) < n {
		t.syms = make([]uint16, n)
	}
	t.syms = t.syms[:n]
	for s, l := range lens {
		if l != 0 {
			t.syms[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	return nil
}

func (t *lzxTree) decode(br *lzxBits) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= 16; l++ {
		code |= int(br.read(1))
		c := int(t.count[l])
		if code-first < c {
			return int(t.syms[index+code-first]), nil
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	return 0, fmt.Errorf("%w: bad Huffman code", errLZX)
}
