package unpack

import (
	"bytes"
	"strconv"
)

// The decoders here turn the 7-bit text encodings that mail, HTML and PDF
// use for binary content back into bytes. They are deliberately lenient, as
// ClamAV's are: malware is mailed by software that gets the encodings
// slightly wrong (missing padding, stray characters, bad line lengths), and
// a decoder that gives up on the first fault would hide the payload. Each
// one's output is never longer than its input, so decoding a container's
// bytes cannot allocate more than the container holds.

// decodeBase64 decodes base64 text, skipping every byte outside the
// alphabet (line breaks, spaces, garbage) and stopping at the first '='
// that ends a quantum. A trailing partial quantum yields the bytes it
// fully determines.
func decodeBase64(src []byte) []byte {
	out := make([]byte, 0, len(src)*3/4+3)
	var acc uint32
	n := 0
	for _, c := range src {
		v := b64val(c)
		if v < 0 {
			if c == '=' && n >= 2 {
				break
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

// b64val returns the value of a standard or URL-safe base64 digit, or -1.
func b64val(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return -1
}

// decodeQuotedPrintable decodes RFC 2045 quoted-printable text: "=XX" is a
// byte, "=" at the end of a line joins it to the next, and anything else
// (including a malformed "=") is kept as it is.
func decodeQuotedPrintable(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := src[i+1:]
		if len(rest) >= 2 && unhex(rest[0]) >= 0 && unhex(rest[1]) >= 0 {
			out = append(out, byte(unhex(rest[0])<<4|unhex(rest[1])))
			i += 2
			continue
		}
		// A soft line break may have trailing whitespace before it.
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		if j < len(rest) && rest[j] == '\n' {
			i += j + 1
			continue
		}
		if j+1 < len(rest) && rest[j] == '\r' && rest[j+1] == '\n' {
			i += j + 2
			continue
		}
		if j == len(rest) {
			break
		}
		out = append(out, c)
	}
	return out
}

// unhex returns the value of a hexadecimal digit, or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decodeHex decodes hexadecimal digits, skipping everything else; an odd
// final digit is taken as its high nibble (as PDF's ASCIIHexDecode
// specifies). It stops at stop (when stop is not 0).
func decodeHex(src []byte, stop byte) []byte {
	out := make([]byte, 0, len(src)/2+1)
	hi := -1
	for _, c := range src {
		if stop != 0 && c == stop {
			break
		}
		v := unhex(c)
		if v < 0 {
			continue
		}
		if hi < 0 {
			hi = v
			continue
		}
		out = append(out, byte(hi<<4|v))
		hi = -1
	}
	if hi >= 0 {
		out = append(out, byte(hi<<4))
	}
	return out
}

// uuBlock is one uuencoded file found in text.
type uuBlock struct {
	name   string
	offset int64 // of the "begin" line
	data   []byte
	ended  bool // an "end" line closed it
}

// findUU returns the uuencoded files in text: each starts at a line
// "begin <octal mode> <name>" and runs to a line "end", a zero-length
// encoded line or the end of text. Lines that are not valid uuencode inside a
// block are skipped. Mailers strip trailing spaces (which encode zero
// bits), so a short line is padded with zeros up to its count; a block
// stops growing at maxBytes (its file is cut there, ended false). Each
// block is passed to fn as it is decoded, so only one is in memory; an
// error from fn stops the search and is returned.
func findUU(text []byte, maxBytes int64, fn func(uuBlock) error) error {
	for off := 0; off < len(text); {
		line, next := nextLine(text, off)
		name, ok := uuBegin(line)
		if !ok {
			off = next
			continue
		}
		blk := uuBlock{name: name, offset: int64(off)}
		off = next
		for off < len(text) {
			line, next = nextLine(text, off)
			off = next
			t := bytes.TrimRight(line, "\r")
			if bytes.Equal(bytes.TrimRight(t, " \t"), []byte("end")) {
				blk.ended = true
				break
			}
			if len(t) == 0 {
				continue
			}
			if (t[0]-' ')&63 == 0 {
				// The zero-length line ("`" or " ") closes the data;
				// the "end" after it adds nothing.
				blk.ended = true
				if l2, n2 := nextLine(text, off); bytes.Equal(bytes.TrimRight(l2, " \t\r"), []byte("end")) {
					off = n2
				}
				break
			}
			if int64(len(blk.data)) > maxBytes {
				break
			}
			blk.data = uuLine(blk.data, t)
		}
		if err := fn(blk); err != nil {
			return err
		}
	}
	return nil
}

// uuBegin parses a "begin 644 name" line.
func uuBegin(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("begin "))
	if !ok {
		return "", false
	}
	rest = bytes.TrimLeft(rest, " ")
	mode, name, ok := bytes.Cut(rest, []byte(" "))
	if !ok || len(mode) == 0 || len(mode) > 6 {
		return "", false
	}
	if _, err := strconv.ParseUint(string(mode), 8, 32); err != nil {
		return "", false
	}
	return string(bytes.TrimSpace(name)), true
}

// uuLine appends the bytes of one uuencoded line to dst: the first
// character gives the count, then each 4 characters carry 3 bytes, missing
// characters counting as zero. Only a line that has at least half its
// characters is padded (stripped trailing spaces), so a short line cannot
// claim more bytes than about twice what it holds.
func uuLine(dst, line []byte) []byte {
	n := int((line[0] - ' ') & 63)
	enc := line[1:]
	if want := (n + 2) / 3 * 4; 2*len(enc) < want {
		n = len(enc) * 3 / 4
	}
	start := len(dst)
	for i := 0; len(dst)-start < n; i += 4 {
		var q [4]byte
		for j := 0; j < 4; j++ {
			if i+j < len(enc) {
				q[j] = (enc[i+j] - ' ') & 63
			}
		}
		b := [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
		for j := 0; j < 3 && len(dst)-start < n; j++ {
			dst = append(dst, b[j])
		}
	}
	return dst
}

// nextLine returns the line starting at off (without its "\n") and the
// offset after it.
func nextLine(text []byte, off int) ([]byte, int) {
	i := bytes.IndexByte(text[off:], '\n')
	if i < 0 {
		return text[off:], len(text)
	}
	return text[off : off+i], off + i + 1
}

// yEncBlock is one yEnc-encoded file found in text.
type yEncBlock struct {
	name  string
	data  []byte
	ended bool // a "=yend" line closed it
}

// findYEnc passes fn the yEnc files in text (Usenet's 8-bit encoding,
// which some mailers use too): each starts at a line "=ybegin ...
// name=<name>", may have a "=ypart" line, and runs to "=yend". Each data
// byte is the input byte minus 42; "=" escapes the next byte, which is
// then minus 64 more. Line breaks are not data.
func findYEnc(text []byte, fn func(yEncBlock) error) error {
	for off := 0; off < len(text); {
		line, next := nextLine(text, off)
		off = next
		if !bytes.HasPrefix(line, []byte("=ybegin ")) {
			continue
		}
		var blk yEncBlock
		if _, name, ok := bytes.Cut(line, []byte(" name=")); ok {
			blk.name = string(bytes.TrimRight(name, "\r"))
		}
		blk.data = make([]byte, 0, min(len(text)-off, 1<<20))
		for off < len(text) {
			line, next = nextLine(text, off)
			off = next
			line = bytes.TrimRight(line, "\r")
			if bytes.HasPrefix(line, []byte("=yend")) {
				blk.ended = true
				break
			}
			if bytes.HasPrefix(line, []byte("=ypart ")) {
				continue
			}
			for i := 0; i < len(line); i++ {
				c := line[i]
				if c == '=' && i+1 < len(line) {
					i++
					c = line[i] - 64
				}
				blk.data = append(blk.data, c-42)
			}
		}
		if err := fn(blk); err != nil {
			return err
		}
	}
	return nil
}
