package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"html"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/glassav/glassav/filetype"
)

// htmlFormat opens the content HTML carries encoded inside itself: data:
// URIs (RFC 2397, base64 or percent-encoded) anywhere in the document, as
// ClamAV's HTML normaliser extracts them, and the string arguments of
// script unescape() calls (%XX and %uXXXX escapes, the usual way exploit
// pages carry shellcode and droppers). UTF-16 pages are converted to UTF-8
// first.
func htmlFormat() *Format {
	return &Format{
		Name:   "html",
		Types:  []filetype.Type{filetype.HTML, filetype.HTMLUTF16},
		Unpack: unpackHTML,
	}
}

// maxDataURIType bounds the media type part of a data: URI.
const maxDataURIType = 256

func unpackHTML(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	data = utf16ToUTF8(data)
	low := asciiLower(data) // same length as data, unlike bytes.ToLower
	for off := 0; off < len(low); {
		if err := b.Check(ctx); err != nil {
			return err
		}
		i := bytes.Index(low[off:], []byte("data:"))
		if i < 0 {
			break
		}
		i += off
		off = i + 5
		var quote byte
		if j := bytes.LastIndexFunc(data[:i], func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' }); j >= 0 && (data[j] == '"' || data[j] == '\'') {
			quote = data[j]
		}
		mt, payload, end, ok := dataURI(data, i+5, quote)
		if !ok {
			continue
		}
		off = end
		var out []byte
		raw := percentDecode([]byte(html.UnescapeString(string(payload))))
		if strings.HasSuffix(strings.ToLower(mt), ";base64") {
			out = decodeBase64(raw)
			mt = mt[:len(mt)-len(";base64")]
		} else {
			out = raw
		}
		if len(out) == 0 {
			continue
		}
		if mt == "" {
			mt = "text/plain"
		}
		if err := emitDecoded(ctx, b, emit, "data:"+mt, out, int64(len(payload)), 0); err != nil {
			return err
		}
	}
	for off := 0; off < len(low); {
		if err := b.Check(ctx); err != nil {
			return err
		}
		i := bytes.Index(low[off:], []byte("unescape("))
		if i < 0 {
			break
		}
		off = i + off + len("unescape(")
		lit, end, ok := jsString(data, off)
		if !ok {
			continue
		}
		off = end
		if out := jsUnescape(lit); len(out) > 0 && bytes.IndexByte(lit, '%') >= 0 {
			if err := emitDecoded(ctx, b, emit, "script:unescape", out, int64(len(lit)), 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// dataURI parses the data: URI whose media type starts at s: the type up to
// ',' and the payload up to the closing quote when the URI is quoted
// (browsers drop the line breaks and tabs inside, and so does base64),
// else up to white space, a quote, '<', '>' or ')'.
func dataURI(data []byte, s int, quote byte) (mt string, payload []byte, end int, ok bool) {
	c := bytes.IndexByte(data[s:min(len(data), s+maxDataURIType)], ',')
	if c < 0 {
		return "", nil, 0, false
	}
	mt = strings.TrimSpace(string(data[s : s+c]))
	if strings.ContainsAny(mt, "\"'<> \t\r\n") {
		return "", nil, 0, false
	}
	p := s + c + 1
	if quote != 0 {
		e := bytes.IndexByte(data[p:], quote)
		if e < 0 {
			return mt, data[p:], len(data), true
		}
		return mt, data[p : p+e], p + e, true
	}
	e := p
	for e < len(data) {
		switch data[e] {
		case '"', '\'', '<', '>', ')', ' ', '\t', '\r', '\n':
			return mt, data[p:e], e, true
		}
		e++
	}
	return mt, data[p:e], e, true
}

// percentDecode resolves %XX escapes, leaving malformed ones as they are.
func percentDecode(s []byte) []byte {
	if bytes.IndexByte(s, '%') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0 {
			out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// jsString returns the contents of the JavaScript string literal at s
// (after optional white space), without resolving its backslash escapes
// other than \" and \'.
func jsString(data []byte, s int) ([]byte, int, bool) {
	for s < len(data) && (data[s] == ' ' || data[s] == '\t' || data[s] == '\r' || data[s] == '\n') {
		s++
	}
	if s >= len(data) || (data[s] != '"' && data[s] != '\'') {
		return nil, s, false
	}
	q := data[s]
	var out []byte
	for i := s + 1; i < len(data); i++ {
		switch data[i] {
		case q:
			return out, i + 1, true
		case '\\':
			if i+1 < len(data) {
				i++
			}
		case '\n':
			return out, i, true
		}
		out = append(out, data[i])
	}
	return out, len(data), true
}

// jsUnescape decodes JavaScript unescape(): %XX is a byte, %uXXXX a UTF-16
// unit written little-endian (how shellcode is carried), the rest as is.
func jsUnescape(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') && isHex(s[i+2:i+6]) {
				v := unhex(s[i+2])<<12 | unhex(s[i+3])<<8 | unhex(s[i+4])<<4 | unhex(s[i+5])
				out = append(out, byte(v), byte(v>>8))
				i += 5
				continue
			}
			if i+2 < len(s) && isHex(s[i+1:i+3]) {
				out = append(out, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

func isHex(s []byte) bool {
	for _, c := range s {
		if unhex(c) < 0 {
			return false
		}
	}
	return true
}

// utf16ToUTF8 converts UTF-16 text (by its byte-order mark, or by where
// the zero bytes of ASCII fall) to UTF-8; other text is returned as is.
func utf16ToUTF8(data []byte) []byte {
	if len(data) < 4 {
		return data
	}
	var order binary.ByteOrder
	switch {
	case data[0] == 0xFF && data[1] == 0xFE:
		order, data = binary.LittleEndian, data[2:]
	case data[0] == 0xFE && data[1] == 0xFF:
		order, data = binary.BigEndian, data[2:]
	case data[0] != 0 && data[1] == 0 && data[2] != 0 && data[3] == 0:
		order = binary.LittleEndian
	case data[0] == 0 && data[1] != 0 && data[2] == 0 && data[3] != 0:
		order = binary.BigEndian
	default:
		return data
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	out := make([]byte, 0, len(data))
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// asciiLower returns a copy of b with ASCII letters in lower case and
// every other byte unchanged, so offsets in it are offsets in b.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
