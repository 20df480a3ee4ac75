// Package exe parses what ClamAV signatures need of executables: the entry
// point as a file offset (EP+n offsets, the EntryPoint: condition), the
// sections (Sx+n, SEx, SL+n offsets, NumberOfSections:, .mdb section
// hashes) and, for PE files, the import-table hash of .imp signatures.
//
// The parsers reproduce ClamAV 1.4's arithmetic, quirks included (aligned
// PE section bounds, 32-bit truncation, the first ELF program header that
// covers the entry point, Mach-O entry points only for the CPUs ClamAV
// reads them for), because a signature's offsets only mean what they mean
// in ClamAV. Every read is bounds-checked; hostile input yields an error,
// never a panic, and the work done is bounded by the input size and the
// limits below.
package exe

import (
	"encoding/binary"
	"errors"
)

// Format is an executable format.
type Format uint8

// The formats Parse knows.
const (
	Unknown Format = iota
	PE
	ELF
	MachO
)

func (f Format) String() string {
	switch f {
	case PE:
		return "PE"
	case ELF:
		return "ELF"
	case MachO:
		return "Mach-O"
	}
	return "unknown"
}

// Section is one section as ClamAV sees it. Offset and Size delimit the raw
// bytes in the file: for PE the file-aligned PointerToRawData and the
// file-aligned SizeOfRawData clipped to the end of the file (zero for a
// section that starts past it), which are also the bytes an .mdb signature
// hashes; for ELF the section header's sh_offset and sh_size; for Mach-O
// the section's file offset and its size rounded up to its alignment.
type Section struct {
	Name           string
	VirtualAddress int64
	VirtualSize    int64
	Offset         int64
	Size           int64
}

// Info is what Parse learns of an executable.
type Info struct {
	Format Format
	// EntryPoint is the file offset of the entry point, as ClamAV computes
	// it (0 when the executable has none, e.g. an ELF object file).
	EntryPoint int64
	// Sections in header order: index x is ClamAV's section x.
	Sections []Section
	// PE holds PE-only details; nil for other formats.
	PE *PEInfo
}

// Errors Parse returns; parse errors wrap ErrFormat.
var (
	// ErrFormat means the data is not a well-formed executable of a known
	// format, as far as ClamAV would use it: ClamAV then has no entry
	// point or sections for it and EP/section-relative signatures cannot
	// match.
	ErrFormat = errors.New("exe: malformed executable")
	// ErrUniversal means the data is a Mach-O universal (fat) binary: ClamAV
	// gives the container no entry point or sections and scans each
	// architecture as an object of its own (see FatArches).
	ErrUniversal = errors.New("exe: Mach-O universal binary has no entry point of its own")
	// ErrUnknown means the data is not an executable format Parse knows.
	ErrUnknown = errors.New("exe: not a PE, ELF or Mach-O executable")
)

// Parse recognises the format from the magic number and parses it.
func Parse(data []byte) (*Info, error) {
	switch {
	case len(data) >= 2 && (data[0] == 'M' && data[1] == 'Z' || data[0] == 'Z' && data[1] == 'M'):
		return parsePE(data, true)
	case len(data) >= 4 && string(data[:4]) == "\x7fELF":
		return parseELF(data)
	case len(data) >= 4 && isMachOMagic(data):
		return parseMachO(data)
	case len(data) >= 4 && (string(data[:4]) == "\xca\xfe\xba\xbe" || string(data[:4]) == "\xbe\xba\xfe\xca"):
		return nil, ErrUniversal
	}
	return nil, ErrUnknown
}

// ParsePEHeaders parses a PE file as Parse does but reads only its
// headers and section table: the import text and the version information
// are left out (HasImports is false). Packer detection runs on every
// Windows executable and needs no more; the import table of a large
// program costs a hundred times the headers. Data that is not a PE file
// gives ErrUnknown.
func ParsePEHeaders(data []byte) (*Info, error) {
	if len(data) >= 2 && (data[0] == 'M' && data[1] == 'Z' || data[0] == 'Z' && data[1] == 'M') {
		return parsePE(data, false)
	}
	return nil, ErrUnknown
}

// reader reads fixed-size little- or big-endian fields with bounds checks;
// a read out of bounds reports !ok rather than panicking.
type reader struct {
	b  []byte
	bo binary.ByteOrder
}

func (r reader) u16(off uint64) (uint16, bool) {
	if off > uint64(len(r.b)) || uint64(len(r.b))-off < 2 {
		return 0, false
	}
	return r.bo.Uint16(r.b[off:]), true
}

func (r reader) u32(off uint64) (uint32, bool) {
	if off > uint64(len(r.b)) || uint64(len(r.b))-off < 4 {
		return 0, false
	}
	return r.bo.Uint32(r.b[off:]), true
}

func (r reader) u64(off uint64) (uint64, bool) {
	if off > uint64(len(r.b)) || uint64(len(r.b))-off < 8 {
		return 0, false
	}
	return r.bo.Uint64(r.b[off:]), true
}

// has reports whether n bytes can be read at off.
func (r reader) has(off, n uint64) bool {
	return off <= uint64(len(r.b)) && uint64(len(r.b))-off >= n
}

// cstring returns the bytes of b up to the first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
