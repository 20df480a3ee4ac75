package yara

import "math"

// Hex-string limits.
const (
	maxHexDepth       = 32  // nesting of alternatives
	maxJumpInAlt      = 200 // yara's YR_STRING_CHAINING_THRESHOLD
	maxHexTokens      = 1 << 16
	maxJumpBound      = math.MaxInt32
	hexSyntaxErrorMsg = "invalid hex string \"%s\": %s"
)

// hexParser parses the body of a hex string straight from the lexer's bytes.
type hexParser struct {
	l      *Lexer
	id     string
	tokens int
}

// HexString lexes and parses a hex string whose '{' the caller has just
// consumed, up to and including the closing '}'. id names the string in
// error messages.
func (l *Lexer) HexString(id string) ([]HexToken, error) {
	p := &hexParser{l: l, id: id}
	seq, err := p.seq(0)
	if err != nil {
		return nil, err
	}
	if err := p.space(); err != nil {
		return nil, err
	}
	if l.peekByte(0) != '}' {
		return nil, p.errorf("syntax error")
	}
	l.advance()
	return seq, nil
}

func (p *hexParser) errorf(msg string) error {
	return errorf(p.l.pos(), hexSyntaxErrorMsg, p.id, msg)
}

// space skips white space and comments; comments are allowed inside hex strings.
func (p *hexParser) space() error {
	if err := p.l.skipSpace(); err != nil {
		return err
	}
	return nil
}

// seq parses a non-empty token sequence that neither starts nor ends with a
// jump, stopping before '|', ')' or '}'.
func (p *hexParser) seq(depth int) ([]HexToken, error) {
	var seq []HexToken
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		c := p.l.peekByte(0)
		var t HexToken
		switch {
		case c == '|' || c == ')' || c == '}' || c == -1:
			if len(seq) == 0 {
				return nil, p.errorf("syntax error")
			}
			if first, last := seq[0], seq[len(seq)-1]; first.Kind == HexJump || last.Kind == HexJump {
				return nil, p.errorf("syntax error, a jump cannot start or end a sequence")
			}
			return seq, nil
		case c == '[':
			if len(seq) == 0 {
				return nil, p.errorf("syntax error")
			}
			var err error
			if t, err = p.jump(depth > 0); err != nil {
				return nil, err
			}
		case c == '(':
			if depth >= maxHexDepth {
				return nil, p.errorf("alternatives nested too deeply")
			}
			p.l.advance()
			t = HexToken{Kind: HexAlt}
			for {
				alt, err := p.seq(depth + 1)
				if err != nil {
					return nil, err
				}
				t.Alts = append(t.Alts, alt)
				if p.l.peekByte(0) == '|' {
					p.l.advance()
					continue
				}
				if p.l.peekByte(0) != ')' {
					return nil, p.errorf("syntax error, expecting ')'")
				}
				p.l.advance()
				break
			}
		case c == '~':
			p.l.advance()
			var err error
			if t, err = p.byteTok(); err != nil {
				return nil, err
			}
			if t.Mask == 0 {
				return nil, p.errorf("syntax error, ~?? is not allowed")
			}
			t.Not = true
		default:
			var err error
			if t, err = p.byteTok(); err != nil {
				return nil, err
			}
		}
		if p.tokens++; p.tokens > maxHexTokens {
			return nil, p.errorf("too many tokens")
		}
		seq = append(seq, t)
	}
}

// byteTok parses two adjacent hex digits or '?' wildcards.
func (p *hexParser) byteTok() (HexToken, error) {
	t := HexToken{Kind: HexByte}
	for i := 0; i < 2; i++ {
		c := p.l.peekByte(0)
		shift := uint(4 * (1 - i))
		switch v := hexVal(c); {
		case v >= 0:
			t.Value |= byte(v) << shift
			t.Mask |= 0xF << shift
		case c == '?':
		default:
			return t, p.errorf("syntax error")
		}
		p.l.advance()
	}
	return t, nil
}

// jump parses [n], [n-m], [n-] or [-]. Inside alternatives jumps must be
// bounded and at most 200 bytes long.
func (p *hexParser) jump(inAlt bool) (HexToken, error) {
	p.l.advance() // '['
	t := HexToken{Kind: HexJump, Max: -1}
	num := func() (int, bool, error) {
		if err := p.space(); err != nil {
			return 0, false, err
		}
		if !isDigit(p.l.peekByte(0)) {
			return 0, false, nil
		}
		v := 0
		for isDigit(p.l.peekByte(0)) {
			v = v*10 + p.l.peekByte(0) - '0'
			if v > maxJumpBound {
				return 0, false, p.errorf("jump bound too large")
			}
			p.l.advance()
		}
		if err := p.space(); err != nil {
			return 0, false, err
		}
		return v, true, nil
	}
	lo, haveLo, err := num()
	if err != nil {
		return t, err
	}
	t.Min = lo
	switch p.l.peekByte(0) {
	case ']':
		if !haveLo {
			return t, p.errorf("syntax error")
		}
		if lo == 0 {
			return t, p.errorf("invalid jump length")
		}
		t.Max = lo
	case '-':
		p.l.advance()
		hi, haveHi, err := num()
		if err != nil {
			return t, err
		}
		if !haveLo && haveHi {
			return t, p.errorf("syntax error") // [-m] is not a jump form
		}
		if haveHi {
			if hi < lo {
				return t, p.errorf("invalid jump range")
			}
			t.Max = hi
		}
		if p.l.peekByte(0) != ']' {
			return t, p.errorf("syntax error")
		}
	default:
		return t, p.errorf("syntax error")
	}
	p.l.advance()
	if inAlt && (t.Max < 0 || t.Max > maxJumpInAlt) {
		if t.Max < 0 {
			return t, p.errorf("unbounded jumps not allowed inside alternation (|)")
		}
		return t, p.errorf("jumps over 200 not allowed inside alternation (|)")
	}
	return t, nil
}
