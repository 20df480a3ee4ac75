package unpack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/glassav/glassav/filetype"
	"github.com/ulikunitz/xz/lzma"
)

// xzFormat opens xz streams; concatenated streams form one member, as xz
// -d writes them.
//
// The container is read here and only the LZMA2 data of each block is
// given to ulikunitz/xz's decoder: its own xz reader allocates whatever
// dictionary a block header asks for (up to 4 GiB), which one forged
// byte would turn into a memory bomb. Here the dictionary is cut to what
// the member can use: no match reaches further back than the bytes the
// limits let the member have.
func xzFormat() *Format {
	return &Format{Name: "xz", Types: []filetype.Type{filetype.XZ}, Unpack: unpackXz}
}

// xzMaxDict bounds the dictionary of any stream: xz -9 uses 64 MiB. A
// stream that needs more fails as corrupt after what it could decode.
const xzMaxDict = 64 << 20

func unpackXz(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	xr, err := newXzReader(data, b.Limits().MaxFileSize)
	if err != nil {
		return Corrupt("xz", 0, "%v", err)
	}
	return emitRead(ctx, b, xr, int64(len(data)), Member{Offset: -1}, "xz", -1, emit)
}

const (
	xzMagic  = "\xfd7zXZ\x00"
	xzLZMA2  = 0x21
	xzFooter = "YZ"
)

var errXz = errors.New("invalid xz data")

// xzReader decodes the blocks of one or more concatenated xz streams.
type xzReader struct {
	sr      *sliceReader
	total   int
	maxDict int
	check   int           // bytes of each block's check
	block   *lzma.Reader2 // the block being decoded, or nil
	start   int           // offset of the current block's header
}

func newXzReader(data []byte, limit int64) (*xzReader, error) {
	x := &xzReader{sr: &sliceReader{data: data}, total: len(data), maxDict: int(min(limit, xzMaxDict))}
	x.maxDict = max(x.maxDict, lzma.MinDictCap)
	if err := x.streamHeader(); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *xzReader) pos() int { return x.total - len(x.sr.data) }

// streamHeader reads the 12-byte stream header: magic, flags, CRC32.
func (x *xzReader) streamHeader() error {
	d := x.sr.data
	if len(d) < 12 || string(d[:6]) != xzMagic {
		return fmt.Errorf("at %d: no xz stream header", x.pos())
	}
	if d[6] != 0 || d[7] > 15 {
		return fmt.Errorf("at %d: unsupported stream flags %#x", x.pos(), d[7])
	}
	x.check = xzCheckSize(d[7])
	x.sr.data = d[12:]
	return nil
}

// xzCheckSize is the size of a block check of type t: none, CRC32,
// CRC64, SHA-256, and the sizes reserved for the types in between.
func xzCheckSize(t byte) int {
	if t == 0 {
		return 0
	}
	return 4 << ((t - 1) / 3)
}

// Read decodes the next bytes, moving from block to block and stream to
// stream.
func (x *xzReader) Read(p []byte) (int, error) {
	for {
		if x.block != nil {
			n, err := x.block.Read(p)
			if err == io.EOF {
				x.block = nil
				if err := x.endBlock(); err != nil {
					return n, err
				}
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		more, err := x.nextBlock()
		if err != nil {
			return 0, err
		}
		if !more {
			return 0, io.EOF
		}
	}
}

// endBlock skips the block padding (to a multiple of 4 from the block's
// header) and its check.
func (x *xzReader) endBlock() error {
	pad := (4 - (x.pos()-x.start)%4) % 4
	skip := pad + x.check
	if len(x.sr.data) < skip {
		return io.ErrUnexpectedEOF
	}
	x.sr.data = x.sr.data[skip:]
	return nil
}

// nextBlock starts the next block, or reads the index, footer and any
// further streams; it reports whether there is a block to decode.
func (x *xzReader) nextBlock() (bool, error) {
	for {
		d := x.sr.data
		if len(d) == 0 {
			return false, io.ErrUnexpectedEOF
		}
		if d[0] != 0 {
			return true, x.blockHeader()
		}
		// The index: its records are not needed; the footer that follows
		// is found by the backward size it states.
		if err := x.skipIndex(); err != nil {
			return false, err
		}
		// Stream padding, then another stream or the end.
		d = x.sr.data
		for len(d) >= 4 && binary.LittleEndian.Uint32(d) == 0 {
			d = d[4:]
		}
		x.sr.data = d
		if len(d) == 0 {
			return false, nil
		}
		if err := x.streamHeader(); err != nil {
			return false, err
		}
	}
}

// skipIndex skips the index and the stream footer, which ends with "YZ"
// and states the index size.
func (x *xzReader) skipIndex() error {
	d := x.sr.data
	// The footer's backward size locates it: scan for the first "YZ" at
	// a footer position whose backward size matches.
	for i := 4; i+12 <= len(d); i += 4 {
		if string(d[i+10:i+12]) != xzFooter {
			continue
		}
		back := (int(binary.LittleEndian.Uint32(d[i+4:])) + 1) * 4
		if back == i {
			x.sr.data = d[i+12:]
			return nil
		}
	}
	return fmt.Errorf("at %d: index without a stream footer", x.pos())
}

// blockHeader reads a block header and starts its LZMA2 decoder.
func (x *xzReader) blockHeader() error {
	x.start = x.pos()
	d := x.sr.data
	size := (int(d[0]) + 1) * 4
	if len(d) < size {
		return io.ErrUnexpectedEOF
	}
	h := d[1 : size-4]
	flags := h[0]
	if flags&0x3c != 0 {
		return fmt.Errorf("at %d: reserved block flags %#x", x.start, flags)
	}
	h = h[1:]
	var err error
	if flags&0x40 != 0 {
		if _, h, err = xzVarint(h); err != nil {
			return err
		}
	}
	if flags&0x80 != 0 {
		if _, h, err = xzVarint(h); err != nil {
			return err
		}
	}
	if n := int(flags&3) + 1; n != 1 {
		return fmt.Errorf("at %d: %d filters; only LZMA2 alone is supported", x.start, n)
	}
	id, h, err := xzVarint(h)
	if err != nil {
		return err
	}
	psize, h, err := xzVarint(h)
	if err != nil {
		return err
	}
	if id != xzLZMA2 || psize != 1 || len(h) < 1 {
		return fmt.Errorf("at %d: filter %#x; only LZMA2 is supported", x.start, id)
	}
	dict, err := lzma.DecodeDictCap(h[0])
	if err != nil {
		return fmt.Errorf("at %d: %v", x.start, err)
	}
	// A dictionary larger than the member may grow serves nothing.
	dict = max(min(dict, int64(x.maxDict)), lzma.MinDictCap)
	x.sr.data = d[size:]
	r, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(x.sr)
	if err != nil {
		return fmt.Errorf("at %d: %v", x.start, err)
	}
	x.block = r
	return nil
}

// xzVarint decodes one of xz's multibyte integers from the start of b.
func xzVarint(b []byte) (uint64, []byte, error) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, b[i+1:], nil
		}
	}
	return 0, nil, errXz
}
