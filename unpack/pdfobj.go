package unpack

import (
	"bytes"
	"strconv"
)

// The PDF object syntax (ISO 32000-1 §7.3), parsed only as far as the
// unpacker needs: stream dictionaries, their /Length, /Filter and
// /DecodeParms, object stream headers and /JS strings. Values are:
//
//	nil, bool, int64, float64, pdfName, []byte (string), []any (array),
//	pdfDict, pdfRef
type (
	pdfName string
	pdfDict map[pdfName]any
	pdfRef  struct{ num, gen int64 }
)

// pdfMaxDepth bounds the nesting of arrays and dictionaries.
const pdfMaxDepth = 32

type pdfLexer struct {
	b   []byte
	pos int
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skip passes white space and comments.
func (l *pdfLexer) skip() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isPDFSpace(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// word returns the regular characters at pos.
func (l *pdfLexer) word() []byte {
	s := l.pos
	for l.pos < len(l.b) && !isPDFSpace(l.b[l.pos]) && !isPDFDelim(l.b[l.pos]) {
		l.pos++
	}
	return l.b[s:l.pos]
}

// value parses one object at pos; ok is false when there is none.
func (l *pdfLexer) value(depth int) (v any, ok bool) {
	l.skip()
	if l.pos >= len(l.b) || depth > pdfMaxDepth {
		return nil, false
	}
	switch c := l.b[l.pos]; {
	case c == '/':
		l.pos++
		return pdfName(decodeName(l.word())), true
	case c == '(':
		return l.literal(), true
	case c == '<' && l.pos+1 < len(l.b) && l.b[l.pos+1] == '<':
		l.pos += 2
		d := pdfDict{}
		for {
			l.skip()
			if l.pos >= len(l.b) {
				return d, true
			}
			if l.b[l.pos] == '>' {
				if l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
					l.pos += 2
					return d, true
				}
				l.pos++
				continue
			}
			k, ok := l.value(depth + 1)
			if !ok {
				return d, true
			}
			name, isName := k.(pdfName)
			if !isName {
				if l.pos < len(l.b) && (l.b[l.pos] == ']' || l.b[l.pos] == ')') {
					l.pos++
				}
				continue
			}
			v, ok := l.value(depth + 1)
			if !ok {
				return d, true
			}
			d[name] = v
		}
	case c == '<':
		l.pos++
		e := bytes.IndexByte(l.b[l.pos:], '>')
		if e < 0 {
			e = len(l.b) - l.pos
		}
		s := decodeHex(l.b[l.pos:l.pos+e], 0)
		l.pos = min(len(l.b), l.pos+e+1)
		return s, true
	case c == '[':
		l.pos++
		var a []any
		for {
			l.skip()
			if l.pos >= len(l.b) {
				return a, true
			}
			if l.b[l.pos] == ']' {
				l.pos++
				return a, true
			}
			v, ok := l.value(depth + 1)
			if !ok {
				return a, true
			}
			a = append(a, v)
		}
	case c == ')' || c == '>' || c == ']' || c == '}' || c == '{':
		l.pos++
		return nil, true
	default:
		w := l.word()
		if len(w) == 0 {
			l.pos++
			return nil, true
		}
		switch string(w) {
		case "true":
			return true, true
		case "false":
			return false, true
		case "null":
			return nil, true
		}
		if n, err := strconv.ParseInt(string(w), 10, 64); err == nil {
			// "num gen R" is a reference.
			save := l.pos
			l.skip()
			g := l.word()
			if gen, err := strconv.ParseInt(string(g), 10, 64); err == nil && len(g) > 0 {
				l.skip()
				if l.pos < len(l.b) && l.b[l.pos] == 'R' && (l.pos+1 == len(l.b) || isPDFSpace(l.b[l.pos+1]) || isPDFDelim(l.b[l.pos+1])) {
					l.pos++
					return pdfRef{n, gen}, true
				}
			}
			l.pos = save
			return n, true
		}
		if f, err := strconv.ParseFloat(string(w), 64); err == nil {
			return f, true
		}
		// A keyword (obj, endobj, stream, R...): not a value.
		l.pos -= len(w)
		return nil, false
	}
}

// literal parses a (string) with its escapes and balanced parentheses.
func (l *pdfLexer) literal() []byte {
	l.pos++ // (
	var out []byte
	depth := 0
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return out
			}
			depth--
		case '\\':
			if l.pos >= len(l.b) {
				return out
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// decodeName resolves #xx escapes in a name (PDF 1.2+), which obfuscated
// files use to hide /JavaScript or /FlateDecode from naive scanners.
func decodeName(w []byte) string {
	if bytes.IndexByte(w, '#') < 0 {
		return string(w)
	}
	out := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		if w[i] == '#' && i+2 < len(w) && unhex(w[i+1]) >= 0 && unhex(w[i+2]) >= 0 {
			out = append(out, byte(unhex(w[i+1])<<4|unhex(w[i+2])))
			i += 2
			continue
		}
		out = append(out, w[i])
	}
	return string(out)
}
