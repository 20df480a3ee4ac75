package pe

import (
	"encoding/binary"
	"errors"
)

// Limits, yara 4.2.3's where it has one.
const (
	MaxSections  = 96    // MAX_PE_SECTIONS
	MaxImports   = 16384 // MAX_PE_IMPORTS: descriptors, and functions in all
	MaxExports   = 8192  // MAX_PE_EXPORTS
	MaxResources = 65536 // MAX_RESOURCES (yara keeps one more)

	// maxExportNameLen and maxImportNameLen cut long names, as yara does.
	maxExportNameLen = 512
	maxImportNameLen = 512
	maxPath          = 260 // MAX_PATH, the bound of a PDB path

	// maxResourceEntries bounds the directory entries the resource walk
	// visits. yara has no such bound: three levels of 65,536 entries that
	// point back at one directory make it loop 2^48 times. No real file
	// comes near it.
	maxResourceEntries = 1 << 18

	// maxDelayedFunctions bounds the functions read from the delay-load
	// directory in all (yara stops only at a zero or unmapped pointer, so
	// descriptors sharing one long table cost it their number times the
	// table's length).
	maxDelayedFunctions = 1 << 16

	// maxVersionSteps bounds the blocks the version-information walks
	// visit in all: a file can make every one of 65,536 resources a copy
	// of one large VS_VERSIONINFO.
	maxVersionSteps = 1 << 20
)

// Structure sizes.
const (
	dosHeaderSize  = 64
	fileHeaderSize = 20
	opt32Size      = 224 // IMAGE_OPTIONAL_HEADER32
	opt64Size      = 240 // IMAGE_OPTIONAL_HEADER64
	sectionSize    = 40
	dataDirSize    = 8
	numDataDirs    = 16
)

// Magic numbers.
const (
	Magic32  = 0x10b // IMAGE_NT_OPTIONAL_HDR32_MAGIC
	Magic64  = 0x20b // IMAGE_NT_OPTIONAL_HDR64_MAGIC
	MagicROM = 0x107 // IMAGE_ROM_OPTIONAL_HDR_MAGIC

	// FileDLL is IMAGE_FILE_DLL of the file header's characteristics.
	FileDLL = 0x2000
)

// ErrNotPE is returned by Parse for data that yara does not take for a PE
// file.
var ErrNotPE = errors.New("pe: not a PE file")

var le = binary.LittleEndian

// FileHeader is the COFF file header.
type FileHeader struct {
	Machine              uint16
	NumberOfSections     uint16
	TimeDateStamp        uint32
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
}

// OptionalHeader holds the fields of the PE32 or PE32+ optional header
// (BaseOfData is zero in PE32+, which has none).
type OptionalHeader struct {
	Magic                       uint16
	MajorLinkerVersion          uint8
	MinorLinkerVersion          uint8
	SizeOfCode                  uint32
	SizeOfInitializedData       uint32
	SizeOfUninitializedData     uint32
	AddressOfEntryPoint         uint32
	BaseOfCode                  uint32
	BaseOfData                  uint32
	ImageBase                   uint64
	SectionAlignment            uint32
	FileAlignment               uint32
	MajorOperatingSystemVersion uint16
	MinorOperatingSystemVersion uint16
	MajorImageVersion           uint16
	MinorImageVersion           uint16
	MajorSubsystemVersion       uint16
	MinorSubsystemVersion       uint16
	Win32VersionValue           uint32
	SizeOfImage                 uint32
	SizeOfHeaders               uint32
	CheckSum                    uint32
	Subsystem                   uint16
	DllCharacteristics          uint16
	SizeOfStackReserve          uint64
	SizeOfStackCommit           uint64
	SizeOfHeapReserve           uint64
	SizeOfHeapCommit            uint64
	LoaderFlags                 uint32
	NumberOfRvaAndSizes         uint32
}

// DataDirectory is one entry of the optional header's data directory.
type DataDirectory struct {
	VirtualAddress uint32
	Size           uint32
}

// Section is one section header. Name is the eight-byte name with its
// trailing NULs removed (NULs inside it stay). FullName is the long name
// from the COFF string table for names of the form "/123", or Name; it is
// nil (undefined in yara) when the string table entry is not a printable
// string inside the file.
type Section struct {
	Name                 []byte
	FullName             []byte
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32
}

// File is a parsed PE file. Fields yara leaves undefined are nil slices or
// flagged as absent.
type File struct {
	data  []byte
	ntOff int // offset of the "PE\0\0" signature
	Is64  bool
	wide  [2]wideRun // see wideFits

	versionSteps int   // blocks visited by parseVersionInfo, for maxVersionSteps
	nameBudget   int64 // bytes validDLLName may still scan

	FileHeader     FileHeader
	OptionalHeader OptionalHeader

	// EntryPoint is the file offset of the entry point, or -1 when its
	// RVA maps to no offset: yara 4.2.3 then stores -1 (not undefined).
	EntryPoint int64

	// DataDirectories holds min(NumberOfRvaAndSizes, 16) entries (none
	// when the count does not fit a C int, as in yara).
	DataDirectories []DataDirectory
	Sections        []Section

	// OverlayOffset and OverlaySize locate data after the end of the
	// section with the furthest raw data; both are 0 without an overlay.
	OverlayOffset, OverlaySize int64

	Rich    *RichSignature
	PDBPath []byte // nil when no CodeView record gives one

	// ResourceDirectory reports a resource directory header was read:
	// ResourceTimestamp and the version are defined.
	ResourceDirectory bool
	ResourceTimestamp uint32
	ResourceMajor     uint16
	ResourceMinor     uint16
	Resources         []Resource
	VersionInfo       []VersionEntry

	Imports                   []ImportedDLL
	NumberOfImports           int
	NumberOfImportedFunctions int

	DelayedImports                   []ImportedDLL
	NumberOfDelayedImports           int
	NumberOfDelayedImportedFunctions int

	// ExportDirectory reports the export directory was read:
	// ExportTimestamp is defined.
	ExportDirectory bool
	ExportTimestamp uint32
	DLLName         []byte // nil when undefined
	Exports         []Export
}

// Data returns the bytes the file was parsed from.
func (f *File) Data() []byte { return f.data }

// HeaderOffset returns the offset of the NT headers (e_lfanew).
func (f *File) HeaderOffset() int { return f.ntOff }

// IsPE reports whether data starts like a PE file for yara 4.2.3: an MZ
// header whose e_lfanew points at a PE signature followed by a whole
// optional header (of the size its magic says; any machine type). It is
// the cheap check to make before Parse.
func IsPE(data []byte) bool {
	_, ok := header(data)
	return ok
}

// header checks what yara's pe_get_header checks and returns the offset
// of the NT headers.
func header(data []byte) (int, bool) {
	if len(data) < dosHeaderSize || le.Uint16(data) != 0x5a4d {
		return 0, false
	}
	lfanew := int64(int32(le.Uint32(data[0x3c:])))
	if lfanew < 0 {
		return 0, false
	}
	size := int64(len(data))
	need := lfanew + 4 + fileHeaderSize
	if size < need || le.Uint32(data[lfanew:]) != 0x4550 {
		return 0, false
	}
	if size < need+opt32Size {
		return 0, false
	}
	if le.Uint16(data[need:]) == Magic64 {
		need += opt64Size
	} else {
		need += opt32Size
	}
	if size < need {
		return 0, false
	}
	return int(lfanew), true
}

// Parse parses data as yara's pe module does. It returns ErrNotPE when
// data is not a PE file; any other malformation leaves fields unset.
func Parse(data []byte) (*File, error) {
	nt, ok := header(data)
	if !ok {
		return nil, ErrNotPE
	}
	f := &File{data: data, ntOff: nt, nameBudget: 16*int64(len(data)) + 1<<20}
	f.readHeaders()
	f.EntryPoint = f.RVAToOffset(uint64(f.OptionalHeader.AddressOfEntryPoint))
	f.readDataDirectories()
	f.parseResources()
	f.readSections()
	f.parseRich()
	f.parseDebug()
	f.parseImports()
	f.parseDelayedImports()
	f.parseExports()
	return f, nil
}

func (f *File) readHeaders() {
	d := f.data[f.ntOff+4:]
	h := &f.FileHeader
	h.Machine = le.Uint16(d)
	h.NumberOfSections = le.Uint16(d[2:])
	h.TimeDateStamp = le.Uint32(d[4:])
	h.PointerToSymbolTable = le.Uint32(d[8:])
	h.NumberOfSymbols = le.Uint32(d[12:])
	h.SizeOfOptionalHeader = le.Uint16(d[16:])
	h.Characteristics = le.Uint16(d[18:])

	o := &f.OptionalHeader
	d = d[fileHeaderSize:]
	o.Magic = le.Uint16(d)
	f.Is64 = o.Magic == Magic64
	o.MajorLinkerVersion = d[2]
	o.MinorLinkerVersion = d[3]
	o.SizeOfCode = le.Uint32(d[4:])
	o.SizeOfInitializedData = le.Uint32(d[8:])
	o.SizeOfUninitializedData = le.Uint32(d[12:])
	o.AddressOfEntryPoint = le.Uint32(d[16:])
	o.BaseOfCode = le.Uint32(d[20:])
	if f.Is64 {
		o.ImageBase = le.Uint64(d[24:])
	} else {
		o.BaseOfData = le.Uint32(d[24:])
		o.ImageBase = uint64(le.Uint32(d[28:]))
	}
	o.SectionAlignment = le.Uint32(d[32:])
	o.FileAlignment = le.Uint32(d[36:])
	o.MajorOperatingSystemVersion = le.Uint16(d[40:])
	o.MinorOperatingSystemVersion = le.Uint16(d[42:])
	o.MajorImageVersion = le.Uint16(d[44:])
	o.MinorImageVersion = le.Uint16(d[46:])
	o.MajorSubsystemVersion = le.Uint16(d[48:])
	o.MinorSubsystemVersion = le.Uint16(d[50:])
	o.Win32VersionValue = le.Uint32(d[52:])
	o.SizeOfImage = le.Uint32(d[56:])
	o.SizeOfHeaders = le.Uint32(d[60:])
	o.CheckSum = le.Uint32(d[64:])
	o.Subsystem = le.Uint16(d[68:])
	o.DllCharacteristics = le.Uint16(d[70:])
	if f.Is64 {
		o.SizeOfStackReserve = le.Uint64(d[72:])
		o.SizeOfStackCommit = le.Uint64(d[80:])
		o.SizeOfHeapReserve = le.Uint64(d[88:])
		o.SizeOfHeapCommit = le.Uint64(d[96:])
		o.LoaderFlags = le.Uint32(d[104:])
		o.NumberOfRvaAndSizes = le.Uint32(d[108:])
	} else {
		o.SizeOfStackReserve = uint64(le.Uint32(d[72:]))
		o.SizeOfStackCommit = uint64(le.Uint32(d[76:]))
		o.SizeOfHeapReserve = uint64(le.Uint32(d[80:]))
		o.SizeOfHeapCommit = uint64(le.Uint32(d[84:]))
		o.LoaderFlags = le.Uint32(d[88:])
		o.NumberOfRvaAndSizes = le.Uint32(d[92:])
	}
}

// optOff returns the offset of the optional header; dataDirOff that of
// its data directory.
func (f *File) optOff() int { return f.ntOff + 4 + fileHeaderSize }

func (f *File) dataDirOff() int {
	if f.Is64 {
		return f.optOff() + 112
	}
	return f.optOff() + 96
}

// sectionTableOff is where yara looks for the section headers: right
// after the optional header as the file header sizes it
// (IMAGE_FIRST_SECTION).
func (f *File) sectionTableOff() int64 {
	return int64(f.optOff()) + int64(f.FileHeader.SizeOfOptionalHeader)
}

// fits reports whether n bytes at off lie inside the data (yara's
// fits_in_pe).
func (f *File) fits(off, n int64) bool {
	size := int64(len(f.data))
	return off >= 0 && n >= 0 && n <= size && off <= size-n
}

// space returns the bytes available from off to the end of the data (0
// outside it).
func (f *File) space(off int64) int64 {
	if off < 0 || off >= int64(len(f.data)) {
		return 0
	}
	return int64(len(f.data)) - off
}

// Directory returns data directory entry i as yara 4.2.3's
// pe_get_directory_entry does: present when i is at most (not below)
// NumberOfRvaAndSizes, whatever SizeOfOptionalHeader says. The entry is
// read from the optional header, which always holds all sixteen.
func (f *File) Directory(i int) (DataDirectory, bool) {
	if i < 0 || i >= numDataDirs || uint32(i) > f.OptionalHeader.NumberOfRvaAndSizes {
		return DataDirectory{}, false
	}
	off := f.dataDirOff() + i*dataDirSize
	return DataDirectory{le.Uint32(f.data[off:]), le.Uint32(f.data[off+4:])}, true
}

func (f *File) readDataDirectories() {
	n := int32(f.OptionalHeader.NumberOfRvaAndSizes) // a C int in yara
	if n > numDataDirs {
		n = numDataDirs
	}
	off := f.dataDirOff()
	for i := 0; i < int(n); i++ {
		at := off + i*dataDirSize
		f.DataDirectories = append(f.DataDirectories, DataDirectory{le.Uint32(f.data[at:]), le.Uint32(f.data[at+4:])})
	}
}

func (f *File) readSections() {
	n := min(int(f.FileHeader.NumberOfSections), MaxSections)
	at := f.sectionTableOff()
	var highOff, highSize uint64
	for i := 0; i < n; i++ {
		if !f.fits(at, sectionSize) {
			break
		}
		d := f.data[at : at+sectionSize]
		nameLen := 8
		for nameLen > 0 && d[nameLen-1] == 0 {
			nameLen--
		}
		s := Section{
			Name:                 d[:nameLen:nameLen],
			VirtualSize:          le.Uint32(d[8:]),
			VirtualAddress:       le.Uint32(d[12:]),
			SizeOfRawData:        le.Uint32(d[16:]),
			PointerToRawData:     le.Uint32(d[20:]),
			PointerToRelocations: le.Uint32(d[24:]),
			PointerToLinenumbers: le.Uint32(d[28:]),
			NumberOfRelocations:  le.Uint16(d[32:]),
			NumberOfLinenumbers:  le.Uint16(d[34:]),
			Characteristics:      le.Uint32(d[36:]),
		}
		s.FullName = f.fullSectionName(s.Name)
		f.Sections = append(f.Sections, s)
		// yara sums the two 32-bit fields in 32 bits before comparing
		// with the 64-bit end of the highest section so far.
		end := uint64(s.PointerToRawData + s.SizeOfRawData)
		if end > highOff+highSize {
			highOff, highSize = uint64(s.PointerToRawData), uint64(s.SizeOfRawData)
		}
		at += sectionSize
	}
	last := highOff + highSize
	if last != 0 && uint64(len(f.data)) > last {
		f.OverlayOffset = int64(last)
		f.OverlaySize = int64(uint64(len(f.data)) - last)
	}
}

// fullSectionName resolves a "/123" name through the COFF string table
// when the file has a symbol table, as yara's pe_get_section_full_name.
func (f *File) fullSectionName(name []byte) []byte {
	coff := uint64(f.FileHeader.PointerToSymbolTable)
	if coff == 0 || len(name) == 0 || name[0] != '/' {
		return name
	}
	strtab := coff + uint64(f.FileHeader.NumberOfSymbols)*18
	var idx uint64
	for i := 1; i < 8 && i < len(name) && name[i] >= '0' && name[i] <= '9'; i++ {
		idx = idx*10 + uint64(name[i]-'0')
	}
	start := strtab + idx
	if start >= uint64(len(f.data)) {
		return nil
	}
	for i := start; i < uint64(len(f.data)); i++ {
		c := f.data[i]
		if c == 0 {
			return f.data[start:i:i]
		}
		if c < 0x20 || c > 0x7e {
			return nil
		}
	}
	return nil
}

// RVAToOffset maps a relative virtual address to a file offset as yara's
// pe_rva_to_offset does, or returns -1. The section holding the RVA is
// the one with the highest virtual address among those whose virtual
// range holds it; its raw offset is rounded down to the file alignment
// (capped at 0x200); RVAs below the first section map to themselves. A
// section header outside the data makes every RVA unmappable.
func (f *File) RVAToOffset(rva uint64) int64 {
	n := min(int(f.FileHeader.NumberOfSections), MaxSections)
	at := f.sectionTableOff()
	lowest := uint32(0xffffffff)
	var secRVA, secOff, secRaw uint32
	for i := 0; i < n; i++ {
		if !f.fits(at, sectionSize) {
			return -1
		}
		va := le.Uint32(f.data[at+12:])
		vsize := le.Uint32(f.data[at+8:])
		if lowest > va {
			lowest = va
		}
		if rva >= uint64(va) && rva-uint64(va) < uint64(vsize) && secRVA <= va {
			align := min(f.OptionalHeader.FileAlignment, 0x200)
			secRVA = va
			secOff = le.Uint32(f.data[at+20:])
			secRaw = le.Uint32(f.data[at+16:])
			if align != 0 {
				secOff -= secOff % align
			}
		}
		at += sectionSize
	}
	if rva < uint64(lowest) {
		secRVA, secOff, secRaw = 0, 0, uint32(len(f.data))
	}
	if rva-uint64(secRVA) >= uint64(secRaw) {
		return -1
	}
	off := uint64(secOff) + (rva - uint64(secRVA))
	if off >= uint64(len(f.data)) {
		return -1
	}
	return int64(off)
}

// cstring returns the NUL-terminated string at off, at most max bytes
// (max < 0: no limit), cut at the end of the data: strnlen/strndup.
func (f *File) cstring(off int64, max int64) []byte {
	if off < 0 || off >= int64(len(f.data)) {
		return f.data[:0:0]
	}
	end := int64(len(f.data))
	if max >= 0 && off+max < end {
		end = off + max
	}
	b := f.data[off:end]
	for i, c := range b {
		if c == 0 {
			return b[:i:i]
		}
	}
	return b[:len(b):len(b)]
}
