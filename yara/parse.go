package yara

import (
	"fmt"
	"path/filepath"
)

// Parser limits against hostile input.
const (
	maxExprDepth    = 128     // nesting of parentheses, unary operators, loops
	maxExprNodes    = 1 << 16 // expression nodes per condition (bounds the checker's recursion)
	maxIncludeDepth = 16      // yara's YR_MAX_INCLUDE_DEPTH
	maxStrings      = 10000   // yara's default --max-strings-per-rule
)

// Config controls parsing. The zero value parses a single source with
// includes disabled.
type Config struct {
	// ReadFile loads an included file by its resolved path. Nil disables
	// include statements (they become errors), as a host handling untrusted
	// rules should.
	ReadFile func(path string) ([]byte, error)
	// Namespace is the namespace of the rules parsed; "" means "default".
	Namespace string
}

type parser struct {
	cfg   *Config
	lex   *Lexer
	tok   Item
	file  *File
	depth int
	nodes int
	// stack is the chain of files being included, for cycle detection.
	stack   []string
	imports []string
	// forQuant is set while parsing the quantifier of a for loop, where
	// "N% i in" ends the expression at '%'.
	forQuant bool
}

// Parse parses one rule source. name is used in positions and to resolve
// includes (relative to the directory of the including file). The result is
// syntactically valid but unchecked: run Check on it.
func Parse(name string, src []byte, cfg *Config) (*File, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = "default"
	}
	p := &parser{cfg: cfg, file: &File{Name: name, Namespace: ns}}
	if err := p.parseFile(name, src); err != nil {
		return nil, err
	}
	return p.file, nil
}

type bailout struct{ err error }

// parseFile parses src into p.file; includes recurse into it.
func (p *parser) parseFile(name string, src []byte) (err error) {
	saveLex, saveTok := p.lex, p.tok
	defer func() { p.lex, p.tok = saveLex, saveTok }()
	p.lex = NewLexer(name, src)
	p.stack = append(p.stack, filepath.Clean(name))
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = b.err
		}
	}()
	p.next()
	for p.tok.Tok != EOF {
		switch p.tok.Tok {
		case KwImport:
			pos := p.tok.Pos
			p.next()
			mod := p.expect(Text).Text
			p.file.Imports = append(p.file.Imports, &Import{Pos: pos, Module: mod})
			p.imports = append(p.imports, mod)
		case KwInclude:
			pos := p.tok.Pos
			p.next()
			path := p.tok.Text
			p.expect(Text)
			p.include(pos, path)
		default:
			p.file.Rules = append(p.file.Rules, p.parseRule())
		}
	}
	return nil
}

func (p *parser) include(pos Pos, path string) {
	if p.cfg.ReadFile == nil {
		p.fail(pos, "includes are disabled")
	}
	if path == "" {
		p.fail(pos, "empty include path")
	}
	if len(p.stack) > maxIncludeDepth {
		p.fail(pos, "too many levels of included rules")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.lex.file), path)
	}
	path = filepath.Clean(path)
	for _, f := range p.stack {
		if f == path {
			p.fail(pos, "circular include of %q", path)
		}
	}
	src, err := p.cfg.ReadFile(path)
	if err != nil {
		panic(bailout{&Error{Pos: pos, Msg: fmt.Sprintf("can't open include file: %v", err), Err: err}})
	}
	p.file.Includes = append(p.file.Includes, path)
	if err := p.parseFile(path, src); err != nil {
		panic(bailout{err})
	}
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	panic(bailout{errorf(pos, format, args...)})
}

func (p *parser) next() {
	it, err := p.lex.Next()
	if err != nil {
		panic(bailout{err})
	}
	p.tok = it
}

// peek returns the token after the current one without consuming it.
func (p *parser) peek() Token {
	save := *p.lex
	it, err := p.lex.Next()
	*p.lex = save
	if err != nil {
		return EOF
	}
	return it.Tok
}

func (p *parser) unexpected() {
	what := p.tok.Tok.String()
	switch p.tok.Tok {
	case Identifier, StringID, StringCount, StringOffset, StringLength, Int, Float:
		what = fmt.Sprintf("%s %q", what, p.tok.Text)
	}
	p.fail(p.tok.Pos, "syntax error, unexpected %s", what)
}

func (p *parser) expect(t Token) Item {
	if p.tok.Tok != t {
		if p.tok.Tok == EOF {
			p.fail(p.tok.Pos, "syntax error, unexpected end of file, expecting %s", t)
		}
		p.unexpected()
	}
	it := p.tok
	p.next()
	return it
}

func (p *parser) parseRule() *Rule {
	r := &Rule{Pos: p.tok.Pos, Namespace: p.file.Namespace}
	for {
		if p.tok.Tok == KwPrivate {
			r.Private = true
		} else if p.tok.Tok == KwGlobal {
			r.Global = true
		} else {
			break
		}
		p.next()
	}
	r.Pos = p.expect(KwRule).Pos
	r.Name = p.expect(Identifier).Text
	r.Imports = append([]string(nil), p.imports...)
	if p.tok.Tok == Colon {
		p.next()
		for p.tok.Tok == Identifier {
			r.Tags = append(r.Tags, p.tok.Text)
			r.TagPos = append(r.TagPos, p.tok.Pos)
			p.next()
		}
		if len(r.Tags) == 0 {
			p.unexpected()
		}
	}
	p.expect(LBrace)
	if p.tok.Tok == KwMeta {
		p.next()
		p.expect(Colon)
		for p.tok.Tok == Identifier {
			r.Meta = append(r.Meta, p.parseMeta())
		}
	}
	if p.tok.Tok == KwStrings {
		p.next()
		p.expect(Colon)
		for p.tok.Tok == StringID {
			if len(r.Strings) >= maxStrings {
				p.fail(p.tok.Pos, "too many strings in rule %q", r.Name)
			}
			r.Strings = append(r.Strings, p.parseString())
		}
	}
	p.expect(KwCondition)
	p.expect(Colon)
	p.nodes = 0
	r.Condition = p.parseExpr()
	p.expect(RBrace)
	return r
}

func (p *parser) parseMeta() *Meta {
	m := &Meta{Pos: p.tok.Pos, Key: p.tok.Text}
	p.next()
	p.expect(Assign)
	switch p.tok.Tok {
	case Text:
		m.Value = p.tok.Text
	case Int:
		m.Value = p.tok.Int
	case Minus:
		p.next()
		if p.tok.Tok != Int {
			p.unexpected()
		}
		m.Value = -p.tok.Int
	case KwTrue:
		m.Value = true
	case KwFalse:
		m.Value = false
	default:
		p.unexpected()
	}
	p.next()
	return m
}

func (p *parser) parseString() *String {
	s := &String{Pos: p.tok.Pos, ID: p.tok.Text}
	p.next()
	p.expect(Assign)
	switch p.tok.Tok {
	case Text:
		s.Kind, s.Text = TextPattern, []byte(p.tok.Text)
	case Regexp:
		s.Kind, s.Re = RegexpPattern, regexpSource(p.tok)
	case LBrace:
		// The lexer stands just after '{': hand it the hex sublanguage.
		hex, err := p.lex.HexString(s.ID)
		if err != nil {
			panic(bailout{err})
		}
		s.Kind, s.Hex = HexPattern, hex
	default:
		p.unexpected()
	}
	p.next()
	p.parseModifiers(s)
	return s
}

func regexpSource(it Item) RegexpSource {
	re := RegexpSource{Source: it.Text}
	for _, f := range it.Flags {
		switch f {
		case 'i':
			re.NoCase = true
		case 's':
			re.DotAll = true
		}
	}
	return re
}

// parseModifiers parses the modifiers after a pattern. Which modifiers a
// pattern kind accepts is grammar in yara (others are syntax errors); which
// combine is left to the checker.
func (p *parser) parseModifiers(s *String) {
	m := &s.Mods
	alphabets := make(map[Token]string, 2)
	for {
		t := p.tok
		var flag *bool
		switch t.Tok {
		case KwASCII:
			flag = &m.ASCII
		case KwWide:
			flag = &m.Wide
		case KwNocase:
			flag = &m.NoCase
		case KwFullword:
			flag = &m.Fullword
		case KwPrivate:
			flag = &m.Private
		case KwXor:
			flag = &m.XOR
		case KwBase64:
			flag = &m.Base64
		case KwBase64Wide:
			flag = &m.Base64Wide
		default:
			return
		}
		name := keywordNames[t.Tok]
		allowed := true
		switch s.Kind {
		case HexPattern:
			allowed = t.Tok == KwPrivate
		case RegexpPattern:
			allowed = t.Tok != KwXor && t.Tok != KwBase64 && t.Tok != KwBase64Wide
		}
		if !allowed {
			p.fail(t.Pos, "syntax error, unexpected %s", t.Tok)
		}
		if *flag {
			p.fail(t.Pos, "duplicated modifier %q", name)
		}
		*flag = true
		if m.Pos == nil {
			m.Pos = make(map[string]Pos)
		}
		m.Pos[name] = t.Pos
		p.next()
		switch t.Tok {
		case KwXor:
			m.XORMin, m.XORMax = 0, 255
			if p.tok.Tok == LParen {
				p.next()
				lo := p.expect(Int)
				m.XORMin, m.XORMax = int(clampInt(lo.Int)), int(clampInt(lo.Int))
				if p.tok.Tok == Minus {
					p.next()
					hi := p.expect(Int)
					m.XORMax = int(clampInt(hi.Int))
				}
				p.expect(RParen)
			}
		case KwBase64, KwBase64Wide:
			if p.tok.Tok == LParen {
				p.next()
				alpha := p.expect(Text)
				alphabets[t.Tok] = alpha.Text
				if _, ok := m.Pos["alphabet"]; !ok {
					m.Pos["alphabet"] = alpha.Pos
				}
				m.Alphabet = alpha.Text
				p.expect(RParen)
			}
			// yara has one alphabet per string: base64 and base64wide
			// must agree (the standard one when not given).
			if m.Base64 && m.Base64Wide && alphabets[KwBase64] != alphabets[KwBase64Wide] {
				p.fail(t.Pos, "can not specify multiple alphabets")
			}
		}
	}
}

// clampInt keeps modifier arguments in a range where int conversion is
// safe; the checker rejects anything outside 0..255 anyway.
func clampInt(v int64) int64 {
	if v < -1 {
		return -1
	}
	if v > 1<<20 {
		return 1 << 20
	}
	return v
}

// enter guards recursion; every recursive production calls it.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxExprDepth {
		p.fail(p.tok.Pos, "expression nested too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

// mk counts a new node against the per-condition limit.
func (p *parser) mk(pos Pos) node {
	p.nodes++
	if p.nodes > maxExprNodes {
		p.fail(pos, "condition too large")
	}
	return node{P: pos}
}

func (p *parser) parseExpr() Expr {
	p.enter()
	defer p.leave()
	saveForQuant := p.forQuant
	p.forQuant = false
	defer func() { p.forQuant = saveForQuant }()
	x := p.parseAnd()
	for p.tok.Tok == KwOr {
		op := p.tok
		p.next()
		y := p.parseAnd()
		x = &Binary{node: p.mk(op.Pos), Op: KwOr, X: x, Y: y}
	}
	return x
}

func (p *parser) parseAnd() Expr {
	x := p.parseNot()
	for p.tok.Tok == KwAnd {
		op := p.tok
		p.next()
		y := p.parseNot()
		x = &Binary{node: p.mk(op.Pos), Op: KwAnd, X: x, Y: y}
	}
	return x
}

func (p *parser) parseNot() Expr {
	if p.tok.Tok == KwNot || p.tok.Tok == KwDefined {
		p.enter()
		defer p.leave()
		op := p.tok
		p.next()
		x := p.parseNot()
		return &Unary{node: p.mk(op.Pos), Op: op.Tok, X: x}
	}
	return p.parseQuantified()
}

// parseQuantified parses an equality-level expression that may be the
// count of an `N of set` or `N% of set`.
func (p *parser) parseQuantified() Expr {
	x := p.parseEquality()
	switch {
	case p.tok.Tok == KwOf:
		return p.parseOf(Quantifier{Pos: x.Position(), Kind: QuantN, N: x})
	case p.tok.Tok == Percent:
		p.next()
		if p.tok.Tok != KwOf {
			p.unexpected()
		}
		return p.parseOf(Quantifier{Pos: x.Position(), Kind: QuantPercent, N: x})
	}
	return x
}

var equalityOps = map[Token]bool{
	Eq: true, Ne: true, KwContains: true, KwIContains: true, KwStartsWith: true,
	KwIStartsWith: true, KwEndsWith: true, KwIEndsWith: true, KwIEquals: true, KwMatches: true,
}

func (p *parser) parseEquality() Expr {
	x := p.parseRelational()
	for equalityOps[p.tok.Tok] {
		op := p.tok
		p.next()
		var y Expr
		if op.Tok == KwMatches {
			re := p.expect(Regexp)
			y = &RegexpLit{node: p.mk(re.Pos), Re: regexpSource(re)}
		} else {
			y = p.parseRelational()
		}
		x = &Binary{node: p.mk(op.Pos), Op: op.Tok, X: x, Y: y}
	}
	return x
}

func (p *parser) parseRelational() Expr {
	x := p.parseBitOr()
	for p.tok.Tok == Lt || p.tok.Tok == Le || p.tok.Tok == Gt || p.tok.Tok == Ge {
		op := p.tok
		p.next()
		y := p.parseBitOr()
		x = &Binary{node: p.mk(op.Pos), Op: op.Tok, X: x, Y: y}
	}
	return x
}

// binaryLevel parses a left-associative level of operators ops over next.
func (p *parser) binaryLevel(next func() Expr, ops ...Token) Expr {
	x := next()
	for {
		t := p.tok.Tok
		found := false
		for _, o := range ops {
			if t == o {
				found = true
			}
		}
		// "50% of them", "for 50% i in ...": the '%' belongs to the quantifier.
		if found && t == Percent {
			if next := p.peek(); next == KwOf || (p.forQuant && next == Identifier) {
				found = false
			}
		}
		if !found {
			return x
		}
		op := p.tok
		p.next()
		y := next()
		x = &Binary{node: p.mk(op.Pos), Op: op.Tok, X: x, Y: y}
	}
}

func (p *parser) parseBitOr() Expr  { return p.binaryLevel(p.parseBitXor, Pipe) }
func (p *parser) parseBitXor() Expr { return p.binaryLevel(p.parseBitAnd, Caret) }
func (p *parser) parseBitAnd() Expr { return p.binaryLevel(p.parseShift, Amp) }
func (p *parser) parseShift() Expr  { return p.binaryLevel(p.parseAdd, Shl, Shr) }
func (p *parser) parseAdd() Expr    { return p.binaryLevel(p.parseMul, Plus, Minus) }
func (p *parser) parseMul() Expr {
	return p.binaryLevel(p.parseUnary, Star, Backslash, Percent)
}

func (p *parser) parseUnary() Expr {
	if p.tok.Tok == Minus || p.tok.Tok == Tilde {
		p.enter()
		defer p.leave()
		op := p.tok
		p.next()
		x := p.parseUnary()
		return &Unary{node: p.mk(op.Pos), Op: op.Tok, X: x}
	}
	return p.parsePostfix()
}

// parsePostfix parses a primary expression and, for identifiers, the
// member accesses, indexes and calls that follow it.
func (p *parser) parsePostfix() Expr {
	x := p.parsePrimary()
	switch x.(type) {
	case *Ident:
	default:
		return x
	}
	for {
		switch p.tok.Tok {
		case Dot:
			pos := p.tok.Pos
			p.next()
			name := p.expect(Identifier).Text
			x = &Field{node: p.mk(pos), X: x, Name: name}
		case LBrack:
			pos := p.tok.Pos
			p.next()
			i := p.parseExpr()
			p.expect(RBrack)
			x = &Index{node: p.mk(pos), X: x, Index: i}
		case LParen:
			pos := p.tok.Pos
			p.next()
			c := &Call{node: p.mk(pos), Fn: x}
			for p.tok.Tok != RParen {
				if len(c.Args) > 0 {
					p.expect(Comma)
				}
				if len(c.Args) >= 128 {
					p.fail(p.tok.Pos, "too many arguments")
				}
				c.Args = append(c.Args, p.parseExpr())
			}
			p.next()
			x = c
		default:
			return x
		}
	}
}

func (p *parser) parsePrimary() Expr {
	t := p.tok
	switch t.Tok {
	case LParen:
		p.next()
		x := p.parseExpr()
		p.expect(RParen)
		return x
	case Int:
		p.next()
		return &IntLit{node: p.mk(t.Pos), Value: t.Int}
	case Float:
		p.next()
		return &FloatLit{node: p.mk(t.Pos), Value: t.Float}
	case Text:
		p.next()
		return &StringLit{node: p.mk(t.Pos), Value: t.Text}
	case Regexp:
		p.next()
		return &RegexpLit{node: p.mk(t.Pos), Re: regexpSource(t)}
	case KwTrue, KwFalse:
		p.next()
		return &BoolLit{node: p.mk(t.Pos), Value: t.Tok == KwTrue}
	case KwFilesize:
		p.next()
		return &Keyword{node: p.mk(t.Pos), Kind: Filesize}
	case KwEntrypoint:
		p.next()
		return &Keyword{node: p.mk(t.Pos), Kind: Entrypoint}
	case KwInt8, KwInt16, KwInt32, KwInt8BE, KwInt16BE, KwInt32BE,
		KwUint8, KwUint16, KwUint32, KwUint8BE, KwUint16BE, KwUint32BE:
		p.next()
		p.expect(LParen)
		off := p.parseExpr()
		p.expect(RParen)
		return &Read{node: p.mk(t.Pos), Fn: t.Tok, Offset: off}
	case StringID:
		p.next()
		r := &StringRef{node: p.mk(t.Pos), Kind: RefMatch, ID: t.Text}
		switch p.tok.Tok {
		case KwAt:
			p.next()
			r.At = p.parseAtOperand()
		case KwIn:
			p.next()
			r.In = p.parseRange()
		}
		return r
	case StringCount:
		p.next()
		r := &StringRef{node: p.mk(t.Pos), Kind: RefCount, ID: t.Text}
		if p.tok.Tok == KwIn {
			p.next()
			r.In = p.parseRange()
		}
		return r
	case StringOffset, StringLength:
		p.next()
		kind := RefOffset
		if t.Tok == StringLength {
			kind = RefLength
		}
		r := &StringRef{node: p.mk(t.Pos), Kind: kind, ID: t.Text}
		if p.tok.Tok == LBrack {
			p.next()
			r.Index = p.parseExpr()
			p.expect(RBrack)
		}
		return r
	case Identifier:
		p.next()
		return &Ident{node: p.mk(t.Pos), Name: t.Text}
	case KwAny, KwAll, KwNone:
		p.next()
		q := Quantifier{Pos: t.Pos, Kind: map[Token]QuantKind{KwAny: QuantAny, KwAll: QuantAll, KwNone: QuantNone}[t.Tok]}
		if p.tok.Tok != KwOf {
			p.unexpected()
		}
		return p.parseOf(q)
	case KwFor:
		return p.parseFor()
	case EOF:
		p.fail(t.Pos, "syntax error, unexpected end of file")
	}
	p.unexpected()
	return nil
}

// parseAtOperand parses the operand of `at`, an arithmetic expression in
// yara's grammar: `$a at 100 + 1` reads as `$a at (100 + 1)`.
func (p *parser) parseAtOperand() Expr {
	p.enter()
	defer p.leave()
	return p.parseBitOr()
}

func (p *parser) parseRange() *Range {
	r := &Range{Pos: p.tok.Pos}
	p.expect(LParen)
	p.enter()
	r.Lo = p.parseBitOr()
	p.expect(DotDot)
	r.Hi = p.parseBitOr()
	p.leave()
	p.expect(RParen)
	return r
}

// parseOf parses `of set [at e | in (r)]` after a quantifier.
func (p *parser) parseOf(q Quantifier) Expr {
	pos := p.expect(KwOf).Pos
	o := &Of{node: p.mk(pos), Quant: q, Set: p.parseSet()}
	o.P = q.Pos
	switch p.tok.Tok {
	case KwAt:
		p.next()
		o.At = p.parseAtOperand()
	case KwIn:
		p.next()
		o.In = p.parseRange()
	}
	return o
}

func (p *parser) parseSet() *Set {
	s := &Set{Pos: p.tok.Pos}
	if p.tok.Tok == KwThem {
		p.next()
		s.Them = true
		return s
	}
	p.expect(LParen)
	for {
		t := p.tok
		switch t.Tok {
		case StringID, StringIDWild:
			if s.Rules {
				p.unexpected()
			}
			s.Items = append(s.Items, SetItem{Pos: t.Pos, Name: t.Text, Wildcard: t.Tok == StringIDWild})
			p.next()
		case Identifier:
			if len(s.Items) > 0 && !s.Rules {
				p.unexpected()
			}
			s.Rules = true
			p.next()
			item := SetItem{Pos: t.Pos, Name: t.Text}
			if p.tok.Tok == Star {
				item.Wildcard = true
				p.next()
			}
			s.Items = append(s.Items, item)
		default:
			p.unexpected()
		}
		if len(s.Items) > maxStrings {
			p.fail(t.Pos, "set too large")
		}
		if p.tok.Tok == RParen {
			p.next()
			return s
		}
		p.expect(Comma)
	}
}

func (p *parser) parseFor() Expr {
	p.enter()
	defer p.leave()
	pos := p.expect(KwFor).Pos
	var q Quantifier
	q.Pos = p.tok.Pos
	switch p.tok.Tok {
	case KwAny:
		q.Kind = QuantAny
		p.next()
	case KwAll:
		q.Kind = QuantAll
		p.next()
	case KwNone:
		q.Kind = QuantNone
		p.next()
	default:
		p.forQuant = true
		q.Kind, q.N = QuantN, p.parseBitOr()
		p.forQuant = false
		if p.tok.Tok == Percent {
			q.Kind = QuantPercent
			p.next()
		}
	}
	if p.tok.Tok == KwOf {
		p.next()
		f := &ForOf{node: p.mk(pos), Quant: q, Set: p.parseSet()}
		f.Body = p.parseLoopBody()
		return f
	}
	f := &ForIn{node: p.mk(pos), Quant: q}
	f.Vars = append(f.Vars, p.expect(Identifier).Text)
	for p.tok.Tok == Comma {
		p.next()
		f.Vars = append(f.Vars, p.expect(Identifier).Text)
	}
	p.expect(KwIn)
	if p.tok.Tok == LParen {
		lpos := p.tok.Pos
		p.next()
		first := p.parseExpr()
		if p.tok.Tok == DotDot {
			p.next()
			f.Iter = IterRange
			f.Range = &Range{Pos: lpos, Lo: first, Hi: p.parseExpr()}
			p.expect(RParen)
		} else {
			f.Iter = IterList
			f.List = append(f.List, first)
			for p.tok.Tok == Comma {
				p.next()
				f.List = append(f.List, p.parseExpr())
			}
			p.expect(RParen)
		}
	} else {
		f.Iter = IterExpr
		f.X = p.parsePostfix()
	}
	f.Body = p.parseLoopBody()
	return f
}

func (p *parser) parseLoopBody() Expr {
	p.expect(Colon)
	p.expect(LParen)
	body := p.parseExpr()
	p.expect(RParen)
	return body
}
