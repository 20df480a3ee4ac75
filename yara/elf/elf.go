// Package elf reads the parts of an ELF file that YARA's elf module shows:
// the file header, the section and program header tables, the symbol
// tables (.symtab and .dynsym) and the dynamic table.
//
// The reading follows yara 4.2.3's elf module, quirks included, so that
// the values match what yara computes for the same bytes, also for
// malformed files: the section and program header tables are read with
// the standard entry sizes whatever the header says, a section name is
// read from the section-name table up to the end of the file (not of the
// table), a table index is checked against the header's section count as
// stored (not byte-swapped) in a big-endian file, and the dynamic table is
// read until its DT_NULL entry or the end of the file.
//
// Every read is bounds-checked. The work and the memory are proportional
// to the input: tables are never larger than the bytes that hold them.
// Malformed input leaves the affected values unset; Parse never panics.
//
// The byte strings of the result (names, code) share the input's memory.
package elf

import (
	"encoding/binary"
	"errors"
)

// ErrFormat is returned for data that is not an ELF file yara parses: a
// bad magic, an unknown class or byte order, or data no longer than the
// file header.
var ErrFormat = errors.New("elf: not an ELF file")

// Header field values yara names.
const (
	ClassNone = 0
	Class32   = 1
	Class64   = 2

	DataLSB = 1 // little-endian
	DataMSB = 2 // big-endian

	TypeExec = 2 // ET_EXEC

	shtNull   = 0
	shtSymtab = 2
	shtStrtab = 3
	shtNobits = 8
	shtDynsym = 11
	ptDynamic = 2

	shnLoReserve = 0xff00 // sections counts from here are not parsed
	pnXNum       = 0xffff // program header counts from here are not parsed
)

// File is what yara's elf module reads of an ELF file. Fields that yara
// leaves undefined are flagged by the Has* booleans or nil slices.
type File struct {
	Class, Data byte // ELF class (Class32, Class64) and byte order

	Type, Machine    uint16
	ShOff, PhOff     uint64
	ShEntSize, ShNum uint16
	PhEntSize, PhNum uint16
	Entry            uint64 // the header's entry address
	EntryPoint       uint64 // the file offset of Entry, when HasEntryPoint
	HasEntryPoint    bool
	HasSectionTable  bool // the section header table was read
	HasSymtab        bool // symtab_entries is set
	HasDynsym        bool // dynsym_entries is set
	HasDynamic       bool // dynamic_section_entries is set
	DynamicEntries   int  // the count yara reports; Dynamic may hold more (see Dynamic)
	Sections         []Section
	Segments         []Segment
	Symtab, Dynsym   []Symbol
	Dynamic          []Dyn // entries of every PT_DYNAMIC segment, later ones written over earlier ones
}

// Section is one section header.
type Section struct {
	Type                      uint32
	Flags, Addr, Size, Offset uint64
	Name                      []byte // nil when yara leaves the name undefined
	nameIndex, link           uint32
}

// Segment is one program header.
type Segment struct {
	Type, Flags                                uint32
	Offset, Vaddr, Paddr, Filesz, Memsz, Align uint64
}

// Symbol is one entry of a symbol table.
type Symbol struct {
	Name        []byte // nil when yara leaves the name undefined
	Value, Size uint64
	Type, Bind  uint8
	Shndx       uint16
}

// Dyn is one entry of the dynamic table.
type Dyn struct{ Tag, Val uint64 }

// reader reads fields of one class and byte order.
type reader struct {
	bo   binary.ByteOrder
	is64 bool
}

func (r reader) u16(b []byte) uint16 { return r.bo.Uint16(b) }
func (r reader) u32(b []byte) uint32 { return r.bo.Uint32(b) }

// word reads an address-sized field: 4 bytes in ELF32, 8 in ELF64.
func (r reader) word(b []byte) uint64 {
	if r.is64 {
		return r.bo.Uint64(b)
	}
	return uint64(r.bo.Uint32(b))
}

// Sizes of the structures yara reads, per class.
type layout struct {
	header, shdr, phdr, sym, dyn int
}

var layouts = [3]layout{
	Class32: {header: 52, shdr: 40, phdr: 32, sym: 16, dyn: 8},
	Class64: {header: 64, shdr: 64, phdr: 56, sym: 24, dyn: 16},
}

// IsELF reports whether data starts with the ELF magic, the cheap check a
// caller makes before Parse.
func IsELF(data []byte) bool {
	return len(data) >= 16 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F'
}

// Parse reads data as yara's elf module does.
func Parse(data []byte) (*File, error) {
	if !IsELF(data) {
		return nil, ErrFormat
	}
	f := &File{Class: data[4], Data: data[5]}
	if (f.Class != Class32 && f.Class != Class64) || (f.Data != DataLSB && f.Data != DataMSB) {
		return nil, ErrFormat
	}
	lay := layouts[f.Class]
	if len(data) <= lay.header {
		return nil, ErrFormat
	}
	r := reader{bo: binary.LittleEndian, is64: f.Class == Class64}
	if f.Data == DataMSB {
		r.bo = binary.BigEndian
	}
	f.readHeader(data, r)
	f.readSections(data, r, lay)
	f.readSegments(data, r, lay)
	return f, nil
}

func (f *File) readHeader(d []byte, r reader) {
	f.Type = r.u16(d[16:])
	f.Machine = r.u16(d[18:])
	if r.is64 {
		f.Entry = r.word(d[24:])
		f.PhOff = r.word(d[32:])
		f.ShOff = r.word(d[40:])
		f.PhEntSize = r.u16(d[54:])
		f.PhNum = r.u16(d[56:])
		f.ShEntSize = r.u16(d[58:])
		f.ShNum = r.u16(d[60:])
	} else {
		f.Entry = r.word(d[24:])
		f.PhOff = r.word(d[28:])
		f.ShOff = r.word(d[32:])
		f.PhEntSize = r.u16(d[42:])
		f.PhNum = r.u16(d[44:])
		f.ShEntSize = r.u16(d[46:])
		f.ShNum = r.u16(d[48:])
	}
	if f.Entry != 0 {
		f.EntryPoint, f.HasEntryPoint = f.rvaToOffset(d, r, f.Entry)
	}
}

// shstrndx returns the header's section-name table index.
func (f *File) shstrndx(d []byte, r reader) uint16 {
	if r.is64 {
		return r.u16(d[62:])
	}
	return r.u16(d[50:])
}

// rawShNum is the header's section count read as little-endian whatever
// the file's byte order: yara compares a symbol table's link with it
// without swapping the bytes.
func (f *File) rawShNum(d []byte, r reader) uint16 {
	if r.is64 {
		return binary.LittleEndian.Uint16(d[60:])
	}
	return binary.LittleEndian.Uint16(d[48:])
}

// fits reports whether n bytes from off lie inside data of size size,
// without overflow.
func fits(size int, off, n uint64) bool {
	s := uint64(size)
	return n <= s && off <= s && off+n <= s
}

// rvaToOffset converts a virtual address to a file offset as yara does:
// through the program headers for ET_EXEC files, through the sections
// (except SHT_NULL and SHT_NOBITS ones) for the others. In ELF32 the end
// of a range is computed in 32 bits and wraps as it does in yara.
func (f *File) rvaToOffset(d []byte, r reader, rva uint64) (uint64, bool) {
	lay := layouts[f.Class]
	end := func(start, n uint64) uint64 {
		if r.is64 {
			return start + n
		}
		return uint64(uint32(start + n))
	}
	size := uint64(len(d))
	if f.Type == TypeExec {
		table := uint64(lay.phdr) * uint64(f.PhNum)
		if f.PhOff == 0 || f.PhOff > size || f.PhOff > ^uint64(0)-table || f.PhOff+table > size || f.PhNum == 0 {
			return 0, false
		}
		for i := 0; i < int(f.PhNum); i++ {
			p := d[f.PhOff+uint64(i*lay.phdr):]
			seg := readSegment(p, r)
			if rva >= seg.Vaddr && rva < end(seg.Vaddr, seg.Memsz) {
				return seg.Offset + (rva - seg.Vaddr), true
			}
		}
		return 0, false
	}
	table := uint64(lay.shdr) * uint64(f.ShNum)
	if f.ShOff == 0 || f.ShOff > size || f.ShOff > ^uint64(0)-table || f.ShOff+table > size || f.ShNum == 0 {
		return 0, false
	}
	for i := 0; i < int(f.ShNum); i++ {
		s := readSection(d[f.ShOff+uint64(i*lay.shdr):], r)
		if s.Type != shtNull && s.Type != shtNobits && rva >= s.Addr && rva < end(s.Addr, s.Size) {
			return s.Offset + (rva - s.Addr), true
		}
	}
	return 0, false
}

// readSection decodes one section header from b.
func readSection(b []byte, r reader) Section {
	var s Section
	s.nameIndex = r.u32(b[0:])
	s.Type = r.u32(b[4:])
	if r.is64 {
		s.Flags = r.word(b[8:])
		s.Addr = r.word(b[16:])
		s.Offset = r.word(b[24:])
		s.Size = r.word(b[32:])
		s.link = r.u32(b[40:])
	} else {
		s.Flags = r.word(b[8:])
		s.Addr = r.word(b[12:])
		s.Offset = r.word(b[16:])
		s.Size = r.word(b[20:])
		s.link = r.u32(b[24:])
	}
	return s
}

// readSegment decodes one program header from b.
func readSegment(b []byte, r reader) Segment {
	var s Segment
	s.Type = r.u32(b[0:])
	if r.is64 {
		s.Flags = r.u32(b[4:])
		s.Offset = r.word(b[8:])
		s.Vaddr = r.word(b[16:])
		s.Paddr = r.word(b[24:])
		s.Filesz = r.word(b[32:])
		s.Memsz = r.word(b[40:])
		s.Align = r.word(b[48:])
	} else {
		s.Offset = r.word(b[4:])
		s.Vaddr = r.word(b[8:])
		s.Paddr = r.word(b[12:])
		s.Filesz = r.word(b[16:])
		s.Memsz = r.word(b[20:])
		s.Flags = r.u32(b[24:])
		s.Align = r.word(b[28:])
	}
	return s
}

// strEntry returns the NUL-terminated string at index in the string
// table tab[base:limit], or nil as yara's str_table_entry does: when the
// table is empty or does not start with a NUL byte, the index is negative
// (as a C int) or outside the table, or the string runs to the limit.
func strEntry(d []byte, base, limit uint64, index uint32) []byte {
	if base >= limit || limit > uint64(len(d)) || d[base] != 0 || int32(index) < 0 {
		return nil
	}
	p := base + uint64(index)
	if p >= limit {
		return nil
	}
	for i := p; i < limit; i++ {
		if d[i] == 0 {
			return d[p:i:i]
		}
	}
	return nil
}

// table locates a symbol table and its string table.
type table struct {
	off, size, strOff, strSize uint64
	found                      bool
}

func (f *File) readSections(d []byte, r reader, lay layout) {
	shstr := f.shstrndx(d, r)
	size := uint64(len(d))
	if f.ShNum >= shnLoReserve || shstr >= f.ShNum || f.ShOff >= size ||
		f.ShOff+uint64(f.ShNum)*uint64(lay.shdr) > size {
		return
	}
	f.HasSectionTable = true
	tableAt := func(i uint64) uint64 { return f.ShOff + i*uint64(lay.shdr) }
	// The section-name table: yara reads names from its offset up to the
	// end of the file; an offset of 0 means no names.
	strTab := readSection(d[tableAt(uint64(shstr)):], r).Offset
	hasStrTab := strTab < size && strTab > 0
	rawNum := uint64(f.rawShNum(d, r))
	var symtab, dynsym table
	f.Sections = make([]Section, f.ShNum)
	for i := range f.Sections {
		s := readSection(d[tableAt(uint64(i)):], r)
		if hasStrTab && uint64(s.nameIndex) < size {
			s.Name = strEntry(d, strTab, size, s.nameIndex)
		}
		if (s.Type == shtSymtab || s.Type == shtDynsym) && uint64(s.link) < rawNum {
			// The linked header may lie past the table, as long as it
			// is inside the file.
			at := tableAt(uint64(s.link))
			if fits(len(d), at, uint64(lay.shdr)) {
				str := readSection(d[at:], r)
				if str.Type == shtStrtab {
					t := table{off: s.Offset, size: s.Size, strOff: str.Offset, strSize: str.Size, found: true}
					if s.Type == shtSymtab {
						symtab = t
					} else {
						dynsym = t
					}
				}
			}
		}
		f.Sections[i] = s
	}
	f.Symtab, f.HasSymtab = readSymbols(d, r, lay, symtab)
	f.Dynsym, f.HasDynsym = readSymbols(d, r, lay, dynsym)
}

// readSymbols reads the symbol table t when it and its string table lie
// inside the file.
func readSymbols(d []byte, r reader, lay layout, t table) ([]Symbol, bool) {
	if !t.found || !fits(len(d), t.strOff, t.strSize) || !fits(len(d), t.off, t.size) {
		return nil, false
	}
	n := t.size / uint64(lay.sym)
	syms := make([]Symbol, n)
	for j := range syms {
		b := d[t.off+uint64(j*lay.sym):]
		var s Symbol
		nameIdx := r.u32(b)
		var info byte
		if r.is64 {
			info = b[4]
			s.Shndx = r.u16(b[6:])
			s.Value = r.word(b[8:])
			s.Size = r.word(b[16:])
		} else {
			s.Value = r.word(b[4:])
			s.Size = r.word(b[8:])
			info = b[12]
			s.Shndx = r.u16(b[14:])
		}
		s.Bind, s.Type = info>>4, info&0xf
		s.Name = strEntry(d, t.strOff, t.strOff+t.strSize, nameIdx)
		syms[j] = s
	}
	return syms, true
}

func (f *File) readSegments(d []byte, r reader, lay layout) {
	size := uint64(len(d))
	if f.PhNum == 0 || f.PhNum >= pnXNum || f.PhOff >= size ||
		f.PhOff+uint64(f.PhNum)*uint64(lay.phdr) > size {
		return
	}
	f.Segments = make([]Segment, f.PhNum)
	for i := range f.Segments {
		s := readSegment(d[f.PhOff+uint64(i*lay.phdr):], r)
		f.Segments[i] = s
		if s.Type != ptDynamic {
			continue
		}
		// yara reads entries until DT_NULL or the end of the file; a
		// later dynamic segment writes over the entries of an earlier
		// one, from the first.
		j := 0
		for off := s.Offset; fits(len(d), off, uint64(lay.dyn)); off += uint64(lay.dyn) {
			e := Dyn{Tag: r.word(d[off:]), Val: r.word(d[off+uint64(lay.dyn/2):])}
			if j < len(f.Dynamic) {
				f.Dynamic[j] = e
			} else {
				f.Dynamic = append(f.Dynamic, e)
			}
			j++
			if e.Tag == 0 {
				break
			}
		}
		f.DynamicEntries, f.HasDynamic = j, true
	}
}
