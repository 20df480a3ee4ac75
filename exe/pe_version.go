package exe

import (
	"encoding/binary"
	"unicode/utf16"
)

// VersionEntry is one string of a PE's version resource (StringFileInfo),
// located the way ClamAV's VI signature offset does.
type VersionEntry struct {
	// Offset is the file offset of the key; a VI signature matches the
	// Len bytes there (the UTF-16 key with its padding, then the value).
	Offset int64
	Len    int
	Key    string
	Value  string
}

const (
	rtVersion           = 0x10
	peMaxVersionRes     = 16 // ClamAV looks at the first 16 version resources
	peMaxVersionEntries = 4096
)

var (
	keyVSVersionInfo  = utf16z("VS_VERSION_INFO")
	keyVarFileInfo    = utf16z("VarFileInfo")
	keyStringFileInfo = utf16z("StringFileInfo")
)

// utf16z is s in UTF-16LE with its terminating NUL.
func utf16z(s string) []byte {
	b := make([]byte, 0, 2*len(s)+2)
	for _, c := range s {
		b = append(b, byte(c), 0)
	}
	return append(b, 0, 0)
}

// versionInfo walks the version resources as ClamAV does: the resource
// directory's RT_VERSION type (ids only), every name and language under
// it, then in each resource the VS_VERSION_INFO block, an optional
// VarFileInfo, and the string tables of the first StringFileInfo. Strings
// with an empty value are left out, as ClamAV leaves them out.
func versionInfo(data []byte, p *PEInfo, secs []peSection) []VersionEntry {
	if len(p.DataDirs) < 3 || p.DataDirs[2].Size == 0 {
		return nil
	}
	var out []VersionEntry
	for _, rva := range versionResources(data, p, secs) {
		out = appendVersionStrings(out, data, p, secs, rva)
		if len(out) > peMaxVersionEntries {
			return out[:peMaxVersionEntries]
		}
	}
	return out
}

// versionResources returns the RVAs of the RT_VERSION data entries.
func versionResources(data []byte, p *PEInfo, secs []peSection) []uint32 {
	r := reader{data, binary.LittleEndian}
	fsize := uint64(len(data))
	base := p.DataDirs[2].VirtualAddress
	dir := func(rva uint32) (uint64, bool) {
		off, ok := rvaToOffset(rva, secs, fsize, p.HeaderSize)
		return uint64(off), ok && r.has(uint64(off), 16)
	}
	root, ok := dir(base)
	if !ok {
		return nil
	}
	named, _ := r.u16(root + 12)
	types, _ := r.u16(root + 14)
	var out []uint32
	e := root + 16 + uint64(named)*8 // ids follow the named entries
	for ; types > 0; types, e = types-1, e+8 {
		if !r.has(e, 8) {
			return out
		}
		id, _ := r.u32(e)
		sub, _ := r.u32(e + 4)
		if id != rtVersion || sub>>31 == 0 {
			continue
		}
		names, ok := dir(base + sub&0x7fffffff)
		if !ok {
			return out
		}
		n1, _ := r.u16(names + 12)
		n2, _ := r.u16(names + 14)
		count := uint16(n1 + n2) // ClamAV adds them in 16 bits
		for ne := names + 16; count > 0; count, ne = count-1, ne+8 {
			if !r.has(ne, 8) {
				return out
			}
			noff, _ := r.u32(ne + 4)
			if noff>>31 == 0 {
				continue
			}
			langs, ok := dir(base + noff&0x7fffffff)
			if !ok {
				return out
			}
			l1, _ := r.u16(langs + 12)
			l2, _ := r.u16(langs + 14)
			lcount := uint16(l1 + l2)
			for le := langs + 16; lcount > 0; lcount, le = lcount-1, le+8 {
				if !r.has(le, 8) {
					return out
				}
				loff, _ := r.u32(le + 4)
				if loff>>31 != 0 {
					continue
				}
				out = append(out, base+loff)
				if len(out) == peMaxVersionRes {
					return out
				}
			}
		}
		return out // only the first RT_VERSION type entry
	}
	return out
}

// appendVersionStrings parses the version resource whose data entry is at
// rva.
func appendVersionStrings(out []VersionEntry, data []byte, p *PEInfo, secs []peSection, rva uint32) []VersionEntry {
	r := reader{data, binary.LittleEndian}
	fsize := uint64(len(data))
	entry, ok := rvaToOffset(rva, secs, fsize, p.HeaderSize)
	if !ok || !r.has(uint64(entry), 16) {
		return out
	}
	dataRVA, _ := r.u32(uint64(entry))
	size, _ := r.u32(uint64(entry) + 4)
	start, ok := rvaToOffset(dataRVA, secs, fsize, p.HeaderSize)
	if !ok || size == 0 || !r.has(uint64(start), uint64(size)) {
		return out
	}
	res := data[start : uint64(start)+uint64(size)]
	u16 := func(at int) int {
		if at < 0 || at+2 > len(res) {
			return 0 // reads as an empty block, which ends every loop
		}
		return int(binary.LittleEndian.Uint16(res[at:]))
	}
	keyIs := func(at int, key []byte) bool {
		return at+6+len(key) <= len(res) && string(res[at+6:at+6+len(key)]) == string(key)
	}

	const fixed = 6 + 0x20 + 2 + 0x34 // header, key, padding, VS_FIXEDFILEINFO
	if len(res) <= 4 {
		return out
	}
	vsz := u16(0)
	if vsz > len(res) || vsz <= fixed || u16(2) != 0x34 || !keyIs(0, keyVSVersionInfo) ||
		binary.LittleEndian.Uint32(res[0x28:]) != 0xfeef04bd {
		return out
	}
	at, left := fixed, vsz-fixed
	gotVar := false
	for left > 6 {
		sfi := u16(at)
		if sfi > left {
			return out
		}
		if !gotVar && sfi > 6+len(keyVarFileInfo) && keyIs(at, keyVarFileInfo) {
			at, left, gotVar = at+sfi, left-sfi, true
			continue
		}
		if sfi <= 6+len(keyStringFileInfo) || !keyIs(at, keyStringFileInfo) {
			return out
		}
		at += 6 + len(keyStringFileInfo)
		sfi -= 6 + len(keyStringFileInfo)
		for sfi > 6 {
			st := u16(at)
			next, nextSfi := at+st, sfi-st
			if st > sfi || st <= 24 {
				return out
			}
			at += 24
			st -= 24
			for st > 6 {
				s := (u16(at) + 3) &^ 3
				if s > st || s <= 6+2+8 || at+s > len(res) {
					return out // ClamAV gives up on the whole table here
				}
				k := 6
				for ; k+1 < s; k += 2 {
					if res[at+k] == 0 && res[at+k+1] == 0 {
						k += 2
						break
					}
				}
				k = (k + 3) &^ 3
				if k < s && s-k > 2 {
					out = append(out, VersionEntry{
						Offset: int64(start) + int64(at) + 6,
						Len:    s - 6,
						Key:    utf16String(res[at+6 : at+k]),
						Value:  utf16String(res[at+k : at+s]),
					})
				}
				at += s
				st -= s
			}
			at = next
			if sfi != 0 {
				sfi = nextSfi
			}
		}
		return out
	}
	return out
}

// utf16String decodes UTF-16LE up to the first NUL.
func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}
