package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"

	"github.com/glassav/glassav/filetype"
	"github.com/ulikunitz/xz/lzma"
)

// upxFormat unpacks Windows programs packed by UPX, as ClamAV 1.4 does.
//
// A UPX-packed PE32 file has an empty section (UPX0: virtual size, no raw
// bytes), where the loader unpacks the program, followed by the packed
// section (UPX1) holding the compressed image and, at the entry point,
// the loader. ClamAV treats any PE whose first empty section is followed
// by a section with raw bytes as possibly compressed; for UPX it
//
//   - reads the decompressor from the loader code near the entry point
//     (NRV2B, NRV2D or NRV2E; the compressed data may start a few bytes
//     into UPX1: the "skew" the loader's first instruction names), or
//     tries each in turn; LZMA loaders are recognised by their own code,
//     which also holds the unpacked size and LZMA's lc/lp/pb;
//   - decompresses UPX1 into a buffer of UPX0's and UPX1's virtual size;
//   - finds the original PE header, which UPX keeps after the compressed
//     import table the loader's "lea edi, [esi+imports]" points at (or,
//     failing that, by scanning the image backwards for a PE header), and
//     rebuilds the file from it: each original section laid out at its
//     virtual size, the file alignment set to the section alignment;
//   - failing that, wraps the whole image into one section;
//   - and scans the result as a new executable.
//
// The rebuilt file is one member named "upx", typed as an executable.
// PE32+ (64-bit) UPX files are not unpacked, as in ClamAV 1.4.
func upxFormat() *Format {
	return &Format{
		Name:   "upx",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: upxDetect,
		Unpack: unpackUPX,
	}
}

// The loader code ClamAV recognises: byte strings of UPX's i386 PE
// loader, around its decompression loop for the NRV methods (the 13
// bytes at entry point + 0x69, or 8 bytes later, must occur in them) and
// at fixed places for LZMA.
var (
	// adc ebx,ebx; adc ecx,ecx; add ebx,ebx; jnz; mov ebx,[esi]; sub esi,-4; adc ebx,ebx; adc ecx,ecx; adc ecx,ecx; jnz; inc ecx; add ebx,ebx
	upxNRV2B = []byte("\x11\xdb\x11\xc9\x01\xdb\x75\x07\x8b\x1e\x83\xee\xfc\x11\xdb\x11\xc9\x11\xc9\x75\x20\x41\x01\xdb")
	// xor eax,-1; jz; sar eax,1; mov ebp,eax; jmp; add ebx,ebx; jnz; mov ebx,[esi]; sub esi,-4; adc ebx,ebx; adc ecx,ecx
	upxNRV2D = []byte("\x83\xf0\xff\x74\x78\xd1\xf8\x89\xc5\xeb\x0b\x01\xdb\x75\x07\x8b\x1e\x83\xee\xfc\x11\xdb\x11\xc9")
	// jmp; xor ecx,ecx; sub eax,3; jb; shl eax,8; mov al,[esi]; inc esi; xor eax,-1; jz; sar eax,1; mov ebp,eax
	upxNRV2E = []byte("\xeb\x52\x31\xc9\x83\xe8\x03\x72\x11\xc1\xe0\x08\x8a\x06\x46\x83\xf0\xff\x74\x75\xd1\xf8\x89\xc5")
	// push esi; add ebx,4; push ebx; push eax; mov dword [ebx], ...
	upxLZMA1First  = []byte("\x56\x83\xc3\x04\x53\x50\xc7\x03")
	upxLZMA1Second = []byte("\x90\x90\x90\x55\x57\x56\x53\x83")
	// the same with lc=3, lp=0, pb=2 written into the loader
	upxLZMA2 = []byte("\x56\x83\xc3\x04\x53\x50\xc7\x03\x03\x00\x02\x00\x90\x90\x90\x90\x90\x55\x57\x56")
)

// upxMagic lists, per method, where in the loader (from the entry point)
// the "lea edi, [esi+imports]" operand sits in the UPX versions ClamAV
// knows.
var upxMagic = map[nrvMethod][]uint32{
	nrv2b: {0x108, 0x110, 0xd5},
	nrv2d: {0x11c, 0x124},
	nrv2e: {0x128, 0x130},
}

var upxMagicLZMA = []uint32{0xb16, 0xb1e}

// upxRebuildHeadroom is how far a rebuilt image may exceed the unpacked
// size (sections are laid out at their aligned virtual sizes).
const upxRebuildHeadroom = 8192

// packedSections returns the index of the first section that is empty
// on disk but not in memory and is followed by one that has bytes in
// both — where UPX, FSG and MEW unpack to and from — or -1.
func packedSections(v *exeView) int {
	for i := 0; i+1 < len(v.sections); i++ {
		s, t := v.sections[i], v.sections[i+1]
		if s.rsz == 0 && s.vsz != 0 && t.rsz != 0 && t.vsz != 0 {
			return i
		}
	}
	return -1
}

// upxDetect reports a PE32 file with ClamAV's "empty section found -
// assuming compression" layout whose entry point is not FSG's or MEW's
// (their formats take those, which ClamAV tries before UPX).
func upxDetect(data []byte) bool {
	if len(data) < 0x40 || data[0] != 'M' || data[1] != 'Z' {
		return false
	}
	v := viewExe(data)
	if v == nil || packedSections(v) < 0 || len(v.epbuf) < 168 {
		return false
	}
	return !fsgEntry(v) && !upxMEWJump(v)
}

// upxMEWJump reports ClamAV's MEW check, which comes before UPX: a jump
// from the entry point to 0x154 or 0x158, where MEW's loader lives.
func upxMEWJump(v *exeView) bool {
	if v.epbuf[0] != 0xe9 {
		return false
	}
	rel, _ := v.epU32(1)
	to := v.vep + rel + 5
	return to == 0x154 || to == 0x158
}

// upxJob is one UPX unpacking: the packed bytes and the addresses the
// rebuild needs.
type upxJob struct {
	src        []byte // UPX1's raw bytes
	dsize      uint32 // UPX0's and UPX1's virtual size
	upx0, upx1 uint32 // their RVAs
	ep         uint32 // the entry point RVA
}

func unpackUPX(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	v := viewExe(data)
	if v == nil {
		return Corrupt("upx", -1, "not a PE32 executable")
	}
	i := packedSections(v)
	if i < 0 || len(v.epbuf) < 168 {
		return Corrupt("upx", -1, "no empty section followed by a packed one")
	}
	s0, s1 := v.sections[i], v.sections[i+1]
	job := upxJob{
		src:   v.data[s1.raw : s1.raw+s1.rsz],
		dsize: s0.vsz + s1.vsz,
		upx0:  s0.rva,
		upx1:  s1.rva,
		ep:    v.vep,
	}
	// Without a loader ClamAV knows, the file is most likely a program
	// with an uninitialised data section: the decompressors are still
	// tried, as ClamAV does (a modified loader may hide real UPX), but a
	// failure is not an error and sizes over the limits are not hits.
	_, _, lzmaLoader := upxLZMAParams(v)
	known := lzmaLoader || upxNRVLoader(v) >= 0
	if uint64(s0.vsz)+uint64(s1.vsz) > 1<<32-1 || len(job.src) <= 0x19 || job.dsize <= uint32(len(job.src)) {
		// ClamAV gives up on such sizes without trying.
		if !known {
			return nil
		}
		return Corrupt("upx", int64(s1.raw), "sizes do not fit UPX (packed %d bytes, unpacked %d)", len(job.src), job.dsize)
	}
	need := uint64(job.dsize) + upxRebuildHeadroom
	if l := b.Limits(); !known && (need > uint64(l.MaxFileSize) || need > uint64(l.RatioFloor) && need > uint64(len(job.src))*uint64(l.MaxRatio)) {
		return nil
	}
	dst, err := imageBuffer(b, need, len(job.src))
	if err != nil {
		return err
	}
	out, err := upxUnpack(ctx, b, v, &job, dst)
	if err != nil {
		return err
	}
	if out == nil {
		if !known {
			// Compressed-looking layout, no UPX loader, no stream any
			// decompressor takes: not UPX (most such files are programs
			// with an uninitialised data section).
			return nil
		}
		return Corrupt("upx", int64(s1.raw), "UPX loader found, but its compressed data does not decompress")
	}
	if bytes.HasPrefix(out, []byte("MZ")) {
		return emitPE(ctx, b, "upx", out, emit)
	}
	// Unpacked but not rebuilt: ClamAV scans the raw image.
	return emitStored(b, out, Member{Name: "upx", Offset: -1}, emit)
}

// upxUnpack runs ClamAV's sequence of decompressors and returns the
// rebuilt file (or the raw image when no PE could be rebuilt), nil when
// none succeeded, or the error that stopped it (a limit, the context).
func upxUnpack(ctx context.Context, b *Budget, v *exeView, job *upxJob, dst []byte) ([]byte, error) {
	// LZMA loaders carry their own signature and the exact sizes.
	if size, props, ok := upxLZMAParams(v); ok {
		return upxLZMA(ctx, b, v, job, dst, size, props)
	}
	return upxTryNRV(ctx, b, v, job, dst)
}

// upxNRVLoader returns the NRV method whose decompression loop the
// loader holds (the 13 bytes at entry point + 0x69, or 8 bytes later,
// occur in UPX's code for it), or -1.
func upxNRVLoader(v *exeView) nrvMethod {
	for _, c := range []struct {
		m   nrvMethod
		pat []byte
	}{{nrv2b, upxNRV2B}, {nrv2d, upxNRV2D}, {nrv2e, upxNRV2E}} {
		if bytes.Contains(c.pat, v.epbuf[0x69:0x69+13]) || bytes.Contains(c.pat, v.epbuf[0x69+8:0x69+8+13]) {
			return c.m
		}
	}
	return -1
}

// upxTryNRV tries the loader's NRV method first (with and without the
// skew its first instruction names), then each other method at UPX1's
// start and 0x15 bytes in, as ClamAV does.
func upxTryNRV(ctx context.Context, b *Budget, v *exeView, job *upxJob, dst []byte) ([]byte, error) {
	preferred := upxNRVLoader(v)

	try := func(m nrvMethod, skew uint32) ([]byte, error) {
		if skew >= uint32(len(job.src)) {
			return nil, nil
		}
		j := *job
		j.src, j.ep = job.src[skew:], job.ep-skew
		return upxNRV(ctx, b, m, &j, dst)
	}
	if preferred >= 0 {
		// The loader's "mov esi, UPX1+skew" names where the data starts.
		var skew uint32
		if w, ok := v.epU32(2); ok && v.epbuf[1] == 0xbe {
			s := int64(int32(w - v.imageBase - job.upx1))
			if s > 0 && s <= 0xfff && s <= int64(len(job.src)) {
				skew = uint32(s)
			}
		}
		out, err := try(preferred, skew)
		if out != nil || err != nil {
			return out, err
		}
		if skew != 0 {
			if out, err := try(preferred, 0); out != nil || err != nil {
				return out, err
			}
		}
	}
	for _, m := range []nrvMethod{nrv2b, nrv2d, nrv2e} {
		if m == preferred {
			continue
		}
		for _, skew := range []uint32{0, 0x15} {
			if out, err := try(m, skew); out != nil || err != nil {
				return out, err
			}
		}
	}
	return nil, nil
}

// upxNRV decompresses with one NRV method and rebuilds. A corrupt stream
// returns nil, nil so the next method is tried.
func upxNRV(ctx context.Context, b *Budget, m nrvMethod, job *upxJob, dst []byte) ([]byte, error) {
	clear(dst)
	n, err := nrvDecode(ctx, b, m, job.src, dst[:job.dsize])
	if err != nil {
		if errors.Is(err, errNRV) {
			return nil, nil
		}
		return nil, err
	}
	return upxRebuild(b, job, dst, job.dsize, upxMagic[m], uint32(n))
}

// upxLZMAParams recognises an LZMA loader and returns the unpacked size
// and the lc/lp/pb properties it holds.
func upxLZMAParams(v *exeView) (size, props uint32, ok bool) {
	switch {
	case bytes.Equal(v.epbuf[0x2f:0x2f+20], upxLZMA2):
		size, _ = v.epU32(0x21)
		return size, 0x20003, true // lc=3, lp=0, pb=2
	case bytes.Equal(v.epbuf[0x39:0x39+8], upxLZMA1First) && bytes.Equal(v.epbuf[0x45:0x45+8], upxLZMA1Second):
		size, _ = v.epU32(0x2b)
		props, _ = v.epU32(0x41)
		return size, props, true
	}
	return 0, 0, false
}

// upxLZMA decompresses an LZMA-packed UPX1 and rebuilds; nil, nil when
// the data does not decompress.
func upxLZMA(ctx context.Context, b *Budget, v *exeView, job *upxJob, dst []byte, size, props uint32) ([]byte, error) {
	if size > job.dsize {
		return nil, nil
	}
	// The compressed data starts 0x15 bytes into UPX1 when the loader's
	// "pusha; mov esi, ..." says so.
	var skew uint32
	if len(job.src) > 0x15 && v.epbuf[0] == 0x60 && v.epbuf[1] == 0xbe {
		if w, _ := v.epU32(2); w-job.upx1-v.imageBase == 0x15 {
			skew = 0x15
		}
	}
	lc, lp, pb := props&0xff, props>>8&0xff, props>>16&0xff
	if lc >= 9 || lp >= 5 || pb >= 5 || len(job.src) < int(skew)+2 {
		return nil, nil
	}
	clear(dst)
	if err := b.Check(ctx); err != nil {
		return nil, err
	}
	// Two bytes of UPX's own header precede the raw LZMA stream: give the
	// decoder a classic header with the loader's properties and size.
	var hdr [lzma.HeaderLen]byte
	hdr[0] = byte(lc + 9*(5*pb+lp))
	binary.LittleEndian.PutUint32(hdr[1:], max(size, lzma.MinDictCap))
	binary.LittleEndian.PutUint64(hdr[5:], uint64(size))
	r, err := lzma.ReaderConfig{DictCap: int(max(size, lzma.MinDictCap))}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(job.src[skew+2:])))
	if err != nil {
		return nil, nil
	}
	_, err = io.ReadFull(r, dst[:size])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		// A data error fails, as in ClamAV; input that merely ends
		// early leaves what was decoded.
		return nil, nil
	}
	j := *job
	j.src = job.src[skew:]
	out, err := upxRebuild(b, &j, dst, size, upxMagicLZMA, size)
	if err != nil {
		return nil, err
	}
	// ClamAV writes out as many bytes as UPX0 and UPX1 span in memory,
	// not the rebuilt file's size: the file is padded with zeros (or cut)
	// to that size. Do the same, so that hashes of the result agree.
	if len(out) != int(job.dsize) {
		fit := dst[:job.dsize]
		if len(out) == 0 || &out[0] != &dst[0] {
			copy(fit, out)
			clear(fit[min(len(out), len(fit)):])
		}
		out = fit
	}
	return out, nil
}

// upxRebuild turns the unpacked image dst[:dend] (dsize is the size the
// image was given) into a PE file as ClamAV does, or returns the raw
// image dst[:dsize] when the original headers do not describe it.
func upxRebuild(b *Budget, job *upxJob, dst []byte, dsize uint32, magic []uint32, dend uint32) ([]byte, error) {
	le := binary.LittleEndian
	src := job.src
	ssize := int64(len(src))
	img := dst[:dsize]
	in := func(off, n int64) bool { return off >= 0 && n >= 0 && off+n <= int64(len(img)) }
	base := int64(job.ep) - int64(job.upx1) // the entry point in src

	// The operand of the loader's "lea edi, [esi+imports]".
	lea := int64(-1)
	for _, m := range magic {
		at := base + int64(m)
		if at-2 >= 0 && at <= ssize-5 && src[at-2] == 0x8d && src[at-1] == 0xbe {
			lea = at
			break
		}
	}
	if lea < 0 && base+0x80 >= 0 && base+0x80+8 <= ssize-8 {
		// Unknown loader version: look for "lea edi, [esi+x]; mov eax,
		// [edi]" past the start of the loader.
		for p := base + 0x80; p < ssize-8; p++ {
			k := bytes.Index(src[p:ssize-8], []byte{0x8d, 0xbe})
			if k < 0 {
				break
			}
			p += int64(k)
			if src[p+6] == 0x8b && src[p+7] == 0x07 {
				lea = p + 2
				break
			}
		}
	}

	pehdr := int64(-1)
	var realstuff int64
	if lea >= 0 && lea+4 <= ssize {
		imports := int64(le.Uint32(src[lea:]))
		if imports < int64(dsize) {
			realstuff = imports
			// Skip UPX's compressed import table: per DLL, two words then
			// NUL-terminated names until an empty one; a zero word ends it.
			p := imports
			for in(p, 8) && le.Uint32(img[p:]) != 0 {
				p += 8
				for in(p, 2) && img[p] != 0 {
					p++
					for in(p, 2) && img[p] != 0 {
						p++
					}
					p++
				}
				p++
			}
			p += 4
			if upxCheckPE(img, p) {
				pehdr = p
			}
		}
	}
	if pehdr < 0 && dend > 0xf8+0x28 {
		// No luck: look for a PE header backwards from the end.
		end := int64(dend) - 0xf8 - 0x28 + 4
		for end > 4 {
			p := int64(bytes.LastIndex(img[:end], []byte("PE\x00\x00")))
			if p <= 0 {
				break
			}
			if upxCheckPE(img, p) {
				pehdr, realstuff = p, p
				break
			}
			end = p + 3
		}
	}
	if pehdr < 0 {
		// Craft a PE around the whole image: one section at 0x1000.
		size := uint32(peAlign(uint64(dend), 0x1000))
		if uint64(size) > uint64(len(dst)) {
			return img, nil
		}
		p := &peImage{
			Data:      dst[:size],
			Sections:  []imageSection{{RVA: 0x1000, VirtualSize: size, RawSize: size}},
			ImageBase: 0x400000,
			EntryRVA:  0x1000,
		}
		out, err := p.rebuild(b, "upx")
		if err != nil {
			if _, ok := IsLimit(err); ok {
				return nil, err
			}
			return img, nil
		}
		return out, nil
	}

	// Rebuild from the original header: sections at their aligned virtual
	// sizes, one after the other, inside UPX0's unpacked bytes.
	nsec := int64(le.Uint16(img[pehdr+6:]))
	valign := uint64(le.Uint32(img[pehdr+0x38:]))
	hdrLen := 0xf8 + 0x28*nsec
	hdr := append([]byte(nil), img[pehdr:pehdr+hdrLen]...)
	foff := peAlign(uint64(peStubSize+hdrLen), valign)
	for k := int64(0); k < nsec; k++ {
		sh := hdr[0xf8+0x28*k:]
		vsize := peAlign(uint64(le.Uint32(sh[8:])), valign)
		urva := uint64(le.Uint32(sh[12:])) / valign * valign
		if vsize == 0 || urva < uint64(job.upx0) || urva+vsize > uint64(job.upx0)+uint64(realstuff) || vsize > 1<<32-1 {
			return img, nil // a section outside the unpacked image
		}
		le.PutUint32(sh[8:], uint32(vsize))
		le.PutUint32(sh[12:], uint32(urva))
		le.PutUint32(sh[16:], uint32(vsize))
		le.PutUint32(sh[20:], uint32(foff))
		foff += vsize
	}
	if foff > uint64(dsize)+upxRebuildHeadroom {
		return img, nil
	}
	if foff > uint64(b.Limits().MaxFileSize) {
		return nil, b.Fail(LimitFileSize, b.Limits().MaxFileSize)
	}
	le.PutUint32(hdr[8:], 0x4d414c43)        // TimeDateStamp "CLAM", as ClamAV marks it
	le.PutUint32(hdr[0x3c:], uint32(valign)) // FileAlignment = SectionAlignment
	out := make([]byte, foff)
	copy(out, dosStub())
	copy(out[peStubSize:], hdr)
	for k := int64(0); k < nsec; k++ {
		sh := hdr[0xf8+0x28*k:]
		raw, n, rva := uint64(le.Uint32(sh[20:])), uint64(le.Uint32(sh[16:])), uint64(le.Uint32(sh[12:]))
		from := rva - uint64(job.upx0)
		copy(out[raw:raw+n], dst[from:from+n])
	}
	return out, nil
}

// upxCheckPE reports whether img holds at p a PE header with a section
// alignment and a section table within img (what ClamAV checks before
// rebuilding from it).
func upxCheckPE(img []byte, p int64) bool {
	le := binary.LittleEndian
	if p < 0 || p+0xf8 > int64(len(img)) || le.Uint32(img[p:]) != 0x4550 {
		return false
	}
	if le.Uint32(img[p+0x38:]) == 0 {
		return false
	}
	n := int64(le.Uint16(img[p+6:]))
	return n != 0 && p+0xf8+0x28*n <= int64(len(img))
}
