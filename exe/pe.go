package exe

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
)

// PEInfo holds the PE details ClamAV signatures use.
type PEInfo struct {
	Is64    bool // PE32+
	Machine uint16
	DLL     bool
	// EntryRVA is AddressOfEntryPoint.
	EntryRVA uint32
	// HeaderSize is SizeOfHeaders rounded up to the section alignment, the
	// bound under which ClamAV maps an RVA to the same file offset.
	HeaderSize uint32
	// SectionAlignment and FileAlignment are the alignments ClamAV uses: the
	// header values, except that a file alignment some section ignores
	// while being 512-aligned falls back to 512.
	SectionAlignment, FileAlignment uint32
	// Headers are the section headers' own values, before alignment.
	Headers []PESectionHeader
	// DataDirs are the data directories present (at most 16).
	DataDirs []DataDir
	// Imports is the text ClamAV hashes for .imp signatures ("dll.func"
	// pairs, lower case, comma-separated); HasImports is false when ClamAV
	// computes no import hash for the file (no import table, or one it
	// rejects). clamscan 1.4 only looks .imp signatures up for PE32 files;
	// sigtool --imp prints the hash for PE32+ too.
	Imports    []byte
	HasImports bool
	// VersionInfo lists the version resource strings, where VI signature
	// offsets look for them.
	VersionInfo []VersionEntry
}

// PESectionHeader is a PE section header's raw values.
type PESectionHeader struct {
	Name             string
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// DataDir is a PE data directory.
type DataDir struct{ VirtualAddress, Size uint32 }

// ImportMD5 returns the MD5 of Imports and its length, the pair an .imp
// signature names.
func (p *PEInfo) ImportMD5() ([16]byte, int) { return md5.Sum(p.Imports), len(p.Imports) }

// peSection is ClamAV's view of a section: aligned bounds, clipped to the
// file.
type peSection struct {
	rva, vsz, raw, rsz     uint32
	urva, uvsz, uraw, ursz uint32
}

const (
	peFileHeaderSize = 24 // "PE\0\0" and the COFF header
	peOpt32Size      = 96 // optional header without data directories
	peOpt64Size      = 112
	peSectionSize    = 40
	peMaxDataDirs    = 16
)

func peErr(format string, args ...any) error {
	return fmt.Errorf("%w: PE: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// alignDown and alignUp are ClamAV's PE alignment rules, in 32-bit
// arithmetic (alignUp wraps as ClamAV's does); an alignment of 0 leaves the
// value alone.
func alignDown(v, a uint32) uint32 {
	if a == 0 {
		return v
	}
	return v / a * a
}

func alignUp(v, a uint32) uint32 {
	if a == 0 {
		return v
	}
	n := v / a
	if v%a != 0 {
		n++
	}
	return n * a
}

// contained reports whether [off, off+n) lies inside a buffer of size size,
// with n > 0 (ClamAV's containment test).
func contained(size, off, n uint64) bool {
	return size > 0 && n > 0 && n <= size && off+n <= size
}

// parsePE follows ClamAV's PE header parser in its lenient mode (the one it
// uses to resolve signature offsets): bad alignments and misplaced
// sections are tolerated, truncated headers, zero sections, values with
// the sign bit set and an unmappable entry point are not. Without full,
// the import text and the version information are not read.
func parsePE(data []byte, full bool) (*Info, error) {
	r := reader{data, binary.LittleEndian}
	fsize := uint64(len(data))
	lfanew, ok := r.u32(0x3c)
	if !ok {
		return nil, peErr("truncated DOS header")
	}
	if lfanew == 0 {
		return nil, peErr("e_lfanew is 0 (not a PE)")
	}
	ph := uint64(lfanew)
	if !r.has(ph, peFileHeaderSize) {
		return nil, peErr("no file header at 0x%x", lfanew)
	}
	if sig, _ := r.u32(ph); sig != 0x4550 {
		return nil, peErr("no PE signature at 0x%x", lfanew)
	}
	machine, _ := r.u16(ph + 4)
	nsec, _ := r.u16(ph + 6)
	optSize, _ := r.u16(ph + 20)
	chars, _ := r.u16(ph + 22)
	if nsec == 0 {
		return nil, peErr("no sections")
	}
	if optSize < peOpt32Size {
		return nil, peErr("optional header too small (%d)", optSize)
	}
	opt := ph + peFileHeaderSize
	if !r.has(opt, peOpt32Size) {
		return nil, peErr("truncated optional header")
	}
	magic, _ := r.u16(opt)
	p := &PEInfo{Machine: machine, DLL: chars&0x2000 != 0}
	stored := uint64(peOpt32Size)
	ndirsAt := opt + 92
	if magic == 0x20b {
		if optSize < peOpt64Size {
			return nil, peErr("PE32+ optional header too small (%d)", optSize)
		}
		if !r.has(opt, peOpt64Size) {
			return nil, peErr("truncated PE32+ optional header")
		}
		p.Is64 = true
		stored = peOpt64Size
		ndirsAt = opt + 108
	}
	p.EntryRVA, _ = r.u32(opt + 16)
	salign, _ := r.u32(opt + 32)
	falign, _ := r.u32(opt + 36)
	hdrSize, _ := r.u32(opt + 60)
	ndirs, _ := r.u32(ndirsAt)
	if ndirs > peMaxDataDirs {
		ndirs = peMaxDataDirs
	}
	dirsSize := uint64(ndirs) * 8
	if uint64(optSize) < stored+dirsSize {
		return nil, peErr("optional header too small for %d data directories", ndirs)
	}
	at := opt + stored
	if !r.has(at, dirsSize) {
		return nil, peErr("truncated data directories")
	}
	p.DataDirs = make([]DataDir, ndirs)
	for i := range p.DataDirs {
		p.DataDirs[i].VirtualAddress, _ = r.u32(at + uint64(i)*8)
		p.DataDirs[i].Size, _ = r.u32(at + uint64(i)*8 + 4)
	}
	at = opt + uint64(optSize) // the section table follows the optional header
	hdrSize = alignUp(hdrSize, salign)

	if !r.has(at, uint64(nsec)*peSectionSize) {
		return nil, peErr("truncated section table (%d sections at 0x%x)", nsec, at)
	}
	p.Headers = make([]PESectionHeader, nsec)
	for i := range p.Headers {
		h := &p.Headers[i]
		o := at + uint64(i)*peSectionSize
		h.Name = cstring(data[o : o+8])
		h.VirtualSize, _ = r.u32(o + 8)
		h.VirtualAddress, _ = r.u32(o + 12)
		h.SizeOfRawData, _ = r.u32(o + 16)
		h.PointerToRawData, _ = r.u32(o + 20)
		h.Characteristics, _ = r.u32(o + 36)
	}
	// A section whose raw pointer is 512-aligned but not aligned to the
	// declared file alignment makes ClamAV fall back to 512.
	for _, h := range p.Headers {
		if falign == 0x200 {
			break
		}
		if falign != 0 && h.SizeOfRawData != 0 && h.PointerToRawData%falign != 0 && h.PointerToRawData%0x200 == 0 {
			falign = 0x200
		}
	}
	p.SectionAlignment, p.FileAlignment, p.HeaderSize = salign, falign, hdrSize

	secs := make([]peSection, nsec)
	info := &Info{Format: PE, PE: p, Sections: make([]Section, nsec)}
	for i, h := range p.Headers {
		s := &secs[i]
		s.rva = alignDown(h.VirtualAddress, salign)
		s.vsz = alignUp(h.VirtualSize, salign)
		s.raw = alignDown(h.PointerToRawData, falign)
		s.rsz = alignUp(h.SizeOfRawData, falign)
		s.urva, s.uvsz, s.uraw, s.ursz = h.VirtualAddress, h.VirtualSize, h.PointerToRawData, h.SizeOfRawData
		if s.rsz != 0 {
			if uint64(s.raw) >= fsize || uint64(s.uraw) >= fsize {
				s.rsz, s.ursz = 0, 0 // starts past the end of the file
			} else {
				if !contained(fsize, uint64(s.raw), uint64(s.rsz)) {
					s.rsz = uint32(fsize - uint64(s.raw))
				}
				if !contained(fsize, uint64(s.uraw), uint64(s.ursz)) {
					s.ursz = uint32(fsize - uint64(s.uraw))
				}
			}
		}
		if s.vsz == 0 && s.rsz != 0 {
			s.vsz = alignUp(s.ursz, salign)
		}
		if s.urva>>31 != 0 || s.uvsz>>31 != 0 || (s.rsz != 0 && s.uraw>>31 != 0) || s.ursz>>31 != 0 {
			return nil, peErr("section %d has values with the sign bit set", i)
		}
		info.Sections[i] = Section{
			Name:           h.Name,
			VirtualAddress: int64(s.rva),
			VirtualSize:    int64(s.vsz),
			Offset:         int64(s.raw),
			Size:           int64(s.rsz),
		}
	}
	ep, ok := rvaToOffset(p.EntryRVA, secs, fsize, hdrSize)
	if !ok {
		return nil, peErr("entry point RVA 0x%x maps to no file offset", p.EntryRVA)
	}
	info.EntryPoint = int64(ep)
	if full {
		p.Imports, p.HasImports = importString(data, p, secs)
		p.VersionInfo = versionInfo(data, p, secs)
	}
	return info, nil
}

// rvaToOffset maps an RVA to a file offset as ClamAV does: an RVA inside the
// (aligned) headers maps to itself if the file is that long; otherwise the
// last section whose raw data covers it decides.
func rvaToOffset(rva uint32, secs []peSection, fsize uint64, hdrSize uint32) (uint32, bool) {
	if rva < hdrSize {
		if uint64(rva) >= fsize {
			return 0, false
		}
		return rva, true
	}
	for i := len(secs) - 1; i >= 0; i-- {
		s := &secs[i]
		if s.rsz != 0 && s.rva <= rva && s.rsz > rva-s.rva {
			return rva - s.rva + s.raw, true
		}
	}
	return 0, false
}
