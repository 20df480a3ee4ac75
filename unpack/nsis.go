package unpack

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/glassav/glassav/filetype"
	"github.com/ulikunitz/xz/lzma"
)

// nsisFormat opens Nullsoft (NSIS) installers the way ClamAV's nulsft
// scanner does. An installer is a Windows executable stub followed by an
// archive that starts with a 28-byte first header (flags, 0xDEADBEEF,
// "NullsoftInst", the installer script's size, the archive's size). Its
// data is either a run of blocks — a 32-bit length whose top bit says the
// block is compressed, then the bytes — or, when built with /SOLID, one
// compressed stream holding length-prefixed blocks. The first block is
// the compiled script ("headers"), the others are the files it installs,
// named by the script where it says (nsisscript.go), else content.001,
// content.002... as ClamAV names them. Compression is raw deflate,
// NSIS's bzip2 variant (bzip2nsis.go) or LZMA with a 5-byte properties
// prefix, guessed from the first bytes of the blocks.
//
// ClamAV finds the archive by the "\xEF\xBE\xAD\xDENullsoftInst" marker
// anywhere in an executable (its file-type scan), so the format runs
// inside Windows executables (Within MSEXE) rather than on a type of its
// own: clamscan 1.4 does not open an archive outside an executable.
func nsisFormat() *Format {
	return &Format{
		Name:   "nsis",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: nsisDetect,
		Unpack: unpackNSIS,
	}
}

// nsisMarker follows the 4-byte flags field of the first header.
const nsisMarker = "\xef\xbe\xad\xdeNullsoftInst"

const (
	nsisFirstHeader = 28
	// nsisMaxArchives bounds the archives opened in one object: ClamAV
	// opens one per marker its type scan finds.
	nsisMaxArchives = 8
	// nsisCompressed is the length bit of a compressed block.
	nsisCompressed = 0x80000000
)

// nsisComp is a compression method.
type nsisComp int

const (
	nsisBzip2 nsisComp = iota + 1
	nsisLZMA
	nsisZlib
)

func (c nsisComp) String() string {
	switch c {
	case nsisBzip2:
		return "bzip2"
	case nsisLZMA:
		return "lzma"
	case nsisZlib:
		return "zlib"
	}
	return "unknown"
}

func nsisDetect(data []byte) bool {
	return bytes.Index(data, []byte(nsisMarker)) >= 4
}

func unpackNSIS(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	var first error
	from, n := 0, 0
	for n < nsisMaxArchives {
		i := bytes.Index(data[from:], []byte(nsisMarker))
		if i < 0 {
			break
		}
		at := from + i
		from = at + len(nsisMarker)
		if at < 4 {
			continue
		}
		n++
		end, err := unpackNSISArchive(ctx, data, at-4, b, emit)
		if err != nil && !errors.As(err, new(*FormatError)) && !memberLimited(err) {
			return err // a limit, the context, or emit's error
		}
		keepFirst(&first, err)
		// A marker inside this archive's data is not another archive.
		from = max(from, end)
	}
	return first
}

// nsisArchive is one archive being read.
type nsisArchive struct {
	data  []byte // from the first header to the end of the object
	off   int64  // of the first header in the object, for errors
	size  int64  // the archive's bytes after the first header
	solid bool
	comp  nsisComp
	trunc bool // the object ends before the archive's stated size

	// script names the files by the position of their blocks after the
	// script's block, which ends at dataStart.
	script    *nsisScript
	dataStart int64
}

// memberName names the n-th block, which starts at the position at.
func (a *nsisArchive) memberName(n int, at int64) string {
	if n > 0 {
		if name, ok := a.script.name(at - a.dataStart); ok {
			return name
		}
	}
	return nsisMemberName(n)
}

// readsScript wraps emit, for the script's block, to read the files'
// names from it.
func (a *nsisArchive) readsScript(n int, emit func(Member) error) func(Member) error {
	if n != 0 {
		return emit
	}
	return func(m Member) error {
		a.script = parseNSISScript(m.Data)
		return emit(m)
	}
}

func (a *nsisArchive) corrupt(at int64, format string, args ...any) error {
	return Corrupt("nsis", a.off+at, format, args...)
}

// unpackNSISArchive reads the archive whose first header starts at off
// and returns where the archive ends.
func unpackNSISArchive(ctx context.Context, data []byte, off int, b *Budget, emit func(Member) error) (int, error) {
	a := &nsisArchive{data: data[off:], off: int64(off)}
	if len(a.data) < nsisFirstHeader {
		return off, a.corrupt(0, "first header needs %d bytes, %d left", nsisFirstHeader, len(a.data))
	}
	le := binary.LittleEndian
	asz := int64(le.Uint32(a.data[0x18:]))
	if asz < nsisFirstHeader {
		return off, a.corrupt(0x18, "archive size %d is shorter than the first header", asz)
	}
	if asz > int64(len(a.data)) {
		// ClamAV goes on with what there is.
		asz = int64(len(a.data))
		a.trunc = true
	}
	a.size = asz - nsisFirstHeader
	end := off + int(asz)
	if err := a.guess(ctx, b); err != nil {
		return end, err
	}
	var err error
	if a.solid {
		err = a.unpackSolid(ctx, b, emit)
	} else {
		err = a.unpackBlocks(ctx, b, emit)
	}
	if err == nil && a.trunc {
		err = a.corrupt(0x18, "archive of %d bytes truncated to %d", le.Uint32(a.data[0x18:]), len(a.data))
	}
	return end, err
}

// nsisDetComp guesses the compression of a stream from its first four
// bytes: NSIS's bzip2 starts with its block marker, the byte '1',
// LZMA with the properties byte 0x5D and a dictionary size whose low
// three bytes are zero; anything else is raw deflate.
func nsisDetComp(p []byte) nsisComp {
	if p[0] == '1' {
		return nsisBzip2
	}
	if binary.LittleEndian.Uint32(p)&^nsisCompressed == 0x5d {
		return nsisLZMA
	}
	return nsisZlib
}

// guess decides, as ClamAV does, whether the archive is solid and how it
// is compressed: it walks the data as a chain of length-prefixed blocks;
// a length running past the archive's end means the data is one solid
// stream. The compression of a solid stream is guessed from its first
// bytes, that of blocks by a vote among the compressed ones.
func (a *nsisArchive) guess(ctx context.Context, b *Budget) error {
	d := a.data[nsisFirstHeader:]
	le := binary.LittleEndian
	var votes [4]int
	pos, blocks := int64(0), 0
	// The last four bytes are the archive's CRC, not a block.
	for ; pos <= a.size && a.size-pos > 4; blocks++ {
		if blocks&0xfff == 0xfff {
			if err := b.Check(ctx); err != nil {
				return err
			}
		}
		if pos+4 > int64(len(d)) {
			return a.corrupt(nsisFirstHeader+pos, "block table truncated")
		}
		raw := le.Uint32(d[pos:])
		next := int64(raw &^ nsisCompressed)
		if blocks == 0 {
			a.comp = nsisDetComp(d[pos:])
		}
		pos += 4
		if raw&nsisCompressed != 0 {
			if next < 4 || a.size-pos < 4 || pos+4 > int64(len(d)) {
				return a.corrupt(nsisFirstHeader+pos-4, "compressed block of %d bytes is invalid", next)
			}
			votes[nsisDetComp(d[pos:])]++
			next -= 4
			pos += 4
		}
		if next > a.size-pos {
			a.solid = true
			break
		}
		pos += next
	}
	if a.trunc && blocks >= 2 {
		// A truncated archive ends in a block cut short, which looks like a
		// solid stream; two whole blocks before it say it is not.
		a.solid = false
	}
	if !a.solid {
		bz, lz, zl := votes[nsisBzip2], votes[nsisLZMA], votes[nsisZlib]
		switch {
		case bz < lz && lz < zl, bz >= lz && bz < zl:
			a.comp = nsisZlib
		case bz < lz:
			a.comp = nsisLZMA
		default:
			a.comp = nsisBzip2
		}
	}
	return nil
}

// nsisMemberName is ClamAV's name for the n-th block.
func nsisMemberName(n int) string {
	if n == 0 {
		return "headers"
	}
	return fmt.Sprintf("content.%03d", n)
}

// unpackBlocks reads a non-solid archive, one block after the other.
func (a *nsisArchive) unpackBlocks(ctx context.Context, b *Budget, emit func(Member) error) error {
	le := binary.LittleEndian
	pos := int64(nsisFirstHeader) // in a.data
	left := a.size
	var first error
	for n := 0; ; n++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if left == 0 || left == 4 {
			return first // the end, or the CRC
		}
		if left < 4 {
			return a.corrupt(pos, "archive trailer of %d bytes", left)
		}
		if pos+4 > int64(len(a.data)) {
			return a.corrupt(pos, "block length truncated")
		}
		at := pos
		raw := le.Uint32(a.data[pos:])
		pos += 4
		size := int64(raw &^ nsisCompressed)
		if size == 0 {
			left -= 4
			continue // an empty file
		}
		if size > left-4 {
			return a.corrupt(pos-4, "block %d of %d bytes runs past the archive's end", n, size)
		}
		left -= size + 4
		blk := a.data[pos : pos+size]
		m := Member{Name: a.memberName(n, at), Offset: -1}
		var err error
		if raw&nsisCompressed == 0 {
			m.Offset = a.off + pos
			err = emitStored(b, blk, m, a.readsScript(n, emit))
		} else {
			err = a.emitCompressed(ctx, b, blk, pos, m, a.readsScript(n, emit))
		}
		pos += size
		if n == 0 {
			a.dataStart = pos
		}
		switch {
		case err == nil:
		case memberLimited(err):
			keepFirst(&first, err)
		default:
			return err
		}
	}
}

// emitCompressed decompresses one block of a non-solid archive.
func (a *nsisArchive) emitCompressed(ctx context.Context, b *Budget, blk []byte, pos int64, m Member, emit func(Member) error) error {
	r, _, err := nsisReader(a.comp, blk, memberBound(b, int64(len(blk))))
	if err != nil {
		return a.corrupt(pos, "%s %s: %v", m.Name, a.comp, err)
	}
	err = emitRead(ctx, b, r, int64(len(blk)), m, "nsis", a.off+pos, emit)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.Format == "nsis" {
			return a.corrupt(pos, "%s %s: %v", m.Name, a.comp, fe.Err)
		}
	}
	return err
}

// unpackSolid reads a solid archive: one stream of blocks, each a 32-bit
// length and the bytes.
func (a *nsisArchive) unpackSolid(ctx context.Context, b *Budget, emit func(Member) error) error {
	stream := a.data[nsisFirstHeader : nsisFirstHeader+a.size]
	r, remaining, err := nsisReader(a.comp, stream, min(b.Limits().MaxScanSize, memberBound(b, a.size)*16))
	if err != nil {
		return a.corrupt(nsisFirstHeader, "solid %s stream: %v", a.comp, err)
	}
	var first error
	var lenbuf [4]byte
	at := int64(0) // in the decompressed stream
	for n := 0; ; n++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		k, err := io.ReadFull(r, lenbuf[:])
		if err != nil {
			// The stream ends between blocks: at its end marker, or,
			// as ClamAV decides, once no more than the CRC is left.
			if k == 0 && (err == io.EOF || remaining() <= 4) {
				return first
			}
			return a.corrupt(nsisFirstHeader, "solid %s stream: length of block %d: %v", a.comp, n, err)
		}
		size := int64(binary.LittleEndian.Uint32(lenbuf[:]))
		m := Member{Name: a.memberName(n, at), Offset: -1}
		at += 4 + size
		if n == 0 {
			a.dataStart = at
		}
		if size == 0 {
			continue // an empty file
		}
		lr := &io.LimitedReader{R: r, N: size}
		data, err := b.ReadSized(ctx, lr, a.size, size)
		if len(data) > 0 {
			m.Data = data
			if eerr := a.readsScript(n, emit)(m); eerr != nil {
				return eerr
			}
		}
		switch {
		case err == nil && lr.N > 0:
			return a.corrupt(nsisFirstHeader, "solid %s stream: %s ends after %d of %d bytes", a.comp, m.Name, len(data), size)
		case err == nil:
		case memberLimited(err):
			// Skip the rest of the member to reach the next one.
			keepFirst(&first, err)
			if derr := discard(ctx, b, lr); derr != nil {
				return classify(derr, "nsis", a.off+nsisFirstHeader)
			}
		default:
			return classify(err, "nsis", a.off+nsisFirstHeader)
		}
	}
}

// discard reads r to its end, checking the budget's clock.
func discard(ctx context.Context, b *Budget, r io.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		_, err := r.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// memberBound is the most bytes the budget lets one member of packed
// compressed bytes grow to (see Budget.ReadSized): decoders size their
// windows by it, never by what the input claims.
func memberBound(b *Budget, packed int64) int64 {
	l := b.Limits()
	bound := l.MaxFileSize
	if packed >= 0 && packed*l.MaxRatio > l.RatioFloor {
		bound = min(bound, packed*l.MaxRatio)
	}
	return bound + 1
}

// nsisReader returns a decompressor of src and a function that tells how
// many input bytes the decoder has not read yet; bound caps the LZMA
// dictionary, which a stream never needs larger than its output.
func nsisReader(comp nsisComp, src []byte, bound int64) (io.Reader, func() int, error) {
	switch comp {
	case nsisZlib:
		in := &sliceReader{data: src}
		return flate.NewReader(in), func() int { return len(in.data) }, nil
	case nsisBzip2:
		z := newNSISBzip2(src)
		return z, z.remaining, nil
	case nsisLZMA:
		if len(src) < 5 {
			return nil, nil, fmt.Errorf("%d bytes, no room for the LZMA properties", len(src))
		}
		var hdr [lzma.HeaderLen]byte
		copy(hdr[:5], src[:5])
		dict := int64(binary.LittleEndian.Uint32(src[1:5]))
		dict = max(min(dict, bound, lzma.MaxDictCap), lzma.MinDictCap)
		binary.LittleEndian.PutUint32(hdr[1:5], uint32(dict))
		binary.LittleEndian.PutUint64(hdr[5:], ^uint64(0)) // size unknown
		in := &sliceReader{data: src[5:]}
		r, err := lzma.ReaderConfig{DictCap: int(dict)}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), in))
		return r, func() int { return len(in.data) }, err
	}
	return nil, nil, fmt.Errorf("unknown compression %d", comp)
}
