package engine

import "github.com/glassav/glassav/filetype"

// normaliseText returns the text view ClamAV matches signatures of targets 0
// and 7 against, besides the raw bytes, when it scans a text file with its
// default --scan-html=yes. Measured with clamscan 1.4.6 over all 256 byte
// values: control bytes other than whitespace (0x00-0x08, 0x0e-0x1f) and
// bytes 0x80-0xff are dropped, each run of whitespace (TAB, LF, VT, FF, CR,
// space) becomes one space, and ASCII letters are lower-cased.
func normaliseText(data []byte, buf []byte) []byte {
	out := buf[:0]
	space := false
	for _, b := range data {
		switch {
		case b == ' ' || (b >= '\t' && b <= '\r'):
			if !space {
				out = append(out, ' ')
				space = true
			}
			continue
		case b < 0x20 || b >= 0x80:
			continue
		case b >= 'A' && b <= 'Z':
			b += 'a' - 'A'
		}
		out = append(out, b)
		space = false
	}
	return out
}

// isText reports whether ClamAV treats an object of type t as text for
// normalisation.
func isText(t filetype.Type) bool {
	switch t.String() {
	case "CL_TYPE_TEXT_ASCII", "CL_TYPE_TEXT_UTF8", "CL_TYPE_TEXT_UTF16LE", "CL_TYPE_TEXT_UTF16BE":
		return true
	}
	return false
}
