package yara

import "encoding/binary"

// entryPoint computes the deprecated `entrypoint` keyword's value as
// yara 4.2 does when no module provides it: the file offset of the entry
// point of a PE (i386 or AMD64) or ELF file, found from the headers alone,
// and undefined for anything else. Its quirks are yara's: PE offsets come
// from the last section (of the first 60) starting at or below the entry
// point's RVA, even when the RVA lies past the section's end, and an ELF
// whose entry point falls in no segment or section gives 0, not undefined.
// Every read is bounds-checked: data is untrusted.
func entryPoint(data []byte) (int64, bool) {
	if off, ok := peEntryPoint(data); ok {
		return off, true
	}
	return elfEntryPoint(data)
}

const (
	dosHeaderSize   = 64
	peFileHeaderLen = 20
	peOptHeader32   = 224 // IMAGE_OPTIONAL_HEADER32, the size yara requires
	peSectionLen    = 40
	peMaxSections   = 60
)

func peEntryPoint(data []byte) (int64, bool) {
	le := binary.LittleEndian
	if len(data) < dosHeaderSize || le.Uint16(data) != 0x5A4D {
		return 0, false
	}
	lfanew := int64(int32(le.Uint32(data[0x3c:])))
	if lfanew < 0 {
		return 0, false
	}
	need := lfanew + 4 + peFileHeaderLen
	if int64(len(data)) < need {
		return 0, false
	}
	pe := data[lfanew:]
	machine := le.Uint16(pe[4:])
	if le.Uint32(pe) != 0x4550 || (machine != 0x14c && machine != 0x8664) || int64(len(data)) <= need+peOptHeader32 {
		return 0, false
	}
	rva := uint64(le.Uint32(pe[4+peFileHeaderLen+16:]))
	nsec := int(le.Uint16(pe[6:]))
	optSize := int64(le.Uint16(pe[4+16:]))
	first := 4 + peFileHeaderLen + optSize // section table, relative to pe
	var secRVA, secOff uint32
	for i := 0; i < min(nsec, peMaxSections); i++ {
		at := first + int64(i)*peSectionLen
		if at+peSectionLen >= int64(len(pe)) {
			return 0, true
		}
		va := le.Uint32(pe[at+12:])
		if rva >= uint64(va) && secRVA <= va {
			secRVA, secOff = va, le.Uint32(pe[at+20:])
		}
	}
	return int64(uint64(secOff) + (rva - uint64(secRVA))), true
}

const (
	elfTypeExec   = 2
	elfShtNull    = 0
	elfShtNoBits  = 8
	elf32HeadSize = 52
	elf64HeadSize = 64
)

func elfEntryPoint(data []byte) (int64, bool) {
	le := binary.LittleEndian
	if len(data) < 16 || le.Uint32(data) != 0x464c457f {
		return 0, false
	}
	switch data[4] {
	case 1:
		if len(data) < elf32HeadSize {
			return 0, false
		}
		return int64(elfRVAToOffset(data, false, uint64(le.Uint32(data[24:])))), true
	case 2:
		if len(data) < elf64HeadSize {
			return 0, false
		}
		return int64(elfRVAToOffset(data, true, le.Uint64(data[24:]))), true
	}
	return 0, false
}

// elfRVAToOffset maps a virtual address to a file offset through the
// program headers of executables, the section headers of anything else;
// 0 when none holds it.
func elfRVAToOffset(data []byte, is64 bool, rva uint64) uint64 {
	le := binary.LittleEndian
	u := func(off uint64, wide bool) uint64 { // a field known to be in bounds
		if wide {
			return le.Uint64(data[off:])
		}
		return uint64(le.Uint32(data[off:]))
	}
	typ := le.Uint16(data[16:])
	var tableOff, count, entSize uint64
	exec := typ == elfTypeExec
	switch {
	case exec && is64:
		tableOff, count, entSize = le.Uint64(data[32:]), uint64(le.Uint16(data[56:])), 56
	case exec:
		tableOff, count, entSize = uint64(le.Uint32(data[28:])), uint64(le.Uint16(data[44:])), 32
	case is64:
		tableOff, count, entSize = le.Uint64(data[40:]), uint64(le.Uint16(data[60:])), 64
	default:
		tableOff, count, entSize = uint64(le.Uint32(data[32:])), uint64(le.Uint16(data[48:])), 40
	}
	if tableOff == 0 || count == 0 || tableOff > uint64(len(data)) || count*entSize > uint64(len(data))-tableOff {
		return 0
	}
	for i := uint64(0); i < count; i++ {
		e := tableOff + i*entSize
		var typ, addr, off, size uint64
		switch {
		case exec && is64:
			off, addr, size = u(e+8, true), u(e+16, true), u(e+40, true)
		case exec:
			off, addr, size = u(e+4, false), u(e+8, false), u(e+20, false)
		case is64:
			typ, addr, off, size = u(e+4, false), u(e+16, true), u(e+24, true), u(e+32, true)
		default:
			typ, addr, off, size = u(e+4, false), u(e+12, false), u(e+16, false), u(e+20, false)
		}
		if !exec && (typ == elfShtNull || typ == elfShtNoBits) {
			continue
		}
		end := addr + size
		if !is64 {
			end = uint64(uint32(addr) + uint32(size)) // 32-bit sums wrap in yara
		}
		if rva >= addr && rva < end {
			return off + (rva - addr)
		}
	}
	return 0
}
