package pe

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// ImportedDLL is a library the file imports from, with the functions
// yara keeps for it.
type ImportedDLL struct {
	Name      []byte
	Functions []ImportedFunc
}

// ImportedFunc is an imported function: by name, or by ordinal with the
// name OrdinalName gives it. RVA is the address of its slot in the import
// address table (yara 4.3's import_rva; 0 when unknown).
type ImportedFunc struct {
	Name       []byte
	Ordinal    uint16
	HasOrdinal bool
	RVA        uint64
}

const (
	importDescSize  = 20
	delayDescSize   = 32
	ordinalFlag32   = 0x80000000
	ordinalFlag64   = 0x8000000000000000
	importByNameLen = 3 // IMAGE_IMPORT_BY_NAME, packed
)

// validDLLName is yara's pe_valid_dll_name for the name at off: a
// NUL-terminated name of at least one byte inside the data, without
// control characters or any of "*<>?|. yara scans each name to its end
// however long; here the bytes scanned for all names together are
// bounded by a budget proportional to the data, past which names count as
// invalid (only a file made of thousands of descriptors pointing into one
// huge unterminated name reaches it).
func (f *File) validDLLName(off int64) (name []byte, ok bool) {
	b := f.data[off:]
	for i, c := range b {
		if f.nameBudget--; f.nameBudget < 0 {
			return nil, false
		}
		if c == 0 {
			return b[:i:i], i > 0
		}
		if c < ' ' || c == '"' || c == '*' || c == '<' || c == '>' || c == '?' || c == '|' {
			return nil, false
		}
	}
	return nil, false
}

// parseImports reads the import directory as yara 4.2.3 does. Every
// descriptor up to the first with a zero name RVA counts in
// NumberOfImports, except those whose name is not a valid library name;
// a library is kept when at least one of its functions is. Every thunk
// counts in NumberOfImportedFunctions, named or not.
func (f *File) parseImports() {
	dir, ok := f.Directory(1)
	if !ok || dir.VirtualAddress == 0 {
		return
	}
	off := f.RVAToOffset(uint64(dir.VirtualAddress))
	if off < 0 {
		return
	}
	for at := off; f.fits(at, importDescSize) && f.NumberOfImports < MaxImports; at += importDescSize {
		nameRVA := le.Uint32(f.data[at+12:])
		if nameRVA == 0 {
			break
		}
		if no := f.RVAToOffset(uint64(nameRVA)); no >= 0 {
			name, ok := f.validDLLName(no)
			if !ok {
				continue
			}
			if fns := f.importThunks(at, name); len(fns) > 0 {
				f.Imports = append(f.Imports, ImportedDLL{Name: name, Functions: fns})
			}
		}
		f.NumberOfImports++
	}
}

// importThunks reads the functions of the import descriptor at desc: the
// lookup table at OriginalFirstThunk, or at FirstThunk when the former
// maps to offset 0 or nowhere.
func (f *File) importThunks(desc int64, dll []byte) []ImportedFunc {
	off := f.RVAToOffset(uint64(le.Uint32(f.data[desc:])))
	if off <= 0 {
		off = f.RVAToOffset(uint64(le.Uint32(f.data[desc+16:])))
	}
	if off < 0 {
		return nil
	}
	width := int64(4)
	if f.Is64 {
		width = 8
	}
	iat := uint64(le.Uint32(f.data[desc+16:]))
	var fns []ImportedFunc
	for at := off; f.fits(at, width) && f.NumberOfImportedFunctions < MaxImports; at += width {
		rva := iat + uint64(at-off) // the slot's RVA, in 32 bits for PE32 as in yara 4.3
		if !f.Is64 {
			rva = uint64(uint32(rva))
		}
		var v uint64
		var byOrdinal bool
		if f.Is64 {
			v = le.Uint64(f.data[at:])
			byOrdinal = v&ordinalFlag64 != 0
		} else {
			v = uint64(le.Uint32(f.data[at:]))
			byOrdinal = v&ordinalFlag32 != 0
		}
		if v == 0 {
			break
		}
		f.NumberOfImportedFunctions++
		if byOrdinal {
			ord := uint16(v)
			fns = append(fns, ImportedFunc{Name: OrdinalName(dll, ord), Ordinal: ord, HasOrdinal: true, RVA: rva})
			continue
		}
		if no := f.RVAToOffset(v); no >= 0 && f.fits(no, importByNameLen) {
			fns = append(fns, ImportedFunc{Name: f.cstring(no+2, maxImportNameLen), RVA: rva})
		}
	}
	return fns
}

// normalizeDelay turns a virtual address of an old (Visual C++ 6)
// delay-load descriptor into an RVA.
func normalizeDelay(imageBase, va uint64) uint64 {
	if va != 0 && va > imageBase {
		return va - imageBase
	}
	return va
}

// delayPointer reads the pointer-sized value at rva, or reports it lies
// outside the data.
func (f *File) delayPointer(rva uint64) (uint64, bool) {
	off := f.RVAToOffset(rva)
	if f.Is64 {
		if off < 0 || !f.fits(off, 8) {
			return 0, false
		}
		return le.Uint64(f.data[off:]), true
	}
	if off < 0 || !f.fits(off, 4) {
		return 0, false
	}
	return uint64(le.Uint32(f.data[off:])), true
}

// parseDelayedImports reads the delay-load import directory as yara
// 4.2.3 does. (yara 4.2.3 declares delay_import_details but fills
// delayed_import_details, so only the counts and pe.imports() see these.)
func (f *File) parseDelayedImports() {
	dir, ok := f.Directory(13)
	if !ok || dir.VirtualAddress == 0 {
		return
	}
	off := f.RVAToOffset(uint64(dir.VirtualAddress))
	if off < 0 {
		return
	}
	imageBase := f.OptionalHeader.ImageBase
	sizeOfImage := uint64(f.OptionalHeader.SizeOfImage)
	width, mask := uint64(4), uint64(ordinalFlag32)
	if f.Is64 {
		width, mask = 8, ordinalFlag64
	}
	for at := off; f.fits(at, delayDescSize); at += delayDescSize {
		var v [8]uint32
		allZero := true
		for i := range v {
			v[i] = le.Uint32(f.data[at+int64(4*i):])
			allZero = allZero && v[i] == 0
		}
		if allZero {
			break
		}
		attrs := v[0]
		if attrs > 1 {
			break
		}
		nameRVA, iat, intab := uint64(v[1]), uint64(v[3]), uint64(v[4])
		if !f.Is64 && attrs == 0 {
			nameRVA = uint64(uint32(normalizeDelay(imageBase, nameRVA)))
			iat = uint64(uint32(normalizeDelay(imageBase, iat)))
			intab = uint64(uint32(normalizeDelay(imageBase, intab)))
		}
		if intab >= sizeOfImage || iat >= sizeOfImage || nameRVA < dosHeaderSize || intab < dosHeaderSize {
			break
		}
		no := f.RVAToOffset(nameRVA)
		if no < 0 {
			continue
		}
		dll, ok := f.validDLLName(no)
		if !ok {
			continue
		}
		var fns []ImportedFunc
		nameAt, funcAt := intab, iat
		for f.NumberOfDelayedImportedFunctions < maxDelayedFunctions {
			nameAddr, ok1 := f.delayPointer(nameAt)
			funcAddr, ok2 := f.delayPointer(funcAt)
			if !ok1 || !ok2 || nameAddr == 0 || funcAddr == 0 {
				break
			}
			if nameAddr&mask == 0 {
				if attrs == 0 {
					nameAddr = normalizeDelay(imageBase, nameAddr)
				}
				// An unmapped name reads as "" in yara (strndup of 0 bytes).
				fns = append(fns, ImportedFunc{Name: f.cstring(f.RVAToOffset(nameAddr+2), maxImportNameLen), RVA: funcAt})
			} else {
				ord := uint16(nameAddr)
				fns = append(fns, ImportedFunc{Name: OrdinalName(dll, ord), Ordinal: ord, HasOrdinal: true, RVA: funcAt})
			}
			f.NumberOfDelayedImportedFunctions++
			nameAt += width
			funcAt += width
		}
		f.NumberOfDelayedImports++
		f.DelayedImports = append(f.DelayedImports, ImportedDLL{Name: dll, Functions: fns})
	}
}

// Imphash returns the import hash of the standard imports as yara's
// pe.imphash() computes it: the MD5 of "lib.func" pairs joined by commas,
// lower-cased, where lib is the library name cut at its first dot when
// what follows starts with .dll, .ocx or .sys.
func (f *File) Imphash() string {
	h := md5.New()
	first := true
	var buf []byte
	for _, dll := range f.Imports {
		lib := dll.Name
		if i := bytes.IndexByte(lib, '.'); i >= 0 {
			ext := lib[i:]
			if hasPrefixFold(ext, ".ocx") || hasPrefixFold(ext, ".sys") || hasPrefixFold(ext, ".dll") {
				lib = lib[:i]
			}
		}
		for _, fn := range dll.Functions {
			buf = buf[:0]
			if !first {
				buf = append(buf, ',')
			}
			buf = append(buf, lib...)
			buf = append(buf, '.')
			buf = append(buf, fn.Name...)
			for i, c := range buf {
				if c >= 'A' && c <= 'Z' {
					buf[i] = c + 'a' - 'A'
				}
			}
			h.Write(buf)
			first = false
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case
// (yara's strncasecmp over the length of the known name).
func hasPrefixFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(string(s[:len(prefix)]), prefix)
}
