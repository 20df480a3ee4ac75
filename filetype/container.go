package filetype

import "bytes"

// tarKind reports whether b starts with a tar header whose checksum is
// right: 0 no, 1 old-style tar, 2 POSIX ("ustar") tar. ClamAV runs this test
// only on headers it would otherwise call binary data.
func tarKind(b []byte) int {
	const block = 512
	if len(b) < block {
		return 0
	}
	h := b[:block]
	want, ok := octal(h[148:156])
	if !ok {
		return 0
	}
	sum := 0
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' ' // the checksum field counts as spaces
		}
		sum += int(c)
	}
	if sum != want {
		return 0
	}
	if bytes.HasPrefix(h[257:], []byte("ustar")) {
		return 2
	}
	return 1
}

// octal parses a tar numeric field: optional leading blanks, octal digits,
// then the end of the field, a NUL or a blank.
func octal(f []byte) (int, bool) {
	i := 0
	for i < len(f) && (f[i] == ' ' || f[i] == '\t' || f[i] == '\n' || f[i] == '\r' || f[i] == '\v' || f[i] == '\f') {
		i++
	}
	n, digits := 0, 0
	for ; i < len(f) && f[i] >= '0' && f[i] <= '7'; i++ {
		n = n<<3 | int(f[i]-'0')
		digits++
	}
	if i < len(f) && f[i] != 0 && f[i] != ' ' && f[i] != '\t' && f[i] != '\n' {
		return 0, false
	}
	return n, true
}

// zipMemberTypes maps the start of a ZIP member name to the type it proves
// (None: the name only makes an Office or HWP document likely).
var zipMemberTypes = []struct {
	prefix string
	t      Type
}{
	{"xl/", OOXMLXL},
	{"ppt/", OOXMLPPT},
	{"word/", OOXMLWord},
	{"Contents/content.hpf", OOXMLHWP},
	{"[Content_Types].xml", None},
	{"_rels/.rels", None},
	{"docProps/", None},
	{"customXml/", None},
	{"mimetype", None},
	{"META-INF/container.xml", None},
	{"BinData", None},
	{"Contents", None},
	{"version.xml", None},
	{"settings.xml", None},
	{"Preview/PrvText.txt", None},
}

const (
	zipLocalHeader = 30
	// ooxmlScanLimit bounds how far into a ZIP the OOXML check reads (ClamAV
	// reads up to 32 header-sized windows before giving up).
	ooxmlScanLimit = 64 << 10
	// ooxmlMaxMembers bounds the member names checked when the first three
	// make an Office document likely.
	ooxmlMaxMembers = 4096
)

var zipMagic = []byte("PK\x03\x04")

// ooxmlType refines a ZIP into an OOXML type from its member names, as
// ClamAV does: it looks at the first three local headers; a name under
// word/, xl/ or ppt/ decides at once, and neutral Office names
// ([Content_Types].xml, docProps/ ...) make it look further. It returns ZIP
// when nothing decides.
func ooxmlType(data []byte) Type {
	window := data
	if len(window) > ooxmlScanLimit {
		window = window[:ooxmlScanLimit]
	}
	likely := false
	seen := 0
	for off := 0; seen < 3; {
		i := bytes.Index(window[off:], zipMagic)
		if i < 0 {
			break
		}
		p := off + i + zipLocalHeader
		off += i + 4
		if len(window)-p <= 22 { // ClamAV wants the name window filled
			break
		}
		t, neutral := memberType(window[p:])
		if t != None {
			return t
		}
		likely = likely || neutral
		seen++
	}
	if !likely {
		return ZIP
	}
	// Likely an Office document whose telling member comes later: walk the
	// local headers of the whole archive (best effort; ClamAV reads the
	// central directory here).
	n := 0
	for off := 0; n < ooxmlMaxMembers; n++ {
		i := bytes.Index(data[off:], zipMagic)
		if i < 0 {
			break
		}
		p := off + i
		off = p + 4
		if p+zipLocalHeader > len(data) {
			break
		}
		nameLen := int(data[p+26]) | int(data[p+27])<<8
		end := p + zipLocalHeader + nameLen
		if end > len(data) {
			break
		}
		if t, _ := memberType(data[p+zipLocalHeader : end]); t != None {
			return t
		}
	}
	return ZIP
}

func memberType(name []byte) (t Type, neutral bool) {
	for _, m := range zipMemberTypes {
		if bytes.HasPrefix(name, []byte(m.prefix)) {
			if m.t != None {
				return m.t, false
			}
			neutral = true
		}
	}
	return None, neutral
}

// utf16Fold is ClamAV's quick UTF-16 to byte folding used to spot HTML in
// UTF-16 headers: each output byte is the low byte of a unit plus its high
// byte shifted left by four. Little-endian ASCII survives it; other text
// does not, which is why only little-endian HTML becomes CL_TYPE_HTML_UTF16.
func utf16Fold(b []byte) []byte {
	if len(b) < 2 {
		return nil
	}
	out := make([]byte, len(b)/2)
	for j := range out {
		out[j] = b[2*j+1]<<4 + b[2*j]
	}
	return out
}

// bomToASCII decodes a header that starts with a UTF-8, UTF-16 or UTF-32
// byte-order mark into bytes, code points above 0xff becoming '?'. It
// returns nil when there is no BOM.
func bomToASCII(b []byte) []byte {
	var out []byte
	switch {
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		return b[3:]
	case bytes.HasPrefix(b, []byte{0, 0, 0xfe, 0xff}), bytes.HasPrefix(b, []byte{0xff, 0xfe, 0, 0}):
		be := b[0] == 0
		for i := 4; i+3 < len(b); i += 4 {
			var u uint32
			if be {
				u = uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
			} else {
				u = uint32(b[i+3])<<24 | uint32(b[i+2])<<16 | uint32(b[i+1])<<8 | uint32(b[i])
			}
			out = append(out, unitByte(u))
		}
		return out
	case bytes.HasPrefix(b, []byte{0xfe, 0xff}), bytes.HasPrefix(b, []byte{0xff, 0xfe}):
		be := b[0] == 0xfe
		for i := 2; i+1 < len(b); i += 2 {
			var u uint32
			if be {
				u = uint32(b[i])<<8 | uint32(b[i+1])
			} else {
				u = uint32(b[i+1])<<8 | uint32(b[i])
			}
			out = append(out, unitByte(u))
		}
		return out
	}
	return nil
}

func unitByte(u uint32) byte {
	if u > 0xff {
		return '?'
	}
	return byte(u)
}
