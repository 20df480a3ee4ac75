package unpack

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/glassav/glassav/filetype"
)

// MEW 11 packs a program into two sections: an empty one (no bytes in the
// file) as large as the unpacked program, and one holding the loader and
// the packed data. The entry point jumps to the loader, which the packer
// puts at file offset 0x154 (0x158 when "Win9x compatibility" is off), in
// the PE header's padding. The loader's first instruction loads the
// address of a record in the second section: the original entry point,
// the address the first block unpacks to, then the blocks themselves,
// each the aPLib-style stream (see aplib.go) followed by the address the
// next block unpacks to, zero after the last.
//
// In its LZMA mode the blocks unpack the LZMA decoder, and the record
// after the last one describes LZMA streams: the address of the decoder's
// probability model, then per stream its unpacked size, its address, its
// packed size and the stream, a zero size ending the list. A "special"
// variant (told by a push eax in the decoder) has one stream, preceded by
// the size of a region of x86 calls whose big-endian absolute targets the
// loader turns back into relative ones.
//
// As ClamAV does (mew.c, the MEW path of pe.c), the unpacker works in one
// buffer laid out like memory from the first section's RVA: the first
// section's size, then the second section's bytes. It rebuilds a PE file
// with one section per block — each from the end of the previous one to
// the end of its own output, page-aligned — or, in LZMA mode, one section
// over the whole first section, and the original entry point.

// mewFormat unpacks MEW-packed executables.
func mewFormat() *Format {
	return &Format{
		Name:   "mew",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { _, ok := mewEntry(viewExe(data)); return ok },
		Unpack: unpackMEW,
	}
}

// The loader's file offsets, with and without Win9x compatibility.
const (
	mewLoader9x = 0x154
	mewLoader   = 0x158
)

// mewLoaderSize is how much of the loader ClamAV reads (and so requires).
const mewLoaderSize = 0xb0

// mewEntry finds what makes an executable MEW's: an empty section followed
// by one with bytes (the pair UPX, FSG and MEW all leave, ClamAV's first
// test: packedSections), and an entry point that jumps to the loader at
// 0x154 or 0x158. It returns the index of the empty section.
func mewEntry(v *exeView) (int, bool) {
	if v == nil {
		return 0, false
	}
	i := packedSections(v)
	if i < 0 || len(v.epbuf) < 16 || v.epbuf[0] != 0xe9 {
		return 0, false
	}
	jmp, _ := v.epU32(1)
	loader := v.vep + jmp + 5
	return i, loader == mewLoader9x || loader == mewLoader
}

// within is ClamAV's containment test on addresses: [sb, sb+sn) is a
// non-empty range inside [bb, bb+bn).
func within(bb, bn, sb, sn uint64) bool {
	return bn > 0 && sn > 0 && sn <= bn && sb >= bb && sb+sn <= bb+bn
}

// le32 reads a little-endian word of b at off, which the caller has
// checked.
func le32(b []byte, off uint64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func unpackMEW(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	const name = "mew"
	if err := b.Check(ctx); err != nil {
		return err
	}
	v := viewExe(data)
	i, ok := mewEntry(v)
	if !ok {
		return Corrupt(name, -1, "not a MEW-packed PE file")
	}
	loader := uint64(v.vep + le32(v.epbuf, 1) + 5)
	if loader+mewLoaderSize > uint64(len(data)) {
		return Corrupt(name, int64(loader), "loader past the end of the file")
	}
	code := data[loader : loader+mewLoaderSize]
	empty, packed := v.sections[i], v.sections[i+1]

	// The loader's first instruction loads the record's address.
	off := le32(code, 1) - v.imageBase
	if off <= packed.rva || off >= packed.rva+packed.raw-4 {
		return Corrupt(name, int64(loader), "record address 0x%x outside the packed section", off)
	}
	off -= packed.rva
	ssize, dsize := packed.vsz, empty.vsz
	if ssize+dsize < ssize || off >= ssize+dsize {
		return Corrupt(name, int64(loader), "record offset 0x%x outside the sections (0x%x+0x%x)", off, dsize, ssize)
	}
	if packed.rsz < off+12 || packed.rsz > ssize {
		return Corrupt(name, int64(packed.raw), "packed section size 0x%x does not fit its record (0x%x) or virtual size (0x%x)", packed.rsz, off, ssize)
	}

	// A call in the loader, 0x7b bytes in, means LZMA mode; its target,
	// as an offset in the buffer, is the LZMA decoder.
	var lzmaAt uint32
	if code[0x7b] == 0xe8 {
		rel := le32(code, 0x7c)
		s1 := v.sections[1]
		if !within(uint64(s1.rva), uint64(s1.vsz), uint64(rel+uint32(loader)+0x80), 4) {
			return Corrupt(name, int64(loader)+0x7b, "LZMA decoder call out of bounds")
		}
		lzmaAt = rel - (v.sections[0].rva - uint32(loader) - 0x80)
	}

	img, err := imageBuffer(b, uint64(ssize)+uint64(dsize), len(data))
	if err != nil {
		return err
	}
	copy(img[dsize:], data[packed.raw:uint64(packed.raw)+uint64(packed.rsz)])
	m := &mewImage{img: img, vma: v.imageBase + v.sections[0].rva, rva: v.sections[0].rva, dsize: dsize, raw: packed.raw}
	if err := m.unpack(ctx, b, off, dsize, lzmaAt); err != nil {
		return err
	}
	p := &peImage{Data: img, Sections: m.sections, ImageBase: v.imageBase, EntryRVA: m.entry - v.imageBase, Align: 0x1000}
	pe, err := p.rebuild(b, name)
	if err != nil {
		return err
	}
	return emitPE(ctx, b, name, pe, emit)
}

// mewImage is the buffer MEW unpacks in: img[0] is the first section's
// RVA (rva), at virtual address vma; the packed section's bytes, from
// file offset raw, start at img[dsize].
type mewImage struct {
	img        []byte
	vma, rva   uint32
	dsize, raw uint32
	sections   []imageSection
	entry      uint32 // the original entry point's virtual address
}

// fileOffset returns the file offset of img[i] when it holds a byte of the
// packed section as read from the file, else -1: where errors point.
func (m *mewImage) fileOffset(i uint64) int64 {
	if i < uint64(m.dsize) || i >= uint64(len(m.img)) {
		return -1
	}
	return int64(i-uint64(m.dsize)) + int64(m.raw)
}

// mewMaxBlocks bounds the blocks of a file outside LZMA mode: the
// rebuilt PE file has one section per block, and at most 96.
const mewMaxBlocks = 96

// mewMaxStreams bounds the LZMA streams (and empty model resets) of a file
// in LZMA mode; MEW writes one or two.
const mewMaxStreams = 1024

// unpack runs the loader's work on the record at dsize+off: the aPLib
// blocks, then in LZMA mode (lzmaAt != 0) the LZMA streams.
func (m *mewImage) unpack(ctx context.Context, b *Budget, off, dsize, lzmaAt uint32) error {
	const name = "mew"
	img, size := m.img, uint64(len(m.img))
	rec := uint64(dsize) + uint64(off)
	m.entry = le32(img, rec+4)
	src := rec + 12
	dst := uint64(le32(img, rec+8) - m.vma)
	sections := []imageSection{{RVA: m.rva}}
	var last uint64    // the end of the last block's output
	var written uint64 // bytes the blocks wrote (LZMA mode)
	for n := 0; ; n++ {
		if lzmaAt == 0 && n == mewMaxBlocks {
			return Corrupt(name, -1, "more than %d blocks", mewMaxBlocks)
		}
		if err := b.Check(ctx); err != nil {
			return err
		}
		if src >= size || dst >= size {
			return Corrupt(name, m.fileOffset(src), "block %d: source (image offset 0x%x) or destination (0x%x) outside the %d-byte image", n, src, dst, size)
		}
		nsrc, ndst, err := aplibDecode(ctx, b, img[src:], img[dst:])
		if err != nil {
			if errors.Is(err, errAPLib) {
				return Corrupt(name, m.fileOffset(src), "block %d: %v after %d bytes", n, err, ndst)
			}
			return err
		}
		next := src + uint64(nsrc) // the next block's address
		if next+4 > size {
			return Corrupt(name, m.fileOffset(next), "block %d: no room for the next block's address", n)
		}
		end := dst + uint64(ndst)
		src, dst = next+4, uint64(le32(img, next)-m.vma)
		if lzmaAt == 0 {
			// A section from the last block's end to this one's, the
			// first from the image's start, page-aligned.
			aligned := peAlign(end, 0x1000)
			if n > 0 && aligned < last {
				return Corrupt(name, m.fileOffset(next), "block %d ends before the previous one", n)
			}
			s := &sections[n]
			s.RawSize = uint32(aligned - last)
			s.VirtualSize = s.RawSize
			if uint64(s.Raw)+uint64(s.RawSize) > uint64(dsize) {
				return Corrupt(name, m.fileOffset(next), "block %d: section 0x%x+0x%x past the first section's 0x%x bytes", n, s.Raw, s.RawSize, dsize)
			}
			sections = append(sections, imageSection{Raw: uint32(aligned), RVA: uint32(aligned) + m.rva})
			last = aligned
		}
		if lzmaAt != 0 {
			// In LZMA mode blocks make no sections; their output is
			// bounded by the image, so a chain of blocks rewriting it
			// over and over ends.
			if written += uint64(ndst); written > size {
				return Corrupt(name, m.fileOffset(next), "block %d: the blocks write more than the %d-byte image", n, size)
			}
		}
		if le32(img, next) == 0 {
			if lzmaAt == 0 {
				m.sections = sections[:n+1]
			}
			break
		}
	}
	if lzmaAt == 0 {
		return nil
	}
	// LZMA mode: one section over the whole first section.
	if uint64(lzmaAt)+8 >= size {
		return Corrupt(name, -1, "LZMA decoder at 0x%x outside the image", lzmaAt)
	}
	if src+29 > size {
		return Corrupt(name, m.fileOffset(src), "LZMA streams' record past the image")
	}
	special := img[uint64(lzmaAt)+8] == 0x50 // push eax
	if err := m.lzma(ctx, b, src, special); err != nil {
		return err
	}
	m.sections = []imageSection{{RVA: m.rva, VirtualSize: dsize, RawSize: dsize}}
	return nil
}

// mewProbsSize is the size in bytes of the LZMA decoder's model in the
// image: LZMA's probabilities for lc=4, lp=0, 16 bits each.
const mewProbsSize = 2 * (plzLiteral + 0x300<<4)

// lzma decodes MEW's LZMA streams from the record at at. Each stream is
// LZMA with lc=4, lp=0, pb=2, its range coder starting after one unused
// byte; the model is reset per stream and, as the loader keeps it in the
// image, written there when the stream ends.
func (m *mewImage) lzma(ctx context.Context, b *Budget, at uint64, special bool) error {
	const name = "mew"
	img, size := m.img, uint64(len(m.img))
	var callsSize uint32
	if special {
		callsSize = le32(img, at)
		at += 4
	}
	probs := uint64(le32(img, at) - m.vma)
	at += 4
	var callsAt uint64
	var written uint64 // bytes the streams wrote
	for n := 0; ; n++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if n == mewMaxStreams {
			return Corrupt(name, m.fileOffset(at), "more than %d LZMA streams", mewMaxStreams)
		}
		need := uint64(16)
		if special {
			need = 12
		}
		if !within(0, size, at, need) {
			return Corrupt(name, m.fileOffset(at), "LZMA stream %d: header past the image", n)
		}
		outSize := le32(img, at)
		if outSize == 0 {
			if !special {
				return nil // the list's end
			}
			// A special stream of no bytes: the next header follows.
		}
		dst := uint64(le32(img, at+4) - m.vma)
		packed := uint64(le32(img, at+8))
		stream := at + 13
		at = stream + packed
		if !within(0, size, probs, mewProbsSize) {
			return Corrupt(name, m.fileOffset(probs), "LZMA model outside the image")
		}
		if !within(0, size, stream, 5) {
			return Corrupt(name, m.fileOffset(stream), "LZMA stream %d past the image", n)
		}
		if outSize == 0 {
			// The loader resets the model for every header it reads.
			for i := uint64(0); i < mewProbsSize; i += 2 {
				binary.LittleEndian.PutUint16(img[probs+i:], 0x400)
			}
			continue
		}
		if dst > size || uint64(outSize) > size-dst {
			return Corrupt(name, m.fileOffset(stream), "LZMA stream %d: output 0x%x+0x%x outside the image", n, dst, outSize)
		}
		if written += uint64(outSize); written > size {
			return Corrupt(name, m.fileOffset(stream), "LZMA stream %d: the streams write more than the %d-byte image", n, size)
		}
		d := newPackLZMA(4, 0, 2, img[stream:], 5, 0xffffffff, binary.BigEndian.Uint32(img[stream+1:]))
		_, err := d.decode(ctx, b, img, int(dst), int(dst)+int(outSize), true)
		for i, p := range d.probs {
			binary.LittleEndian.PutUint16(img[probs+2*uint64(i):], p)
		}
		if err != nil {
			if errors.Is(err, errPackLZMA) {
				return Corrupt(name, m.fileOffset(stream), "LZMA stream %d: %v", n, err)
			}
			return err
		}
		callsAt = dst
		if special {
			break
		}
	}
	// The special variant's calls: a big-endian absolute target after
	// each 0xe8/0xe9 byte becomes little-endian relative. A region that
	// does not fit is left alone, as the loader's unpacking succeeded.
	if callsSize < 5 || !within(0, size, callsAt, uint64(callsSize)) {
		return nil
	}
	calls := img[callsAt : callsAt+uint64(callsSize)]
	for i := uint32(0); i < callsSize-5; i++ {
		if c := calls[i]; c == 0xe8 || c == 0xe9 {
			t := binary.BigEndian.Uint32(calls[i+1:])
			binary.LittleEndian.PutUint32(calls[i+1:], t-i-1)
			i += 4
		}
	}
	return nil
}
