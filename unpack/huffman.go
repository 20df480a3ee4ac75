package unpack

import (
	"errors"
	"io"
)

// bitReader reads bits least significant first, as deflate and implode
// pack them, from a byte slice.
type bitReader struct {
	data  []byte
	pos   int    // next byte of data
	bits  uint64 // buffered bits, next bit lowest
	nbits uint
}

var errBitsEOF = io.ErrUnexpectedEOF

// need ensures n ≤ 56 bits are buffered.
func (br *bitReader) need(n uint) error {
	for br.nbits < n {
		if br.pos >= len(br.data) {
			return errBitsEOF
		}
		br.bits |= uint64(br.data[br.pos]) << br.nbits
		br.pos++
		br.nbits += 8
	}
	return nil
}

// take returns the next n ≤ 32 bits.
func (br *bitReader) take(n uint) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if err := br.need(n); err != nil {
		return 0, err
	}
	v := uint32(br.bits & (1<<n - 1))
	br.bits >>= n
	br.nbits -= n
	return v, nil
}

// alignByte drops the bits left in the current byte.
func (br *bitReader) alignByte() {
	drop := br.nbits % 8
	br.bits >>= drop
	br.nbits -= drop
}

// byte returns the next whole byte; call after alignByte.
func (br *bitReader) byte() (byte, error) {
	v, err := br.take(8)
	return byte(v), err
}

// huffman is a canonical prefix code given by code lengths, decoded one
// bit at a time (codes are at most 16 bits): the count of codes of each
// length and the symbols in code order.
type huffman struct {
	count  [17]uint16
	symbol []uint16
}

var errHuffman = errors.New("invalid prefix code lengths")

// newHuffman builds the canonical code of lengths (0: symbol unused). An
// over-subscribed set of lengths is an error; an incomplete one is
// allowed, as zlib allows it for single-code trees.
func newHuffman(lengths []uint8) (*huffman, error) {
	h := &huffman{symbol: make([]uint16, 0, len(lengths))}
	for _, l := range lengths {
		if l > 16 {
			return nil, errHuffman
		}
		h.count[l]++
	}
	left := 1
	for l := 1; l <= 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return nil, errHuffman
		}
	}
	var offs [17]int
	for l := 1; l < 16; l++ {
		offs[l+1] = offs[l] + int(h.count[l])
	}
	h.symbol = h.symbol[:offs[16]+int(h.count[16])]
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.count[0] = 0
	return h, nil
}

// decode reads one symbol. invert flips every input bit, for implode,
// whose Shannon-Fano codes are stored complemented.
func (h *huffman) decode(br *bitReader, invert bool) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= 16; l++ {
		b, err := br.take(1)
		if err != nil {
			return 0, err
		}
		if invert {
			b ^= 1
		}
		code |= int(b)
		n := int(h.count[l])
		if code-n < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += n
		first += n
		first <<= 1
		code <<= 1
	}
	return 0, errHuffman
}
