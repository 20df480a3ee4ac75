package unpack

import (
	"context"
	"encoding/binary"
	"errors"
	"sort"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// fsgFormat unpacks Windows programs packed by FSG ("Fast Small Good")
// 1.31, 1.33 and 2.0, as ClamAV 1.4 does.
//
// Like UPX, FSG leaves an empty section where the loader unpacks the
// program, followed by the packed section; its data is compressed with
// the aPLib-style coder MEW shares (aplibDecode). ClamAV tells the
// versions apart by the loader's first instruction and finds, in memory
// the loader sets up, what the rebuild needs:
//
//   - 2.0 ("xchg [addr], esp"): the address points at a stack image in
//     the packed section holding the destination (which must be the empty
//     section), the source and a table whose fourth entry is the original
//     entry point. The image is unpacked as one section.
//   - 1.33 ("mov esi, addr" with addr in the headers) and 1.31 ("mov ebx,
//     addr; mov edi, dest; mov esi, src"): addr points at support data in
//     the header padding listing the start of every original section
//     (1.33: addresses plus one; 1.31: page numbers plus two); each
//     section is a stream of its own, unpacked one after the other, and
//     the original entry point is read from the loader's final jump.
//
// The result is rebuilt with rebuildpe's layout (peImage) and emitted as
// one member named "fsg".
func fsgFormat() *Format {
	return &Format{
		Name:   "fsg",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: fsgDetect,
		Unpack: unpackFSG,
	}
}

func fsgDetect(data []byte) bool {
	if len(data) < 0x40 || data[0] != 'M' || data[1] != 'Z' {
		return false
	}
	v := viewExe(data)
	return v != nil && packedSections(v) >= 0 && len(v.epbuf) >= 168 && fsgEntry(v)
}

// fsgVersion names the loader the entry point holds.
type fsgVersion int

const (
	fsgNone fsgVersion = iota
	fsg200
	fsg133
	fsg131
)

// fsgLoader returns the FSG loader version of the entry point's code, as
// ClamAV recognises it.
func fsgLoader(v *exeView) fsgVersion {
	i := packedSections(v)
	if i < 0 || len(v.epbuf) < 168 {
		return fsgNone
	}
	s1 := v.sections[i+1]
	imm, _ := v.epU32(1)
	switch {
	case v.epbuf[0] == 0x87 && v.epbuf[1] == 0x25: // xchg [imm32], esp
		return fsg200
	case v.epbuf[0] == 0xbe && imm-v.imageBase < v.min: // mov esi, imm32
		// Upack 1.1/1.2 starts the same way, then lodsd; mov edi, eax:
		// its own format takes it.
		if len(v.sections) == 2 && v.epbuf[5] == 0xad && v.epbuf[6] == 0x8b && v.epbuf[7] == 0xf8 {
			return fsgNone
		}
		return fsg133
	case v.epbuf[0] == 0xbb && imm-v.imageBase < v.min && v.epbuf[5] == 0xbf && v.epbuf[10] == 0xbe &&
		v.vep >= s1.rva && v.vep-s1.rva > s1.rva-0xe0: // mov ebx; mov edi; mov esi
		return fsg131
	}
	return fsgNone
}

// fsgEntry reports whether the entry point holds an FSG loader.
func fsgEntry(v *exeView) bool { return fsgLoader(v) != fsgNone }

func unpackFSG(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	v := viewExe(data)
	if v == nil {
		return Corrupt("fsg", -1, "not a PE32 executable")
	}
	ver := fsgLoader(v)
	if ver == fsgNone {
		return Corrupt("fsg", -1, "no FSG loader at the entry point")
	}
	i := packedSections(v)
	s0, s1 := v.sections[i], v.sections[i+1]
	ssize, dsize := s1.rsz, s0.vsz
	if ssize <= 0x19 || dsize <= ssize {
		return Corrupt("fsg", int64(s1.raw), "sizes do not fit FSG (packed %d bytes, unpacked %d)", ssize, dsize)
	}
	if lim := b.Limits().MaxFileSize; int64(dsize) > lim || int64(ssize) > lim {
		return b.Fail(LimitFileSize, lim)
	}
	src := v.data[s1.raw : s1.raw+ssize]
	var img *peImage
	var err error
	switch ver {
	case fsg200:
		img, err = fsgUnpack200(ctx, b, v, src, s0, s1)
	default:
		img, err = fsgUnpack13x(ctx, b, v, data, ver, src, s0, s1)
	}
	if err != nil {
		return err
	}
	pe, err := img.rebuild(b, "fsg")
	if err != nil {
		return err
	}
	return emitPE(ctx, b, "fsg", pe, emit)
}

// fsgIn reports whether [rva, rva+n) lies inside section s's raw bytes.
func fsgIn(s exeViewSection, rva uint32, n uint32) bool {
	return rva >= s.rva && uint64(rva)+uint64(n) <= uint64(s.rva)+uint64(s.rsz)
}

// fsgUnpack200 follows the 2.0 loader's stack image to the packed stream
// and unpacks it as one section.
func fsgUnpack200(ctx context.Context, b *Budget, v *exeView, src []byte, s0, s1 exeViewSection) (*peImage, error) {
	le := binary.LittleEndian
	base := v.imageBase
	at := func(rva uint32) []byte { return src[rva-s1.rva:] }
	xchg, _ := v.epU32(2)
	esp := xchg - base
	if !fsgIn(s1, esp, 4) {
		return nil, Corrupt("fsg", int64(s1.raw), "xchg operand 0x%x outside the packed section", esp)
	}
	stack := le.Uint32(at(esp)) - base
	if !fsgIn(s1, stack, 32) {
		return nil, Corrupt("fsg", int64(s1.raw), "new stack 0x%x outside the packed section", stack)
	}
	st := at(stack)
	edi := le.Uint32(st[0:]) - base
	esi := le.Uint32(st[4:]) - base
	ebx := le.Uint32(st[16:]) - base
	if edi != s0.rva {
		return nil, Corrupt("fsg", int64(s1.raw), "destination 0x%x is not the empty section 0x%x", edi, s0.rva)
	}
	if !fsgIn(s1, esi, 1) {
		return nil, Corrupt("fsg", int64(s1.raw), "source 0x%x outside the packed section", esi)
	}
	if !fsgIn(s1, ebx, 16) {
		return nil, Corrupt("fsg", int64(s1.raw), "import table 0x%x outside the packed section", ebx)
	}
	oep := le.Uint32(at(ebx)[12:]) - base
	dst, err := imageBuffer(b, uint64(s0.vsz), len(src))
	if err != nil {
		return nil, err
	}
	if _, _, err := aplibDecode(ctx, b, at(esi), dst); err != nil {
		return nil, fsgErr(err, s1, esi)
	}
	return &peImage{
		Data:      dst,
		Sections:  []imageSection{{RVA: edi, VirtualSize: uint32(len(dst)), RawSize: uint32(len(dst))}},
		ImageBase: base,
		EntryRVA:  oep,
	}, nil
}

// fsgErr wraps a decoder error with the place of the stream.
func fsgErr(err error, s1 exeViewSection, esi uint32) error {
	if errors.Is(err, errAPLib) {
		return Corrupt("fsg", int64(s1.raw)+int64(esi-s1.rva), "%v", err)
	}
	return err
}

// fsgUnpack13x reads the support data of a 1.31 or 1.33 loader and
// unpacks each original section.
func fsgUnpack13x(ctx context.Context, b *Budget, v *exeView, data []byte, ver fsgVersion, src []byte, s0, s1 exeViewSection) (*peImage, error) {
	le := binary.LittleEndian
	base := v.imageBase
	imm, _ := v.epU32(1)
	// The support data lives in the headers: an RVA under SizeOfHeaders
	// maps to the same file offset.
	info, err := exe.Parse(data)
	if err != nil {
		return nil, Corrupt("fsg", -1, "%v", err)
	}
	t := imm - base
	if t >= info.PE.HeaderSize || uint64(t) >= uint64(len(data)) {
		return nil, Corrupt("fsg", -1, "support data 0x%x outside the headers", t)
	}
	if t >= s1.raw {
		return nil, Corrupt("fsg", int64(t), "support data after the packed section")
	}
	// The list of section starts is read until it ends, and no further
	// than peMaxSections entries: the support data may run over the
	// whole file.
	support := data[t:s1.raw]
	gp := uint32(len(support))

	var esi, edi, oep uint32
	var rvas []uint32
	switch ver {
	case fsg133:
		if gp < 12 {
			return nil, Corrupt("fsg", int64(t), "support data too short")
		}
		edi = le.Uint32(support[4:]) - base
		esi = le.Uint32(support[8:]) - base
		// Section starts, each plus one, up to a zero word.
		var k uint32
		for k = 12; k+4 < gp; k += 4 {
			rva := le.Uint32(support[k:])
			if rva == 0 {
				break
			}
			rva -= base + 1
			if rva < s0.rva || rva-s0.rva >= s0.vsz {
				return nil, Corrupt("fsg", int64(t+k), "original section at 0x%x outside the unpacked image", rva)
			}
			if len(rvas)+1 >= peMaxSections {
				return nil, Corrupt("fsg", int64(t+k), "more than %d sections", peMaxSections)
			}
			rvas = append(rvas, rva)
		}
		if k+4 >= gp {
			return nil, Corrupt("fsg", int64(t), "section list does not end")
		}
		// The loader jumps to the original entry point at its end.
		jmp, ok := v.epU32(163)
		if !ok {
			return nil, Corrupt("fsg", int64(v.ep), "loader truncated")
		}
		oep = v.vep + 161 + 6 + jmp
	case fsg131:
		edi, _ = v.epU32(6)
		edi -= base
		esi, _ = v.epU32(11)
		esi -= base
		// Section starts as page numbers plus two, up to a 1 or a 2.
		var k uint32
		for k = 0; k+2 < gp; k += 2 {
			pg := uint32(le.Uint16(support[k:]))
			if pg == 1 || pg == 2 {
				break
			}
			rva := (pg-2)<<12 - base
			if rva < s0.rva || rva-s0.rva >= s0.vsz {
				return nil, Corrupt("fsg", int64(t+k), "original section at 0x%x outside the unpacked image", rva)
			}
			if len(rvas)+1 >= peMaxSections {
				return nil, Corrupt("fsg", int64(t+k), "more than %d sections", peMaxSections)
			}
			rvas = append(rvas, rva)
		}
		if k+10 >= gp || le.Uint32(support[k+6:]) != 2 {
			return nil, Corrupt("fsg", int64(t), "section list does not end")
		}
		gpo := uint32(0xda)
		if v.epbuf[16] == 0xe8 {
			gpo += 6
		}
		at := uint64(gpo) + 2 + uint64(v.vep-s1.rva)
		if at+4 > uint64(len(src)) {
			return nil, Corrupt("fsg", int64(s1.raw), "loader's final jump outside the packed section")
		}
		oep = v.vep + gpo + 6 + le.Uint32(src[at:])
	}
	if esi < s1.rva || esi-s1.rva >= uint32(len(src)) {
		return nil, Corrupt("fsg", int64(s1.raw), "source 0x%x outside the packed section", esi)
	}
	if edi != s0.rva {
		return nil, Corrupt("fsg", int64(s1.raw), "destination 0x%x is not the empty section 0x%x", edi, s0.rva)
	}
	if len(rvas)+1 > peMaxSections {
		return nil, Corrupt("fsg", int64(t), "%d sections", len(rvas)+1)
	}

	dst, err := imageBuffer(b, uint64(s0.vsz), len(src))
	if err != nil {
		return nil, err
	}
	// Each section is a stream of its own, packed one after the other
	// and unpacked one after the other.
	secs := make([]imageSection, len(rvas)+1)
	secs[0].RVA = edi
	for k, r := range rvas {
		secs[k+1].RVA = r
	}
	in, out := src[esi-s1.rva:], 0
	for k := range secs {
		n, m, err := aplibDecode(ctx, b, in, dst[out:])
		if err != nil {
			return nil, fsgErr(err, s1, esi)
		}
		secs[k].Raw, secs[k].RawSize = uint32(out), uint32(m)
		in, out = in[n:], out+m
	}
	// Sections in address order, each as large as the gap to the next; the
	// last gets what remains of the image.
	sort.SliceStable(secs, func(a, b int) bool { return secs[a].RVA < secs[b].RVA })
	rest := int64(len(dst))
	for k := range secs {
		if k+1 < len(secs) {
			gap := secs[k+1].RVA - secs[k].RVA
			secs[k].VirtualSize = gap
			rest -= int64(gap)
		} else {
			secs[k].VirtualSize = uint32(max(rest, 0))
		}
	}
	return &peImage{Data: dst, Sections: secs, ImageBase: base, EntryRVA: oep}, nil
}
