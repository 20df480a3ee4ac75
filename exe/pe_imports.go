package exe

import "encoding/binary"

// Limits of the import walk. ClamAV reads at most 1024 import descriptors
// and names of at most 256 bytes; the caps on thunks read (over all
// descriptors, which may share one thunk array) and on the text bound the
// work on hostile files. ClamAV has no such caps: past them we report no
// import hash rather than a wrong one.
const (
	peMaxImports      = 1024
	peMaxNameSize     = 256
	peMaxImportThunks = 1 << 16
	peMaxImportWork   = 1 << 24 // thunks times sections searched per thunk
	peMaxImportText   = 1 << 20
)

// importString builds the text ClamAV hashes for .imp signatures. For each
// import descriptor in order, and each function it imports in thunk order,
// it appends "dll.function" in lower case, comma-separated; the DLL name
// loses its extension when that is .dll, .ocx or .sys. Functions imported
// by ordinal appear as "ordN". A function name with a character other than
// letters, digits, '_' and '.' makes ClamAV give up: no hash at all.
func importString(data []byte, p *PEInfo, secs []peSection) ([]byte, bool) {
	if len(p.DataDirs) < 2 {
		return nil, false
	}
	dir := p.DataDirs[1]
	if dir.VirtualAddress == 0 || dir.Size == 0 {
		return nil, false
	}
	// clamscan drops sections lying past the end of the file before this
	// walk and gives up on a file whose only section is such.
	if len(secs) == 1 && secs[0].rsz == 0 && secs[0].ursz == 0 && p.Headers[0].SizeOfRawData != 0 {
		return nil, false
	}
	fsize := uint64(len(data))
	r := reader{data, binary.LittleEndian}
	impoff, ok := rvaToOffset(dir.VirtualAddress, secs, fsize, p.HeaderSize)
	if !ok || uint64(impoff)+uint64(dir.Size) > fsize {
		return nil, false
	}
	w := importWriter{first: true, maxThunks: max(4096, min(peMaxImportThunks, peMaxImportWork/len(secs)))}
	left := uint64(dir.Size)
	for n := 0; left > 20 && n < peMaxImports; n++ {
		d := uint64(impoff) + uint64(n)*20
		nameRVA, _ := r.u32(d + 12)
		if nameRVA == 0 {
			break
		}
		left -= 20
		oft, _ := r.u32(d)
		ft, _ := r.u32(d + 16)
		off, ok := rvaToOffset(nameRVA, secs, fsize, p.HeaderSize)
		if !ok || uint64(off) > fsize {
			return nil, false
		}
		n := min(peMaxNameSize, fsize-uint64(off))
		if n == 0 {
			return nil, false
		}
		dll := cstring(data[off : uint64(off)+n])
		if !w.functions(data, r, p, secs, dll, oft, ft) {
			return nil, false
		}
	}
	return w.b, true
}

type importWriter struct {
	b         []byte
	first     bool
	thunks    int
	maxThunks int
}

// functions appends the functions one descriptor imports.
func (w *importWriter) functions(data []byte, r reader, p *PEInfo, secs []peSection, dll string, oft, ft uint32) bool {
	fsize := uint64(len(data))
	var thunk uint32
	ok := true
	if oft != 0 {
		thunk, ok = rvaToOffset(oft, secs, fsize, p.HeaderSize)
	}
	if !ok || thunk == 0 {
		thunk, ok = rvaToOffset(ft, secs, fsize, p.HeaderSize)
	}
	if !ok {
		return false
	}
	dllLen := -1
	at := uint64(thunk)
	for {
		if w.thunks++; w.thunks > w.maxThunks {
			return false
		}
		var v uint64
		var byOrdinal bool
		if p.Is64 {
			x, ok := r.u64(at)
			if !ok || x == 0 {
				return true
			}
			at += 8
			v, byOrdinal = x, x&(1<<63) != 0
		} else {
			x, ok := r.u32(at)
			if !ok || x == 0 {
				return true
			}
			at += 4
			v, byOrdinal = uint64(x), x&(1<<31) != 0
		}
		var name string
		var have bool
		if byOrdinal {
			name, have = ordinalName(dll, uint16(v)), true
		} else {
			off, ok := rvaToOffset(uint32(v), secs, fsize, p.HeaderSize)
			// ClamAV's 32-bit path ignores a failed mapping and reads the
			// name at offset 2 of the file; its 64-bit path skips it.
			if ok || !p.Is64 {
				name, have = hintName(data, uint64(off))
			}
		}
		if !have {
			continue
		}
		if !validImportName(name) {
			return false
		}
		if dllLen < 0 {
			dllLen = dllStem(dll)
		}
		if len(w.b)+dllLen+len(name)+2 > peMaxImportText {
			return false
		}
		if !w.first {
			w.b = append(w.b, ',')
		}
		w.first = false
		w.b = appendLower(w.b, dll[:dllLen])
		w.b = append(w.b, '.')
		w.b = appendLower(w.b, name)
	}
}

// hintName reads an import-by-name entry (a 16-bit hint, then the name) at
// off the way ClamAV does: it wants min(256, bytes left from off) bytes
// after the hint, so a name in the last 257 bytes of the file is not read.
func hintName(data []byte, off uint64) (string, bool) {
	fsize := uint64(len(data))
	n := uint64(peMaxNameSize)
	if off <= fsize && fsize-off < n {
		n = fsize - off
	}
	if n == 0 || off+2 > fsize || fsize-(off+2) < n {
		return "", false
	}
	return cstring(data[off+2 : off+2+n]), true
}

// dllStem returns how much of dll names it in the hash: up to the first
// '.' when what follows starts with .dll, .ocx or .sys (any case).
func dllStem(dll string) int {
	for i := 0; i < len(dll); i++ {
		if dll[i] != '.' {
			continue
		}
		if len(dll)-i >= 4 {
			switch string(appendLower(nil, dll[i:i+4])) {
			case ".dll", ".ocx", ".sys":
				return i
			}
		}
		break
	}
	return len(dll)
}

func validImportName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
