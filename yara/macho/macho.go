// Package macho reads the parts of a Mach-O file, thin or fat (universal),
// that YARA's macho module shows: the header, the segments with their
// sections, and the entry point and stack size from LC_MAIN or
// LC_UNIXTHREAD.
//
// The reading follows yara 4.2.3's macho module, quirks included: the
// header must have room for the 64-bit header even in a 32-bit file, the
// load commands are walked twice (segments first, then the entry point,
// which LC_UNIXTHREAD gives as an address that the segments convert to a
// file offset), a segment command too short for its structure still
// counts as a segment, and each file of a fat binary is read as Mach-O
// whatever its magic says.
//
// Every read is bounds-checked and the work is proportional to the input:
// a load command is read only where it lies inside the data. Malformed
// input leaves the affected values unset; Parse never panics.
//
// The byte strings of the result (names, code) share the input's memory.
package macho

import (
	"encoding/binary"
	"errors"
)

// ErrFormat is returned for data that starts with neither a Mach-O nor a
// fat magic.
var ErrFormat = errors.New("macho: not a Mach-O file")

// MaxFatParse bounds the bytes parsed in a fat binary's files, as a
// multiple of the binary's size.
const MaxFatParse = 4

// Magic numbers, as read little-endian from the first four bytes.
const (
	MagicLE32 = 0xfeedface // MH_MAGIC
	MagicBE32 = 0xcefaedfe // MH_CIGAM
	MagicLE64 = 0xfeedfacf // MH_MAGIC_64
	MagicBE64 = 0xcffaedfe // MH_CIGAM_64
	FatMagic  = 0xcafebabe // FAT_MAGIC
	FatCigam  = 0xbebafeca // FAT_CIGAM
	Fat64     = 0xcafebabf // FAT_MAGIC_64
	Fat64Cig  = 0xbfbafeca // FAT_CIGAM_64
)

// CPU types whose thread state yara reads the entry point from.
const (
	cpuMC680x0   = 6
	cpuX86       = 7
	cpuX86_64    = 0x01000007
	cpuARM       = 12
	cpuARM64     = 0x0100000c
	cpuMC88000   = 13
	cpuSPARC     = 14
	cpuPowerPC   = 18
	cpuPowerPC64 = 0x01000012
)

const (
	lcSegment    = 0x1
	lcUnixThread = 0x5
	lcSegment64  = 0x19
	lcMain       = 0x80000028

	headerSize64 = 32
	headerSize32 = 28
	segSize32    = 56
	segSize64    = 72
	sectSize32   = 68
	sectSize64   = 80
	threadCmd    = 16 // cmd, cmdsize, flavor, count
	mainCmd      = 24 // cmd, cmdsize, entryoff, stacksize
)

// File is one Mach-O file: the whole input, or one architecture of a fat
// binary.
type File struct {
	Magic, CPUType, CPUSubtype, FileType uint32
	NCmds, SizeOfCmds, Flags, Reserved   uint32
	Is64                                 bool // Reserved is read only in 64-bit files
	// Segments has one entry per LC_SEGMENT or LC_SEGMENT_64 command; it
	// is nil for a command too short for the segment structure.
	Segments               []*Segment
	EntryPoint, StackSize  uint64
	HasEntry, HasStackSize bool
	Parsed                 bool // false when the data was too short for a header
}

// Segment is one segment command and its sections.
type Segment struct {
	Name                              []byte
	VMAddr, VMSize, FileOff, FileSize uint64
	MaxProt, InitProt, NSects, Flags  uint32
	Sections                          []Section
}

// Section is one section of a segment.
type Section struct {
	SectName, SegName                    []byte
	Addr, Size                           uint64
	Offset, Align, RelOff, NReloc, Flags uint32
	Reserved1, Reserved2, Reserved3      uint32
	Is64                                 bool // Reserved3 exists only in 64-bit sections
}

// Fat is a fat (universal) binary.
type Fat struct {
	Magic, NArch uint32
	// Arches and Files are read only when the architecture table fits in
	// the data; Files[i] is nil when architecture i lies outside it.
	Arches []FatArch
	Files  []*File
}

// FatArch is one entry of a fat binary's architecture table.
type FatArch struct {
	CPUType, CPUSubtype uint32
	Offset, Size        uint64
	Align               uint32
}

// Kind tells what Detect found.
type Kind int

const (
	KindNone Kind = iota
	KindThin
	KindFat
)

// Detect reports whether data is a thin or fat Mach-O file by its magic,
// the cheap check before parsing.
func Detect(data []byte) Kind {
	if len(data) < 4 {
		return KindNone
	}
	switch binary.LittleEndian.Uint32(data) {
	case MagicLE32, MagicBE32, MagicLE64, MagicBE64:
		return KindThin
	case FatMagic, FatCigam, Fat64, Fat64Cig:
		return KindFat
	}
	return KindNone
}

// Parse reads a thin Mach-O file. Data whose magic is not a Mach-O one is
// read as one too (yara does so for the files inside a fat binary).
func Parse(data []byte) *File {
	f := &File{}
	if len(data) < headerSize64 {
		return f
	}
	f.Parsed = true
	f.Magic = binary.LittleEndian.Uint32(data)
	is32 := data[0] == 0xce || data[3] == 0xce
	f.Is64 = !is32
	hsize := headerSize64
	if is32 {
		hsize = headerSize32
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.Magic == MagicBE32 || f.Magic == MagicBE64 || f.Magic == FatCigam || f.Magic == Fat64Cig {
		bo = binary.BigEndian
	}
	f.CPUType = bo.Uint32(data[4:])
	f.CPUSubtype = bo.Uint32(data[8:])
	f.FileType = bo.Uint32(data[12:])
	f.NCmds = bo.Uint32(data[16:])
	f.SizeOfCmds = bo.Uint32(data[20:])
	f.Flags = bo.Uint32(data[24:])
	if f.Is64 {
		f.Reserved = bo.Uint32(data[28:])
	}
	// First pass: segments.
	f.walk(data, hsize, bo, func(cmd uint32, c []byte) {
		switch cmd {
		case lcSegment:
			f.Segments = append(f.Segments, readSegment(c, bo, false))
		case lcSegment64:
			f.Segments = append(f.Segments, readSegment(c, bo, true))
		}
	})
	// Second pass: the entry point, which may need the segments.
	f.walk(data, hsize, bo, func(cmd uint32, c []byte) {
		switch cmd {
		case lcUnixThread:
			f.unixThread(c, bo)
		case lcMain:
			if len(c) >= mainCmd {
				f.EntryPoint, f.HasEntry = bo.Uint64(c[8:]), true
				f.StackSize, f.HasStackSize = bo.Uint64(c[16:]), true
			}
		}
	})
	return f
}

// walk calls fn for each load command, with the data from the command to
// the end of the file, stopping as yara does at a command that does not
// fit or is smaller than a load command. The number of commands is
// bounded by the data: each takes at least 8 bytes.
func (f *File) walk(data []byte, hsize int, bo binary.ByteOrder, fn func(cmd uint32, rest []byte)) {
	off := uint64(hsize)
	size := uint64(len(data))
	for i := uint32(0); i < f.NCmds; i++ {
		if off+8 > size {
			return
		}
		cmd := bo.Uint32(data[off:])
		cmdsize := uint64(bo.Uint32(data[off+4:]))
		if size-off < cmdsize || cmdsize < 8 {
			return
		}
		fn(cmd, data[off:])
		off += cmdsize
	}
}

// readSegment reads a segment command and the sections its command size
// has room for; nil when the data is too short for the segment itself.
func readSegment(c []byte, bo binary.ByteOrder, is64 bool) *Segment {
	segSize, sectSize := segSize32, sectSize32
	if is64 {
		segSize, sectSize = segSize64, sectSize64
	}
	if len(c) < segSize {
		return nil
	}
	s := &Segment{Name: cName(c[8:24])}
	cmdsize := uint64(bo.Uint32(c[4:]))
	var p []byte
	if is64 {
		s.VMAddr, s.VMSize = bo.Uint64(c[24:]), bo.Uint64(c[32:])
		s.FileOff, s.FileSize = bo.Uint64(c[40:]), bo.Uint64(c[48:])
		p = c[56:]
	} else {
		s.VMAddr, s.VMSize = uint64(bo.Uint32(c[24:])), uint64(bo.Uint32(c[28:]))
		s.FileOff, s.FileSize = uint64(bo.Uint32(c[32:])), uint64(bo.Uint32(c[36:]))
		p = c[40:]
	}
	s.MaxProt, s.InitProt = bo.Uint32(p), bo.Uint32(p[4:])
	s.NSects, s.Flags = bo.Uint32(p[8:]), bo.Uint32(p[12:])
	// cmdsize is at most the data left (walk checked), so the sections
	// read are inside the data.
	parsed := uint64(segSize)
	for j := uint32(0); j < s.NSects; j++ {
		parsed += uint64(sectSize)
		if cmdsize < parsed {
			break
		}
		b := c[parsed-uint64(sectSize):]
		sec := Section{SectName: cName(b[0:16]), SegName: cName(b[16:32]), Is64: is64}
		var q []byte
		if is64 {
			sec.Addr, sec.Size = bo.Uint64(b[32:]), bo.Uint64(b[40:])
			q = b[48:]
		} else {
			sec.Addr, sec.Size = uint64(bo.Uint32(b[32:])), uint64(bo.Uint32(b[36:]))
			q = b[40:]
		}
		sec.Offset, sec.Align, sec.RelOff = bo.Uint32(q), bo.Uint32(q[4:]), bo.Uint32(q[8:])
		sec.NReloc, sec.Flags = bo.Uint32(q[12:]), bo.Uint32(q[16:])
		sec.Reserved1, sec.Reserved2 = bo.Uint32(q[20:]), bo.Uint32(q[24:])
		if is64 {
			sec.Reserved3 = bo.Uint32(q[28:])
		}
		s.Sections = append(s.Sections, sec)
	}
	return s
}

// cName returns b up to its first NUL byte (a fixed-size name field).
func cName(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i:i]
		}
	}
	return b[:len(b):len(b)]
}

// threadPC gives, per CPU type, the size of the thread state yara requires
// and the offset and width of the program counter in it.
var threadPC = map[uint32]struct {
	size, off int
	is64      bool
}{
	cpuMC680x0:   {72, 68, false},
	cpuMC88000:   {136, 124, false},
	cpuSPARC:     {76, 4, false},
	cpuPowerPC:   {160, 0, false},
	cpuX86:       {64, 40, false},
	cpuARM:       {68, 60, false},
	cpuX86_64:    {168, 128, true},
	cpuARM64:     {272, 256, true},
	cpuPowerPC64: {304, 0, true},
}

// unixThread reads the entry point of an LC_UNIXTHREAD command: the
// thread state's program counter, converted to a file offset through the
// segments. c runs from the command to the end of the data.
func (f *File) unixThread(c []byte, bo binary.ByteOrder) {
	if len(c) < threadCmd {
		return
	}
	size := uint64(bo.Uint32(c[4:]))
	size = min(size, uint64(len(c)))
	if size < threadCmd {
		return
	}
	state := c[threadCmd:size]
	pc, ok := threadPC[f.CPUType]
	if !ok || len(state) < pc.size {
		return
	}
	var addr uint64
	if pc.is64 {
		addr = bo.Uint64(state[pc.off:])
	} else {
		addr = uint64(bo.Uint32(state[pc.off:]))
	}
	if off, ok := f.rvaToOffset(addr); ok {
		f.EntryPoint, f.HasEntry = off, true
	}
}

// rvaToOffset converts a virtual address to a file offset with the first
// segment containing it.
func (f *File) rvaToOffset(addr uint64) (uint64, bool) {
	for _, s := range f.Segments {
		if s == nil {
			continue
		}
		if addr >= s.VMAddr && addr < s.VMAddr+s.VMSize {
			return s.FileOff + (addr - s.VMAddr), true
		}
	}
	return 0, false
}

// ParseFat reads a fat binary and the Mach-O file of each architecture.
// The architecture table is read only when it fits in the data, so it is
// never larger than the data. Architectures may all point at the same
// bytes, though, so the files are parsed only while the bytes they cover
// add up to at most MaxFatParse times the data (plus 1 MiB): yara has no
// such limit, and a crafted table of many overlapping files makes it
// quadratic; real universal binaries stay far below it.
func ParseFat(data []byte) *Fat {
	fat := &Fat{}
	if len(data) < 8 {
		return fat
	}
	fat.Magic = binary.BigEndian.Uint32(data)
	fat.NArch = binary.BigEndian.Uint32(data[4:])
	is32 := data[3] == 0xbe
	archSize := uint64(32)
	if is32 {
		archSize = 20
	}
	if uint64(len(data)) < 8+uint64(fat.NArch)*archSize {
		return fat
	}
	fat.Arches = make([]FatArch, fat.NArch)
	fat.Files = make([]*File, fat.NArch)
	budget := MaxFatParse*uint64(len(data)) + 1<<20
	for i := range fat.Arches {
		b := data[8+uint64(i)*archSize:]
		a := FatArch{CPUType: binary.BigEndian.Uint32(b), CPUSubtype: binary.BigEndian.Uint32(b[4:])}
		if is32 {
			a.Offset = uint64(binary.BigEndian.Uint32(b[8:]))
			a.Size = uint64(binary.BigEndian.Uint32(b[12:]))
			a.Align = binary.BigEndian.Uint32(b[16:])
		} else {
			a.Offset = binary.BigEndian.Uint64(b[8:])
			a.Size = binary.BigEndian.Uint64(b[16:])
			a.Align = binary.BigEndian.Uint32(b[24:])
		}
		fat.Arches[i] = a
		if a.Offset+a.Size < a.Offset || uint64(len(data)) < a.Offset+a.Size || a.Size > budget {
			continue
		}
		budget -= a.Size
		fat.Files[i] = Parse(data[a.Offset : a.Offset+a.Size])
	}
	return fat
}
