package filetype

// ClamAV classifies a header no magic entry recognised with the character
// classes of file(1)'s text test: a byte is plain text (printable ASCII, and
// BEL BS HT LF FF CR ESC), "extended" text (0x80-0xff, any of them), or never
// text (the other control bytes and DEL).
//
// The tests run in this order and the first that passes wins:
//
//  1. ASCII: no byte is a never-text byte. Note that this accepts UTF-8 and
//     ISO-8859 alike, so clamscan reports UTF-8 files as CL_TYPE_TEXT_ASCII.
//  2. UTF-8: well-formed multi-byte sequences and no control bytes. Because a
//     header that fails test 1 holds a control byte, which test 2 rejects
//     too, this never fires in ClamAV 1.4; it is kept for fidelity.
//  3. UTF-16: a byte-order mark picks the byte order (big endian without
//     one); every 16-bit unit after the first is checked. Without a BOM any
//     unit below 128 that is not text fails the test; with one, the text
//     passes unless at least half the header length is bad units. A 0xFFFE
//     unit always fails it.
//  4. Otherwise binary data.
//
// The consequence worth knowing: binary data whose 16-bit units (read big
// endian from offset 2) are all ≥ 128 or printable is reported as UTF-16BE
// text, exactly as clamscan does.
func classifyText(b []byte) Type {
	switch {
	case looksASCII(b):
		return TextASCII
	case looksUTF8(b):
		return TextUTF8
	}
	switch looksUTF16(b) {
	case 1:
		return TextUTF16LE
	case 2:
		return TextUTF16BE
	}
	return BinaryData
}

type charClass uint8

const (
	neverText charClass = iota
	plainText
	extendedText
)

// textClass is the class of every byte value.
var textClass = func() (t [256]charClass) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = plainText
	}
	for _, c := range []byte{7, 8, 9, 10, 12, 13, 27} {
		t[c] = plainText
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] = extendedText
	}
	t[0x85] = plainText // NEL
	return t
}()

func looksASCII(b []byte) bool {
	for _, c := range b {
		if textClass[c] == neverText {
			return false
		}
	}
	return true
}

func looksUTF8(b []byte) bool {
	seen := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c < 0x80:
			if textClass[c] != plainText {
				return false
			}
			continue
		case c&0x40 == 0: // a continuation byte cannot lead
			return false
		}
		var follow int
		switch {
		case c&0x20 == 0:
			follow = 1
		case c&0x10 == 0:
			follow = 2
		case c&0x08 == 0:
			follow = 3
		case c&0x04 == 0:
			follow = 4
		case c&0x02 == 0:
			follow = 5
		default:
			return false
		}
		for ; follow > 0; follow-- {
			i++
			if i >= len(b) {
				return seen // a sequence cut by the end of the header
			}
			if b[i]&0xc0 != 0x80 {
				return false
			}
		}
		seen = true
	}
	return seen
}

// looksUTF16 returns 0 (not UTF-16), 1 (little endian) or 2 (big endian).
func looksUTF16(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	big, bom := true, true
	switch {
	case b[0] == 0xff && b[1] == 0xfe:
		big = false
	case b[0] == 0xfe && b[1] == 0xff:
	default:
		bom = false
	}
	bad := 0
	for i := 2; i+1 < len(b); i += 2 {
		var u int
		if big {
			u = int(b[i])<<8 | int(b[i+1])
		} else {
			u = int(b[i]) | int(b[i+1])<<8
		}
		if u == 0xfffe {
			return 0
		}
		if u < 128 && textClass[u] != plainText {
			if !bom {
				return 0
			}
			bad++
		}
	}
	if bom && bad >= len(b)/2 {
		return 0
	}
	if big {
		return 2
	}
	return 1
}
