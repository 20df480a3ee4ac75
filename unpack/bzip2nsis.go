package unpack

import (
	"errors"
	"fmt"
	"io"
)

// nsisBzip2Reader decodes the bzip2 variant NSIS writes: the blocks of bzip2
// (Burrows-Wheeler transform, move-to-front, Huffman coding, run-length
// coding before and after) without the stream header, each block opened
// by the single byte 0x31 instead of the 48-bit block magic and without
// the block CRC and randomisation bit, the stream closed by the byte
// 0x17 without the stream CRC. Go's compress/bzip2 insists on the full
// framing and the CRCs, hence this decoder. Blocks hold at most 900,000
// bytes (NSIS compresses at level 9), so memory stays under 4 MB, and a
// small block takes little.
type nsisBzip2Reader struct {
	br msbBits

	tt     []uint32 // the inverse transform's vector, reused by the next block
	tPos   uint32   // the next entry of tt to output
	left   int      // bytes of the block still to take from tt
	last   int      // the previous byte output, -1 at a block's start
	same   int      // how many times in a row last came
	repeat int      // copies of last still owed by a run
	done   bool
	err    error
}

const (
	bz2BlockMax  = 900000
	bz2MaxGroups = 6
	bz2MaxAlpha  = 258
	bz2MaxCode   = 20
	bz2GroupSize = 50
	// bz2MaxSelectors is bzip2 1.0.8's bound: encoders never need more,
	// and extra ones are read but ignored.
	bz2MaxSelectors = 18002
)

var errBz2 = errors.New("nsis bzip2: corrupt block")

func newNSISBzip2(src []byte) *nsisBzip2Reader {
	return &nsisBzip2Reader{br: msbBits{data: src}, last: -1}
}

// remaining returns the input bytes not yet read.
func (z *nsisBzip2Reader) remaining() int { return len(z.br.data) - z.br.pos }

func (z *nsisBzip2Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if z.repeat > 0 {
			p[n] = byte(z.last)
			n++
			z.repeat--
			continue
		}
		if z.left == 0 {
			if z.err != nil || z.done {
				break
			}
			if n > 0 {
				// Hand over what is decoded before the next block's work.
				return n, nil
			}
			if err := z.block(); err != nil {
				z.err = err
				break
			}
			continue
		}
		z.tPos = z.tt[z.tPos]
		c := int(z.tPos & 0xff)
		z.tPos >>= 8
		z.left--
		if z.same == 4 {
			// After four equal bytes the next one counts further copies.
			z.repeat = c
			z.same = 0
			continue
		}
		if c == z.last {
			z.same++
		} else {
			z.last, z.same = c, 1
		}
		p[n] = byte(c)
		n++
	}
	if n > 0 {
		return n, nil
	}
	if z.err != nil {
		return 0, z.err
	}
	return 0, io.EOF
}

// block reads the next block header and decodes the block into tt, or
// notes the end of the stream.
func (z *nsisBzip2Reader) block() error {
	br := &z.br
	switch m := br.bits(8); {
	case br.err != nil:
		return io.ErrUnexpectedEOF
	case m == 0x17:
		z.done = true
		return nil
	case m != 0x31:
		return fmt.Errorf("nsis bzip2: block marker %#x", m)
	}
	origPtr := int(br.bits(24))

	// The bytes the block uses, in two levels of 16-bit maps.
	var seqToByte [256]byte
	nInUse := 0
	used := br.bits(16)
	for i := 0; i < 16; i++ {
		if used&(0x8000>>i) == 0 {
			continue
		}
		bitsUsed := br.bits(16)
		for j := 0; j < 16; j++ {
			if bitsUsed&(0x8000>>j) != 0 {
				seqToByte[nInUse] = byte(i*16 + j)
				nInUse++
			}
		}
	}
	if br.err != nil {
		return io.ErrUnexpectedEOF
	}
	if nInUse == 0 {
		return fmt.Errorf("%w: no symbols", errBz2)
	}
	alphaSize := nInUse + 2

	nGroups := int(br.bits(3))
	nSelectors := int(br.bits(15))
	if nGroups < 2 || nGroups > bz2MaxGroups || nSelectors < 1 {
		return fmt.Errorf("%w: %d tables, %d selectors", errBz2, nGroups, nSelectors)
	}
	// Selectors, move-to-front coded in unary.
	mtfGroups := [bz2MaxGroups]byte{0, 1, 2, 3, 4, 5}
	selectors := make([]byte, 0, min(nSelectors, bz2MaxSelectors))
	for i := 0; i < nSelectors; i++ {
		j := 0
		for br.bits(1) == 1 {
			j++
			if j >= nGroups {
				return fmt.Errorf("%w: selector out of range", errBz2)
			}
		}
		if br.err != nil {
			return io.ErrUnexpectedEOF
		}
		g := mtfGroups[j]
		copy(mtfGroups[1:j+1], mtfGroups[:j])
		mtfGroups[0] = g
		if i < bz2MaxSelectors {
			selectors = append(selectors, g)
		}
	}

	// The code lengths of each table, delta coded.
	var tables [bz2MaxGroups]bz2Table
	var lengths [bz2MaxAlpha]uint8
	for t := 0; t < nGroups; t++ {
		cur := int(br.bits(5))
		for s := 0; s < alphaSize; s++ {
			for {
				if cur < 1 || cur > bz2MaxCode {
					return fmt.Errorf("%w: code length %d", errBz2, cur)
				}
				if br.bits(1) == 0 {
					break
				}
				if br.bits(1) == 0 {
					cur++
				} else {
					cur--
				}
				if br.err != nil {
					return io.ErrUnexpectedEOF
				}
			}
			lengths[s] = uint8(cur)
		}
		tables[t].build(lengths[:alphaSize])
	}
	if br.err != nil {
		return io.ErrUnexpectedEOF
	}

	// The symbols: runs of the front byte (RUNA, RUNB), move-to-front
	// indexes, end of block.
	// tt grows with the block, so a small block costs little.
	tt := z.tt[:0]
	var mtf [256]byte
	for i := range mtf {
		mtf[i] = byte(i)
	}
	var counts [256]int
	eob := nInUse + 1
	nblock, run, runWeight := 0, 0, 1
	flushRun := func() error {
		if run == 0 {
			return nil
		}
		if run > bz2BlockMax-nblock {
			return fmt.Errorf("%w: block over %d bytes", errBz2, bz2BlockMax)
		}
		c := seqToByte[mtf[0]]
		counts[c] += run
		nblock += run
		for ; run > 0; run-- {
			tt = append(tt, uint32(c))
		}
		runWeight = 1
		return nil
	}
	for sel, inGroup := 0, 0; ; inGroup++ {
		if inGroup == bz2GroupSize {
			inGroup = 0
			sel++
		}
		if sel >= len(selectors) {
			return fmt.Errorf("%w: out of selectors", errBz2)
		}
		sym, ok := tables[selectors[sel]].decode(br)
		if !ok {
			if br.err != nil {
				return io.ErrUnexpectedEOF
			}
			return fmt.Errorf("%w: bad Huffman code", errBz2)
		}
		if sym <= 1 { // RUNA, RUNB
			if runWeight > bz2BlockMax {
				return fmt.Errorf("%w: run too long", errBz2)
			}
			run += (sym + 1) * runWeight
			runWeight <<= 1
			continue
		}
		if err := flushRun(); err != nil {
			return err
		}
		if sym == eob {
			break
		}
		if nblock >= bz2BlockMax {
			return fmt.Errorf("%w: block over %d bytes", errBz2, bz2BlockMax)
		}
		idx := sym - 1
		v := mtf[idx]
		copy(mtf[1:idx+1], mtf[:idx])
		mtf[0] = v
		c := seqToByte[v]
		counts[c]++
		tt = append(tt, uint32(c))
		nblock++
	}
	z.tt = tt
	if origPtr >= nblock {
		return fmt.Errorf("%w: origin %d of %d bytes", errBz2, origPtr, nblock)
	}

	// The inverse transform: link each byte to its successor.
	var start [256]int
	sum := 0
	for c := range counts {
		start[c] = sum
		sum += counts[c]
	}
	for i := 0; i < nblock; i++ {
		c := tt[i] & 0xff
		tt[start[c]] |= uint32(i) << 8
		start[c]++
	}
	z.tPos = tt[origPtr] >> 8
	z.left = nblock
	z.last, z.same = -1, 0
	return nil
}

// msbBits reads bits most significant first, keeping up to 64 bits
// ahead; past the end of the data it reads zeros, and err is set once a
// bit that is not in the data is consumed.
type msbBits struct {
	data  []byte
	pos   int
	acc   uint64
	nbits uint // bits held in acc
	pad   uint // zero bits held in acc that are past the data's end
	err   error
}

// fill tops acc up to more than 56 bits.
func (b *msbBits) fill() {
	for b.nbits <= 56 {
		if b.pos < len(b.data) {
			b.acc = b.acc<<8 | uint64(b.data[b.pos])
			b.pos++
		} else {
			b.acc <<= 8
			b.pad += 8
		}
		b.nbits += 8
	}
}

// peek returns the next n bits (n <= 32) without consuming them.
func (b *msbBits) peek(n uint) uint32 {
	if b.nbits < n {
		b.fill()
	}
	return uint32(b.acc>>(b.nbits-n)) & (1<<n - 1)
}

// skip consumes n bits that peek has made available.
func (b *msbBits) skip(n uint) {
	b.nbits -= n
	if b.nbits < b.pad {
		b.err = io.ErrUnexpectedEOF
	}
}

func (b *msbBits) bits(n uint) uint32 {
	v := b.peek(n)
	b.skip(n)
	return v
}

// bz2LookupBits is the width of the table that decodes short codes in
// one step.
const bz2LookupBits = 10

// bz2Table decodes canonical Huffman codes as bzip2 assigns them: codes
// of each length consecutive in symbol order, lengths from short to long.
// Codes of up to bz2LookupBits bits are looked up; longer ones are found
// length by length.
type bz2Table struct {
	count  [bz2MaxCode + 1]int32 // codes of each length
	first  [bz2MaxCode + 1]int32 // the first code of each length
	index  [bz2MaxCode + 1]int32 // where that length's symbols start in perm
	perm   [bz2MaxAlpha]uint16
	lookup [1 << bz2LookupBits]uint16 // symbol<<5 | length, 0 for longer codes
}

func (h *bz2Table) build(lengths []uint8) {
	*h = bz2Table{}
	for _, l := range lengths {
		h.count[l]++
	}
	n := 0
	for l := 1; l <= bz2MaxCode; l++ {
		for s, sl := range lengths {
			if int(sl) == l {
				h.perm[n] = uint16(s)
				n++
			}
		}
	}
	code, idx := int32(0), int32(0)
	for l := 1; l <= bz2MaxCode; l++ {
		h.first[l], h.index[l] = code, idx
		if l <= bz2LookupBits {
			for k := int32(0); k < h.count[l]; k++ {
				c := code + k
				if c >= 1<<l {
					break // over-subscribed: decode fails on such codes
				}
				lo := c << (bz2LookupBits - l)
				for j := lo; j < lo+1<<(bz2LookupBits-l); j++ {
					h.lookup[j] = h.perm[idx+k]<<5 | uint16(l)
				}
			}
		}
		code = (code + h.count[l]) << 1
		idx += h.count[l]
	}
}

func (h *bz2Table) decode(br *msbBits) (int, bool) {
	if e := h.lookup[br.peek(bz2LookupBits)]; e != 0 {
		br.skip(uint(e & 31))
		return int(e >> 5), br.err == nil
	}
	for l := bz2LookupBits + 1; l <= bz2MaxCode; l++ {
		code := int32(br.peek(uint(l)))
		if d := code - h.first[l]; d >= 0 && d < h.count[l] {
			br.skip(uint(l))
			return int(h.perm[h.index[l]+d]), br.err == nil
		}
	}
	return 0, false
}
