// Package dotnet reads the CLI metadata of .NET PE files: the metadata
// root and its streams, GUIDs, the assembly and the assemblies it
// references, module references, manifest resources, user strings,
// string constants, the type library GUID and the file offsets of fields
// with initial data.
//
// The values are those of yara 4.2.3's dotnet module, quirks included,
// because rules written against yara must see the same data. The length of
// every blob and user string is one less than the heap says (yara strips a
// terminal byte only #US strings have, so a public key token loses its
// last byte); a constant's type is read as 16 bits (type and padding); the
// number of streams is read from one byte; the first #~ (or #-), #Strings
// and #US stream and the last #GUID and #Blob stream are used; a table of
// more than 10000 rows, ParamPtr, or any table past GenericParamConstraint
// stops the walk of the tables; a heap string longer than 1024 bytes is
// undefined; a 32-bit executable is .NET only if its entry point is a jmp
// (FF 25), which DLLs need not have. yara 4.3's additions (classes,
// methods) are not read.
//
// Every read is bounds-checked. Work is linear in the size of the input:
// row loops stop when a row leaves the data (and yara's limit of 10000
// rows per table bounds them anyway), and a heap string is at most 1024
// bytes, as in yara. The user strings, the one list whose length only the
// data bounds, are capped at MaxItems (yara has no cap; no real file comes
// near it). Malformed input leaves fields unset, never panics. The strings
// of a File are slices of the parsed data.
package dotnet

import (
	"errors"
	"fmt"
)

// MaxItems caps the number of user strings a File holds.
const MaxItems = 1 << 17

// ErrNotPE is returned for data yara would not take for a PE file.
var ErrNotPE = errors.New("dotnet: not a PE file")

// File is the .NET metadata of a PE file. A Has* field false means yara
// leaves the corresponding value undefined.
type File struct {
	// IsDotNet is yara's is_dotnet: the COM descriptor points to a CLI
	// header of the right size whose metadata root has the BSJB magic and
	// a plausible version length, and a 32-bit executable's entry point
	// is a jmp (FF 25) (not checked for a DLL); a 64-bit file has at least
	// 14 data directories. When
	// false, nothing else is set.
	IsDotNet bool

	Version    []byte // metadata version string ("v4.0.30319")
	HasVersion bool

	ModuleName    []byte
	HasModuleName bool

	Streams    []Stream
	HasStreams bool

	GUIDs    []string
	HasGUIDs bool

	Resources    []Resource
	HasResources bool

	AssemblyRefs    []AssemblyRef
	HasAssemblyRefs bool

	Assembly Assembly

	ModuleRefs    [][]byte
	HasModuleRefs bool

	UserStrings    [][]byte
	HasUserStrings bool

	Typelib    []byte
	HasTypelib bool

	Constants    [][]byte
	HasConstants bool

	FieldOffsets    []int64
	HasFieldOffsets bool
}

// Stream is a metadata stream header.
type Stream struct {
	Name   []byte
	Offset int64 // file offset: metadata root plus the header's offset
	Size   uint32
}

// Resource is a manifest resource stored in this file.
type Resource struct {
	Offset  int64 // file offset of the data, after its 4-byte length
	Length  uint32
	Name    []byte
	HasName bool
}

// Version is an assembly version.
type Version struct {
	Major, Minor, BuildNumber, RevisionNumber uint16
}

// AssemblyRef is a row of the AssemblyRef table.
type AssemblyRef struct {
	Version Version
	// PublicKeyOrToken is nil when undefined.
	PublicKeyOrToken []byte
	Name             []byte
	HasName          bool
}

// Assembly is the row of the Assembly table.
type Assembly struct {
	HasVersion bool
	Version    Version
	Name       []byte
	HasName    bool
	Culture    []byte
	HasCulture bool
}

// String returns a short description, for tests and debugging.
func (f *File) String() string {
	return fmt.Sprintf("dotnet{is_dotnet=%v version=%q module=%q streams=%d guids=%d resources=%d refs=%d us=%d constants=%d}",
		f.IsDotNet, f.Version, f.ModuleName, len(f.Streams), len(f.GUIDs), len(f.Resources),
		len(f.AssemblyRefs), len(f.UserStrings), len(f.Constants))
}

// IsPE reports cheaply whether data may be a PE file (it starts with the
// MZ magic); Parse on other data returns ErrNotPE at once.
func IsPE(data []byte) bool { return isPE(data) }

// Parse reads the .NET metadata of the PE file in data. It returns
// ErrNotPE when yara would not take data for a PE file (the dotnet module
// then leaves even is_dotnet undefined); any other malformation yields a
// File with the affected fields unset.
func Parse(data []byte) (*File, error) {
	im, ok := newImage(data)
	if !ok {
		return nil, ErrNotPE
	}
	return parse(im), nil
}

// parse reads the metadata of a PE file (a function apart so that the
// image escapes to the heap only for PE files).
func parse(im image) *File {
	f := &File{}
	if !isDotNet(&im) {
		return f
	}
	f.IsDotNet = true
	p := &parser{im: &im, data: im.data, f: f}
	p.parseCOM()
	return f
}

// Sniff reports, without parsing the metadata, whether data is a PE file
// for yara and whether it is a .NET one (the File.IsDotNet of Parse).
func Sniff(data []byte) (pe, dotnet bool) {
	im, ok := newImage(data)
	if !ok {
		return false, false
	}
	return true, isDotNet(&im)
}

// cliHeaderSize is sizeof(CLI_HEADER); metadataHeaderSize is the fixed
// part of the metadata root before the version string.
const (
	cliHeaderSize      = 72
	metadataHeaderSize = 16
	metadataMagic      = 0x424a5342 // "BSJB"
)

// isDotNet is yara's dotnet_is_dotnet.
func isDotNet(im *image) bool {
	data := im.data
	rva, _, ok := im.directory(dirCOMDescriptor)
	if !ok {
		return false
	}
	off := im.rvaToOffset(uint64(rva))
	if off < 0 || !fits(data, off, cliHeaderSize) {
		return false
	}
	if u32(data, off) != cliHeaderSize {
		return false
	}
	root := im.rvaToOffset(uint64(u32(data, off+8)))
	if !fits(data, root, metadataHeaderSize) {
		return false
	}
	if u32(data, root) != metadataMagic {
		return false
	}
	mdLen := u32(data, root+12)
	if mdLen == 0 || mdLen > 255 || mdLen%4 != 0 || !fits(data, root+metadataHeaderSize, int64(mdLen)) {
		return false
	}
	if im.is64 {
		return im.numberOfRvaAndSizes() >= dirCOMDescriptor
	}
	// A 32-bit executable (not a DLL) must enter through the
	// jmp [_CorExeMain] stub.
	if u16(data, im.nt+4+18)&0x2000 != 0 {
		return true
	}
	ep := im.rvaToOffset(uint64(u32(data, im.optOff+16)))
	return ep >= 0 && fits(data, ep, 2) && data[ep] == 0xff && data[ep+1] == 0x25
}
