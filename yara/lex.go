package yara

import (
	"math"
	"strconv"
)

// Limits against hostile input.
const (
	maxIdentLen = 128     // yara's limit on identifier length
	maxTextLen  = 1 << 20 // longest text string or regexp source
)

// Item is one lexed token with its value and position.
type Item struct {
	Tok   Token
	Pos   Pos
	Text  string  // identifier, string identifier, decoded text, regexp source
	Int   int64   // Int
	Float float64 // Float
	Flags string  // Regexp: the flags after the closing slash ("i", "s", "is")
}

// Lexer splits YARA source into tokens. A '/' always begins a regular
// expression (division is '\'), so the lexer needs no parser feedback
// except for hex strings, which the parser asks for with HexString when it
// sees '{' after '=' in a strings section.
type Lexer struct {
	file string
	src  []byte
	off  int
	line int
	col  int
}

// NewLexer returns a lexer over src; file names positions.
func NewLexer(file string, src []byte) *Lexer {
	return &Lexer{file: file, src: src, line: 1, col: 1}
}

func (l *Lexer) pos() Pos { return Pos{File: l.file, Line: l.line, Col: l.col} }

func (l *Lexer) peekByte(k int) int {
	if l.off+k < len(l.src) {
		return int(l.src[l.off+k])
	}
	return -1
}

func (l *Lexer) advance() {
	if l.src[l.off] == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	l.off++
}

// skipSpace skips white space and comments.
func (l *Lexer) skipSpace() error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance()
		case c == '/' && l.peekByte(1) == '/':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
		case c == '/' && l.peekByte(1) == '*':
			start := l.pos()
			l.advance()
			l.advance()
			for {
				if l.off >= len(l.src) {
					return errorf(start, "syntax error, unterminated comment")
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance()
					l.advance()
					break
				}
				l.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

func isLetter(c int) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c int) bool  { return c >= '0' && c <= '9' }
func isIdent(c int) bool  { return isLetter(c) || isDigit(c) }

func hexVal(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

// Next returns the next token.
func (l *Lexer) Next() (Item, error) {
	if err := l.skipSpace(); err != nil {
		return Item{}, err
	}
	it := Item{Pos: l.pos()}
	if l.off >= len(l.src) {
		it.Tok = EOF
		return it, nil
	}
	c := int(l.src[l.off])
	switch {
	case isLetter(c):
		name := l.ident()
		if len(name) > maxIdentLen {
			return it, errorf(it.Pos, "identifier \"%.20s...\" too long", name)
		}
		if kw, ok := keywords[name]; ok {
			it.Tok = kw
		} else {
			it.Tok = Identifier
		}
		it.Text = name
		return it, nil
	case isDigit(c):
		return l.number(it)
	case c == '$':
		l.advance()
		name := "$" + l.ident()
		if len(name) > maxIdentLen {
			return it, errorf(it.Pos, "identifier \"%.20s...\" too long", name)
		}
		it.Tok, it.Text = StringID, name
		if l.peekByte(0) == '*' {
			l.advance()
			it.Tok = StringIDWild
		}
		return it, nil
	case c == '#' || c == '@' || (c == '!' && l.peekByte(1) != '='):
		l.advance()
		name := l.ident()
		if len(name) > maxIdentLen {
			return it, errorf(it.Pos, "identifier \"%.20s...\" too long", name)
		}
		it.Text = "$" + name
		switch c {
		case '#':
			it.Tok = StringCount
		case '@':
			it.Tok = StringOffset
		default:
			it.Tok = StringLength
		}
		return it, nil
	case c == '"':
		return l.text(it)
	case c == '/':
		return l.regexp(it)
	}
	// Punctuation.
	two := func(next byte, long, short Token) {
		l.advance()
		if l.off < len(l.src) && l.src[l.off] == next {
			l.advance()
			it.Tok = long
		} else {
			it.Tok = short
		}
	}
	switch c {
	case '{':
		it.Tok = LBrace
	case '}':
		it.Tok = RBrace
	case '(':
		it.Tok = LParen
	case ')':
		it.Tok = RParen
	case '[':
		it.Tok = LBrack
	case ']':
		it.Tok = RBrack
	case ':':
		it.Tok = Colon
	case ',':
		it.Tok = Comma
	case '+':
		it.Tok = Plus
	case '-':
		it.Tok = Minus
	case '*':
		it.Tok = Star
	case '\\':
		it.Tok = Backslash
	case '%':
		it.Tok = Percent
	case '&':
		it.Tok = Amp
	case '|':
		it.Tok = Pipe
	case '^':
		it.Tok = Caret
	case '~':
		it.Tok = Tilde
	case '.':
		two('.', DotDot, Dot)
		return it, nil
	case '=':
		two('=', Eq, Assign)
		return it, nil
	case '!':
		l.advance()
		l.advance() // "!=": a lone '!' was lexed as a string length above
		it.Tok = Ne
		return it, nil
	case '<':
		l.advance()
		switch l.peekByte(0) {
		case '<':
			l.advance()
			it.Tok = Shl
		case '=':
			l.advance()
			it.Tok = Le
		default:
			it.Tok = Lt
		}
		return it, nil
	case '>':
		l.advance()
		switch l.peekByte(0) {
		case '>':
			l.advance()
			it.Tok = Shr
		case '=':
			l.advance()
			it.Tok = Ge
		default:
			it.Tok = Gt
		}
		return it, nil
	default:
		if c >= 0x20 && c < 0x7f {
			return it, errorf(it.Pos, "syntax error, unexpected character '%c'", c)
		}
		return it, errorf(it.Pos, "syntax error, unexpected byte 0x%02x", c)
	}
	l.advance()
	return it, nil
}

func (l *Lexer) ident() string {
	start := l.off
	for l.off < len(l.src) && isIdent(int(l.src[l.off])) {
		l.advance()
	}
	return string(l.src[start:l.off])
}

// number lexes decimal, 0x hex and 0o octal integers (decimal ones may carry
// a KB or MB suffix) and decimal floats. Values that do not fit in an int64
// are rejected, as yara's lexer does.
func (l *Lexer) number(it Item) (Item, error) {
	start := l.off
	base := 10
	if l.src[l.off] == '0' && (l.peekByte(1) == 'x' || l.peekByte(1) == 'X') && hexVal(l.peekByte(2)) >= 0 {
		base = 16
	} else if l.src[l.off] == '0' && l.peekByte(1) == 'o' && l.peekByte(2) >= '0' && l.peekByte(2) <= '7' {
		base = 8
	}
	if base != 10 {
		l.advance()
		l.advance()
		ds := l.off
		for l.off < len(l.src) && hexVal(int(l.src[l.off])) >= 0 && hexVal(int(l.src[l.off])) < base {
			l.advance()
		}
		v, err := strconv.ParseInt(string(l.src[ds:l.off]), base, 64)
		if err != nil {
			return it, errorf(it.Pos, "integer overflow in \"%s\"", l.src[start:l.off])
		}
		it.Tok, it.Int, it.Text = Int, v, string(l.src[start:l.off])
		return it, nil
	}
	for l.off < len(l.src) && isDigit(int(l.src[l.off])) {
		l.advance()
	}
	if l.peekByte(0) == '.' && isDigit(l.peekByte(1)) {
		l.advance()
		for l.off < len(l.src) && isDigit(int(l.src[l.off])) {
			l.advance()
		}
		f, err := strconv.ParseFloat(string(l.src[start:l.off]), 64)
		if err != nil || math.IsInf(f, 0) {
			return it, errorf(it.Pos, "syntax error, invalid float %s", l.src[start:l.off])
		}
		it.Tok, it.Float, it.Text = Float, f, string(l.src[start:l.off])
		return it, nil
	}
	digits := string(l.src[start:l.off])
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return it, errorf(it.Pos, "integer overflow in \"%s\"", digits)
	}
	mul := int64(1)
	if l.peekByte(0) == 'K' && l.peekByte(1) == 'B' {
		mul = 1 << 10
	} else if l.peekByte(0) == 'M' && l.peekByte(1) == 'B' {
		mul = 1 << 20
	}
	if mul != 1 {
		l.advance()
		l.advance()
		if v > math.MaxInt64/mul {
			return it, errorf(it.Pos, "integer overflow in \"%s\"", l.src[start:l.off])
		}
		v *= mul
	}
	it.Tok, it.Int, it.Text = Int, v, string(l.src[start:l.off])
	return it, nil
}

// text lexes a double-quoted string with yara's escapes \" \\ \t \n \r \xHH.
func (l *Lexer) text(it Item) (Item, error) {
	l.advance()
	var b []byte
	for {
		c := l.peekByte(0)
		switch c {
		case -1, '\n':
			return it, errorf(it.Pos, "syntax error, unterminated string")
		case '"':
			l.advance()
			it.Tok, it.Text = Text, string(b)
			return it, nil
		case '\\':
			epos := l.pos()
			l.advance()
			e := l.peekByte(0)
			switch e {
			case '"', '\\':
				b = append(b, byte(e))
			case 't':
				b = append(b, '\t')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 'x':
				h, lo := hexVal(l.peekByte(1)), hexVal(l.peekByte(2))
				if h < 0 || lo < 0 {
					return it, errorf(epos, "syntax error, illegal escape sequence")
				}
				l.advance()
				l.advance()
				b = append(b, byte(h<<4|lo))
			default:
				return it, errorf(epos, "syntax error, illegal escape sequence")
			}
			l.advance()
		default:
			b = append(b, byte(c))
			l.advance()
		}
		if len(b) > maxTextLen {
			return it, errorf(it.Pos, "string too long")
		}
	}
}

// regexp lexes /source/flags. The source is kept verbatim (escapes
// included); only an escaped '/' ends up unescaped, since it is yara's way
// to put a slash in a regexp. Regexps cannot span lines.
func (l *Lexer) regexp(it Item) (Item, error) {
	l.advance()
	var b []byte
	for {
		c := l.peekByte(0)
		switch c {
		case -1, '\n':
			return it, errorf(it.Pos, "syntax error, unterminated regular expression")
		case '/':
			l.advance()
			if len(b) == 0 {
				return it, errorf(it.Pos, "syntax error, empty regular expression")
			}
			start := l.off
			for l.peekByte(0) == 'i' || l.peekByte(0) == 's' {
				l.advance()
			}
			it.Tok, it.Text, it.Flags = Regexp, string(b), string(l.src[start:l.off])
			return it, nil
		case '\\':
			l.advance()
			e := l.peekByte(0)
			if e == -1 || e == '\n' {
				return it, errorf(it.Pos, "syntax error, unterminated regular expression")
			}
			if e != '/' {
				b = append(b, '\\')
			}
			b = append(b, byte(e))
			l.advance()
		default:
			b = append(b, byte(c))
			l.advance()
		}
		if len(b) > maxTextLen {
			return it, errorf(it.Pos, "regular expression too long")
		}
	}
}
