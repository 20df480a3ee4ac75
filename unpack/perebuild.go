package unpack

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/glassav/glassav/filetype"
)

// This file builds a scannable PE file from the memory image an unpacker
// recovered, the way ClamAV's rebuildpe does for its unpackers: a DOS
// header and stub, PE and optional headers, one section header per
// section and the sections' bytes, one after the other at 512-byte file
// alignment. The result is not meant to run: it is meant to parse, so the
// engine scans the unpacked program as an executable with an entry point
// and sections (EP+n and Sx+n offsets, the pe module) and recurses into it.
//
// Every unpacker of package unpack rebuilds through here (peImage.rebuild)
// and emits the result with emitPE; none writes a PE header of its own.

// imageSection is one section of an unpacked memory image.
type imageSection struct {
	// Name is the section header's name, at most 8 bytes; "" names it
	// ".clamNN" (NN from 01) as ClamAV's rebuild does, so rules written
	// against ClamAV's unpacked files see the same names.
	Name string
	// RVA and VirtualSize place the section in memory.
	RVA, VirtualSize uint32
	// Raw and RawSize delimit the section's bytes in peImage.Data.
	Raw, RawSize uint32
	// Characteristics are written as given; 0 writes all bits set, as
	// ClamAV does (the section reads as code, data, readable, writable
	// and executable).
	Characteristics uint32
}

// peImage is an unpacked program ready to be rebuilt into a PE file.
type peImage struct {
	// Data holds the sections' bytes (usually the memory image itself,
	// indexed by RVA minus the first section's RVA).
	Data     []byte
	Sections []imageSection
	// ImageBase and EntryRVA go to the optional header as they are.
	ImageBase, EntryRVA uint32
	// ResourceRVA/Size and ImportRVA/Size fill data directories 2 and 1
	// (zero: absent).
	ResourceRVA, ResourceSize uint32
	ImportRVA, ImportSize     uint32
	// Align, when not zero, rounds every section's RVA, virtual size and
	// raw size up to it (ClamAV's rebuild with alignment, used by the
	// unpackers whose section sizes come unaligned from the packer).
	Align uint32
	// Machine is the COFF machine (0: i386).
	Machine uint16
}

// PE layout constants of the rebuilt file.
const (
	peStubSize      = 0xd0  // DOS header and stub; e_lfanew points here
	peHeadersSize   = 0xf8  // "PE\0\0", COFF header, PE32 optional header
	peRebuildFAlign = 0x200 // file alignment of the rebuilt sections
	peRebuildSAlign = 0x1000
	peMaxSections   = 96 // what ClamAV's PE parser accepts
)

// peStubText is what the DOS stub prints if anyone runs the file.
const peStubText = "glassav rebuilt this image from a packed executable to scan it. Do not run.\r\n$"

// dosStub returns the first peStubSize bytes of a rebuilt PE file: a DOS
// header whose e_lfanew is peStubSize and a 16-bit stub that prints
// peStubText and exits.
func dosStub() []byte {
	s := make([]byte, peStubSize)
	le := binary.LittleEndian
	s[0], s[1] = 'M', 'Z'
	le.PutUint16(s[0x02:], 0x90) // bytes on the last page
	le.PutUint16(s[0x04:], 3)    // pages
	le.PutUint16(s[0x08:], 4)    // header paragraphs
	le.PutUint16(s[0x0c:], 0xffff)
	le.PutUint16(s[0x10:], 0xb8) // initial SP
	le.PutUint16(s[0x18:], 0x40) // relocation table offset
	le.PutUint32(s[0x3c:], peStubSize)
	// push cs; pop ds; mov dx, text; mov ah, 9; int 21h; mov ax, 4c01h; int 21h
	code := []byte{0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21}
	copy(s[0x40:], code)
	copy(s[0x40+len(code):], peStubText)
	return s
}

// peAlign rounds v up to a multiple of a (a == 0: v), in 64 bits so that
// untrusted 32-bit values cannot wrap.
func peAlign(v, a uint64) uint64 {
	if a == 0 {
		return v
	}
	return (v + a - 1) / a * a
}

// rebuildSize returns the size of the rebuilt file, computed before any
// allocation so that a hostile section table cannot buy a large buffer.
func (p *peImage) rebuildSize() (rawbase, size uint64, ghost bool) {
	n := uint64(len(p.Sections))
	rawbase = peAlign(peStubSize+peHeadersSize+0x28*n, peRebuildFAlign)
	if n > 0 && uint64(p.Sections[0].RVA) > peAlign(rawbase, peRebuildSAlign) {
		// The first section starts past the headers' page: a section
		// without bytes ("empty", ClamAV's ghost section) covers the gap.
		ghost = true
		rawbase = peAlign(peStubSize+peHeadersSize+0x28*(n+1), peRebuildFAlign)
	}
	size = rawbase
	for _, s := range p.Sections {
		size += peAlign(peAlign(uint64(s.RawSize), uint64(p.Align)), peRebuildFAlign)
	}
	return rawbase, size, ghost
}

// rebuild builds the PE file. Its size is checked against the budget's
// MaxFileSize before the file is allocated; the caller accounts for the
// result with emitPE. Sections whose bytes lie outside Data are corrupt
// input, reported as a *FormatError of format.
func (p *peImage) rebuild(b *Budget, format string) ([]byte, error) {
	if len(p.Sections) == 0 {
		return nil, Corrupt(format, -1, "rebuilt image has no sections")
	}
	rawbase, size, ghost := p.rebuildSize()
	nsec := len(p.Sections)
	if ghost {
		nsec++
	}
	if nsec > peMaxSections {
		return nil, Corrupt(format, -1, "rebuilt image has %d sections (at most %d)", nsec, peMaxSections)
	}
	for i, s := range p.Sections {
		if uint64(s.Raw)+uint64(s.RawSize) > uint64(len(p.Data)) {
			return nil, Corrupt(format, -1, "section %d: bytes 0x%x+0x%x outside the %d-byte image", i, s.Raw, s.RawSize, len(p.Data))
		}
	}
	if lim := b.Limits().MaxFileSize; size > uint64(lim) {
		return nil, b.Fail(LimitFileSize, lim)
	}

	out := make([]byte, size)
	le := binary.LittleEndian
	copy(out, dosStub())
	h := out[peStubSize:]
	copy(h, "PE\x00\x00")
	machine := p.Machine
	if machine == 0 {
		machine = 0x14c
	}
	le.PutUint16(h[4:], machine)
	le.PutUint16(h[6:], uint16(nsec))
	le.PutUint16(h[20:], peHeadersSize-24) // SizeOfOptionalHeader
	le.PutUint16(h[22:], 0x010f)           // relocs stripped, executable, 32-bit
	o := h[24:]
	le.PutUint16(o[0:], 0x10b) // PE32
	le.PutUint32(o[16:], p.EntryRVA)
	le.PutUint32(o[20:], peRebuildSAlign) // BaseOfCode
	le.PutUint32(o[24:], peRebuildSAlign) // BaseOfData
	le.PutUint32(o[28:], p.ImageBase)
	le.PutUint32(o[32:], peRebuildSAlign)
	le.PutUint32(o[36:], peRebuildFAlign)
	le.PutUint16(o[40:], 4) // OS version 4.0
	le.PutUint16(o[48:], 4) // subsystem version 4.0
	le.PutUint32(o[60:], uint32(rawbase))
	le.PutUint16(o[68:], 2) // Windows GUI
	le.PutUint32(o[72:], 0x100000)
	le.PutUint32(o[76:], 0x1000)
	le.PutUint32(o[80:], 0x100000)
	le.PutUint32(o[84:], 0x1000)
	le.PutUint32(o[92:], 16) // NumberOfRvaAndSizes
	dirs := o[96:]
	le.PutUint32(dirs[1*8:], p.ImportRVA)
	le.PutUint32(dirs[1*8+4:], p.ImportSize)
	le.PutUint32(dirs[2*8:], p.ResourceRVA)
	le.PutUint32(dirs[2*8+4:], p.ResourceSize)

	sh := out[peStubSize+peHeadersSize:]
	vend := peAlign(rawbase, peRebuildSAlign) // end of the image in memory
	if ghost {
		gap := uint64(p.Sections[0].RVA) - vend
		copy(sh, "empty")
		le.PutUint32(sh[8:], uint32(gap))
		le.PutUint32(sh[12:], uint32(vend))
		le.PutUint32(sh[36:], 0xffffffff)
		sh = sh[0x28:]
	}
	raw := rawbase
	var code, idata uint64
	for i, s := range p.Sections {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf(".clam%02d", i+1)
		}
		rva, vsz, rsz := uint64(s.RVA), uint64(s.VirtualSize), uint64(s.RawSize)
		if p.Align != 0 {
			a := uint64(p.Align)
			rva, vsz, rsz = peAlign(rva, a), peAlign(vsz, a), peAlign(rsz, a)
		}
		copy(sh[:8], name)
		le.PutUint32(sh[8:], uint32(vsz))
		le.PutUint32(sh[12:], uint32(rva))
		le.PutUint32(sh[16:], uint32(rsz))
		le.PutUint32(sh[20:], uint32(raw))
		chars := s.Characteristics
		if chars == 0 {
			chars = 0xffffffff
		}
		le.PutUint32(sh[36:], chars)
		copy(out[raw:], p.Data[s.Raw:uint64(s.Raw)+uint64(s.RawSize)])
		sh = sh[0x28:]
		raw += peAlign(rsz, peRebuildFAlign)
		vend = max(vend, peAlign(rva+max(vsz, rsz), peRebuildSAlign))
		if chars&0x20 != 0 {
			code += peAlign(rsz, peRebuildFAlign)
		} else {
			idata += peAlign(rsz, peRebuildFAlign)
		}
	}
	le.PutUint32(o[4:], uint32(code))
	le.PutUint32(o[8:], uint32(idata))
	le.PutUint32(o[56:], uint32(vend)) // SizeOfImage
	return out, nil
}

// imageBuffer allocates the zeroed memory image of an unpacker: size
// bytes unpacked from packed bytes of input. A size over MaxFileSize, or
// over MaxRatio times the input past the ratio floor, is a limit hit
// (ClamAV checks the same sizes against its file-size limit before it
// allocates), so a forged section size cannot buy memory.
func imageBuffer(b *Budget, size uint64, packed int) ([]byte, error) {
	l := b.Limits()
	if size > uint64(l.MaxFileSize) {
		return nil, b.Fail(LimitFileSize, l.MaxFileSize)
	}
	if rmax := uint64(packed) * uint64(l.MaxRatio); size > uint64(l.RatioFloor) && size > rmax {
		return nil, b.Fail(LimitRatio, l.MaxRatio)
	}
	return make([]byte, size), nil
}

// emitPE emits a rebuilt executable as one member named after the packer,
// typed as a Windows executable so the engine scans it with its entry
// point and sections, and accounts for it in the budget.
func emitPE(ctx context.Context, b *Budget, name string, pe []byte, emit func(Member) error) error {
	if err := b.Check(ctx); err != nil {
		return err
	}
	return emitStored(b, pe, Member{Name: name, Type: filetype.MSEXE, Offset: -1}, emit)
}
