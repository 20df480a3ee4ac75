package pe

// The VS_VERSIONINFO walk below is yara's pe_parse_version_info: blocks
// are (Length, ValueLength, Type, UTF-16 key) headers aligned to four
// bytes; VarFileInfo blocks are skipped, then each StringFileInfo block's
// string tables are read. Keys are cut at 63 bytes and values at 255, and
// both are the low bytes of their UTF-16 characters up to the first
// character whose low byte is zero (yara's strlcpy_w).

const (
	versionHeaderSize = 6
	maxVersionKey     = 63
	maxVersionValue   = 255
)

func align4(n int64) int64 { return (n + 3) &^ 3 }

// wideEquals reports whether the UTF-16LE string at off is the ASCII
// string s (yara's strcmp_w). The caller checked 2*(len(s)+1) bytes fit.
func (f *File) wideEquals(off int64, s string) bool {
	d := f.data[off:]
	for i := 0; i < len(s); i++ {
		if d[2*i] != s[i] || d[2*i+1] != 0 {
			return false
		}
	}
	return d[2*len(s)] == 0 && d[2*len(s)+1] == 0
}

// wideFits reports whether a UTF-16 NUL lies at an even distance from off
// inside the data (yara's wide_string_fits_in_pe), and returns the number
// of characters before it. The last NUL found for each parity of offset
// is remembered, so the walk's many searches within one long run of
// non-NUL characters cost the length of the run once, not each time.
func (f *File) wideFits(off int64) (int64, bool) {
	if off < 0 {
		return 0, false
	}
	c := &f.wide[off&1]
	if c.valid && off >= c.from && off <= c.nul {
		return (c.nul - off) / 2, true
	}
	if c.none && off >= c.noneFrom {
		return 0, false
	}
	for i := off; i+1 < int64(len(f.data)); i += 2 {
		if f.data[i] == 0 && f.data[i+1] == 0 {
			c.valid, c.from, c.nul = true, off, i
			return (i - off) / 2, true
		}
	}
	if !c.none || off < c.noneFrom {
		c.none, c.noneFrom = true, off
	}
	return 0, false
}

// wideRun is a run of UTF-16 characters from offset from to the NUL at
// offset nul.
// noneFrom is the lowest offset from which no NUL was found.
type wideRun struct {
	valid, none bool
	from, nul   int64
	noneFrom    int64
}

// narrow copies the low bytes of the UTF-16 string at off up to the
// first zero low byte, at most max bytes.
func (f *File) narrow(off int64, max int) []byte {
	var out []byte
	for i := off; i+1 < int64(len(f.data)) && len(out) < max; i += 2 {
		if f.data[i] == 0 {
			break
		}
		out = append(out, f.data[i])
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

func (f *File) parseVersionInfo(rva uint32) {
	vi := f.RVAToOffset(uint64(rva))
	if vi < 0 || !f.fits(vi, versionHeaderSize) {
		return
	}
	if !f.fits(vi+versionHeaderSize, 2*16) || !f.wideEquals(vi+versionHeaderSize, "VS_VERSION_INFO") {
		return
	}
	vi += align4(versionHeaderSize + 86)
	length := func(at int64) int64 { return int64(le.Uint16(f.data[at:])) }
	isBlock := func(at int64, key string) bool {
		k := at + versionHeaderSize
		return f.fits(k, int64(2*(len(key)+1))) && f.wideEquals(k, key) && length(at) != 0
	}
	step := func() bool { f.versionSteps++; return f.versionSteps <= maxVersionSteps }
	for isBlock(vi, "VarFileInfo") && step() {
		vi += align4(length(vi))
	}
	for isBlock(vi, "StringFileInfo") && step() {
		table := vi + align4(versionHeaderSize+30)
		vi += align4(length(vi))
		for f.fits(table, versionHeaderSize) && table < vi && step() {
			keyLen, ok := f.wideFits(table + versionHeaderSize)
			if !ok || length(table) == 0 {
				break
			}
			str := table + align4(versionHeaderSize+2*(keyLen+1))
			table += align4(length(table))
			for f.fits(str, versionHeaderSize) && str < table && step() {
				keyLen, ok := f.wideFits(str + versionHeaderSize)
				if !ok || length(str) == 0 {
					break
				}
				value := str + align4(versionHeaderSize+2*(keyLen+1))
				if _, ok := f.wideFits(value); ok {
					key := f.narrow(str+versionHeaderSize, maxVersionKey)
					val := f.narrow(value, maxVersionValue)
					if le.Uint16(f.data[str+2:]) == 0 {
						val = val[:0]
					}
					f.VersionInfo = append(f.VersionInfo, VersionEntry{Key: key, Value: val})
				}
				str += align4(length(str))
			}
		}
	}
}
