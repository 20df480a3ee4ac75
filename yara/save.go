package yara

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The compiled form written by Save (glassav yarac) is a header and a
// gob-encoded body:
//
//	magic    "GLASSAV-YARA\n" (13 bytes)
//	version  uint32 big endian
//	length   uint64 big endian, of the body
//	sha256   of the body (32 bytes)
//	body     gob of savedRules
//
// The body holds the checked rules printed back as canonical YARA source
// (fully parenthesised conditions, escaped strings: positions are not kept)
// and the external variables; Load parses and compiles it again. Loading
// thus checks everything again and never trusts the file beyond what the
// parser and checker accept, and the format does not change with the
// evaluator's internals. Matching glassav's compile speed, loading takes as
// long as compiling the source did minus include resolution.

const (
	savedMagic   = "GLASSAV-YARA\n"
	savedVersion = 1
	// maxSavedBody bounds what Load reads (1 GiB).
	maxSavedBody = 1 << 30
)

// ErrBadCompiledRules is wrapped by the errors Load returns for input that
// is not (or no longer) glassav's compiled form.
var ErrBadCompiledRules = errors.New("not glassav compiled YARA rules")

type savedRules struct {
	Files     []savedFile
	Externals []savedExternal
	Modules   []string // names of the modules the rules were compiled with
	MaxStr    int
}

type savedFile struct {
	Name, Namespace, Source string
}

type savedExternal struct {
	Name  string
	Kind  string // "bool", "int", "float", "string"
	Int   int64
	Float float64
	Str   string
}

// Save writes the compiled rules in glassav's compiled form (yarac); Load
// reads it back.
func (r *Rules) Save(w io.Writer) error {
	var body bytes.Buffer
	sr := savedRules{MaxStr: r.cfg.MaxStringsPerRule}
	for _, f := range r.files {
		sr.Files = append(sr.Files, savedFile{Name: f.Name, Namespace: f.Namespace, Source: formatFile(f)})
	}
	for name := range r.modules {
		sr.Modules = append(sr.Modules, name)
	}
	for _, k := range r.extNames {
		e := savedExternal{Name: k}
		switch v := r.cfg.Externals[k].(type) {
		case bool:
			e.Kind = "bool"
			if v {
				e.Int = 1
			}
		case int:
			e.Kind, e.Int = "int", int64(v)
		case int64:
			e.Kind, e.Int = "int", v
		case float64:
			e.Kind, e.Float = "float", v
		case string:
			e.Kind, e.Str = "string", v
		default:
			return fmt.Errorf("yara: saving rules: external %s of type %T", k, v)
		}
		sr.Externals = append(sr.Externals, e)
	}
	if err := gob.NewEncoder(&body).Encode(&sr); err != nil {
		return fmt.Errorf("yara: saving rules: %w", err)
	}
	var hdr [13 + 4 + 8 + 32]byte
	copy(hdr[:], savedMagic)
	binary.BigEndian.PutUint32(hdr[13:], savedVersion)
	binary.BigEndian.PutUint64(hdr[17:], uint64(body.Len()))
	sum := sha256.Sum256(body.Bytes())
	copy(hdr[25:], sum[:])
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("yara: saving rules: %w", err)
	}
	if _, err := w.Write(body.Bytes()); err != nil {
		return fmt.Errorf("yara: saving rules: %w", err)
	}
	return nil
}

// Load reads rules written by Save, compiling them with the built-in
// modules.
func Load(rd io.Reader) (*Rules, error) {
	return LoadModules(rd, nil)
}

// LoadModules is Load with the modules the rules may import (nil means
// Builtin()).
func LoadModules(rd io.Reader, mods []Module) (*Rules, error) {
	br := bufio.NewReader(rd)
	var hdr [13 + 4 + 8 + 32]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("yara: loading rules: %w: short header (%v)", ErrBadCompiledRules, err)
	}
	if string(hdr[:13]) != savedMagic {
		return nil, fmt.Errorf("yara: loading rules: %w: bad magic", ErrBadCompiledRules)
	}
	if v := binary.BigEndian.Uint32(hdr[13:]); v != savedVersion {
		return nil, fmt.Errorf("yara: loading rules: %w: version %d, want %d", ErrBadCompiledRules, v, savedVersion)
	}
	n := binary.BigEndian.Uint64(hdr[17:])
	if n > maxSavedBody {
		return nil, fmt.Errorf("yara: loading rules: %w: body of %d bytes", ErrBadCompiledRules, n)
	}
	var body bytes.Buffer
	if _, err := io.CopyN(&body, br, int64(n)); err != nil {
		return nil, fmt.Errorf("yara: loading rules: %w: truncated body (%v)", ErrBadCompiledRules, err)
	}
	if sum := sha256.Sum256(body.Bytes()); !bytes.Equal(sum[:], hdr[25:]) {
		return nil, fmt.Errorf("yara: loading rules: %w: checksum mismatch", ErrBadCompiledRules)
	}
	var sr savedRules
	if err := gob.NewDecoder(&body).Decode(&sr); err != nil {
		return nil, fmt.Errorf("yara: loading rules: %w: %v", ErrBadCompiledRules, err)
	}
	cfg := &CompileConfig{Externals: make(map[string]any), Modules: mods, MaxStringsPerRule: sr.MaxStr}
	for _, e := range sr.Externals {
		switch e.Kind {
		case "bool":
			cfg.Externals[e.Name] = e.Int != 0
		case "int":
			cfg.Externals[e.Name] = e.Int
		case "float":
			cfg.Externals[e.Name] = e.Float
		case "string":
			cfg.Externals[e.Name] = e.Str
		default:
			return nil, fmt.Errorf("yara: loading rules: %w: external %s of kind %q", ErrBadCompiledRules, e.Name, e.Kind)
		}
	}
	files := make([]*File, 0, len(sr.Files))
	for _, sf := range sr.Files {
		f, err := Parse(sf.Name, []byte(sf.Source), &Config{Namespace: sf.Namespace})
		if err != nil {
			return nil, fmt.Errorf("yara: loading rules: %w", err)
		}
		f.Name = sf.Name
		files = append(files, f)
	}
	r, _, err := Compile(cfg, files...)
	if err != nil {
		return nil, fmt.Errorf("yara: loading rules: %w", err)
	}
	return r, nil
}

// formatFile prints f's imports and rules as YARA source that parses and
// checks back to the same rules.
func formatFile(f *File) string {
	var b strings.Builder
	seen := make(map[string]bool)
	for _, imp := range f.Imports {
		if !seen[imp.Module] {
			seen[imp.Module] = true
			fmt.Fprintf(&b, "import %s\n", quote([]byte(imp.Module)))
		}
	}
	for _, r := range f.Rules {
		formatRule(&b, r)
	}
	return b.String()
}

func formatRule(b *strings.Builder, r *Rule) {
	if r.Private {
		b.WriteString("private ")
	}
	if r.Global {
		b.WriteString("global ")
	}
	b.WriteString("rule " + r.Name)
	if len(r.Tags) > 0 {
		b.WriteString(" : " + strings.Join(r.Tags, " "))
	}
	b.WriteString(" {\n")
	if len(r.Meta) > 0 {
		b.WriteString("meta:\n")
		for _, m := range r.Meta {
			b.WriteString("  " + m.Key + " = ")
			switch v := m.Value.(type) {
			case string:
				b.WriteString(quote([]byte(v)))
			case int64:
				b.WriteString(strconv.FormatInt(v, 10))
			case bool:
				b.WriteString(strconv.FormatBool(v))
			}
			b.WriteByte('\n')
		}
	}
	if len(r.Strings) > 0 {
		b.WriteString("strings:\n")
		for _, s := range r.Strings {
			b.WriteString("  " + s.ID + " = ")
			formatPattern(b, s)
			b.WriteByte('\n')
		}
	}
	b.WriteString("condition:\n  ")
	formatExpr(b, r.Condition)
	b.WriteString("\n}\n")
}

// quote renders bytes as a YARA text string, escaping all but printable
// ASCII.
func quote(s []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func formatInt(v int64) string {
	if v == math.MinInt64 {
		return "(-9223372036854775807 - 1)"
	}
	if v < 0 {
		return "(-" + strconv.FormatInt(-v, 10) + ")"
	}
	return strconv.FormatInt(v, 10)
}

// regexpSource renders a regexp between slashes, escaping the slashes
// the parser unescaped.
func formatRegexp(re RegexpSource) string {
	var b strings.Builder
	b.WriteByte('/')
	src := re.Source
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\\' && i+1 < len(src):
			b.WriteByte(c)
			i++
			b.WriteByte(src[i])
		case c == '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('/')
	if re.NoCase {
		b.WriteByte('i')
	}
	if re.DotAll {
		b.WriteByte('s')
	}
	return b.String()
}

func formatPattern(b *strings.Builder, s *String) {
	switch s.Kind {
	case TextPattern:
		b.WriteString(quote(s.Text))
	case HexPattern:
		b.WriteString("{ ")
		formatHex(b, s.Hex)
		b.WriteString("}")
	case RegexpPattern:
		b.WriteString(formatRegexp(s.Re))
	}
	m := &s.Mods
	for _, x := range []struct {
		on   bool
		name string
	}{{m.ASCII, "ascii"}, {m.Wide, "wide"}, {m.NoCase, "nocase"}, {m.Fullword, "fullword"}, {m.Private, "private"}} {
		if x.on {
			b.WriteString(" " + x.name)
		}
	}
	if m.XOR {
		fmt.Fprintf(b, " xor(%d-%d)", m.XORMin, m.XORMax)
	}
	alpha := ""
	if m.Alphabet != "" {
		alpha = "(" + quote([]byte(m.Alphabet)) + ")"
	}
	if m.Base64 {
		b.WriteString(" base64" + alpha)
	}
	if m.Base64Wide {
		b.WriteString(" base64wide" + alpha)
	}
}

func formatHex(b *strings.Builder, toks []HexToken) {
	const digits = "0123456789ABCDEF"
	for _, t := range toks {
		switch t.Kind {
		case HexByte:
			if t.Not {
				b.WriteByte('~')
			}
			hi, lo := byte('?'), byte('?')
			if t.Mask&0xF0 != 0 {
				hi = digits[t.Value>>4]
			}
			if t.Mask&0x0F != 0 {
				lo = digits[t.Value&0xF]
			}
			b.WriteByte(hi)
			b.WriteByte(lo)
		case HexJump:
			switch {
			case t.Max < 0 && t.Min == 0:
				b.WriteString("[-]")
			case t.Max < 0:
				fmt.Fprintf(b, "[%d-]", t.Min)
			case t.Min == t.Max:
				fmt.Fprintf(b, "[%d]", t.Min)
			default:
				fmt.Fprintf(b, "[%d-%d]", t.Min, t.Max)
			}
		case HexAlt:
			b.WriteString("( ")
			for i, alt := range t.Alts {
				if i > 0 {
					b.WriteString("| ")
				}
				formatHex(b, alt)
			}
			b.WriteString(")")
		}
		b.WriteByte(' ')
	}
}

func tokenText(t Token) string { return strings.Trim(t.String(), "'") }

func formatRange(b *strings.Builder, r *Range) {
	b.WriteString("(")
	formatExpr(b, r.Lo)
	b.WriteString(" .. ")
	formatExpr(b, r.Hi)
	b.WriteString(")")
}

func formatQuant(b *strings.Builder, q *Quantifier) {
	switch q.Kind {
	case QuantAll:
		b.WriteString("all")
	case QuantAny:
		b.WriteString("any")
	case QuantNone:
		b.WriteString("none")
	case QuantN, QuantPercent:
		b.WriteString("(")
		formatExpr(b, q.N)
		b.WriteString(")")
		if q.Kind == QuantPercent {
			b.WriteString("%")
		}
	}
}

func formatSet(b *strings.Builder, s *Set) {
	if s.Them {
		b.WriteString("them")
		return
	}
	b.WriteString("(")
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.Name)
		if it.Wildcard {
			b.WriteString("*")
		}
	}
	b.WriteString(")")
}

// formatExpr prints e with every compound operand parenthesised, so that
// precedence never has to be reconstructed.
func formatExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *BoolLit:
		b.WriteString(strconv.FormatBool(e.Value))
	case *IntLit:
		b.WriteString(formatInt(e.Value))
	case *FloatLit:
		s := strconv.FormatFloat(e.Value, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		b.WriteString(s)
	case *StringLit:
		b.WriteString(quote([]byte(e.Value)))
	case *RegexpLit:
		b.WriteString(formatRegexp(e.Re))
	case *Keyword:
		if e.Kind == Filesize {
			b.WriteString("filesize")
		} else {
			b.WriteString("entrypoint")
		}
	case *Ident:
		b.WriteString(e.Name)
	case *Field:
		formatExpr(b, e.X)
		b.WriteString("." + e.Name)
	case *Index:
		formatExpr(b, e.X)
		b.WriteString("[")
		formatExpr(b, e.Index)
		b.WriteString("]")
	case *Call:
		formatExpr(b, e.Fn)
		b.WriteString("(")
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, a)
		}
		b.WriteString(")")
	case *StringRef:
		name := strings.TrimPrefix(e.ID, "$")
		switch e.Kind {
		case RefMatch:
			b.WriteString("$" + name)
			if e.At != nil {
				b.WriteString(" at (")
				formatExpr(b, e.At)
				b.WriteString(")")
			}
			if e.In != nil {
				b.WriteString(" in ")
				formatRange(b, e.In)
			}
		case RefCount:
			b.WriteString("#" + name)
			if e.In != nil {
				b.WriteString(" in ")
				formatRange(b, e.In)
			}
		case RefOffset, RefLength:
			if e.Kind == RefOffset {
				b.WriteString("@" + name)
			} else {
				b.WriteString("!" + name)
			}
			if e.Index != nil {
				b.WriteString("[")
				formatExpr(b, e.Index)
				b.WriteString("]")
			}
		}
	case *Read:
		b.WriteString(tokenText(e.Fn) + "(")
		formatExpr(b, e.Offset)
		b.WriteString(")")
	case *Unary:
		b.WriteString(tokenText(e.Op))
		if e.Op == KwNot || e.Op == KwDefined {
			b.WriteString(" ")
		}
		b.WriteString("(")
		formatExpr(b, e.X)
		b.WriteString(")")
	case *Binary:
		b.WriteString("(")
		formatExpr(b, e.X)
		if e.Op == KwMatches {
			// The right operand is a regexp literal, never parenthesised.
			b.WriteString(") matches ")
			formatExpr(b, e.Y)
			return
		}
		b.WriteString(") " + tokenText(e.Op) + " (")
		formatExpr(b, e.Y)
		b.WriteString(")")
	case *Of:
		formatQuant(b, &e.Quant)
		b.WriteString(" of ")
		formatSet(b, e.Set)
		if e.At != nil {
			b.WriteString(" at (")
			formatExpr(b, e.At)
			b.WriteString(")")
		}
		if e.In != nil {
			b.WriteString(" in ")
			formatRange(b, e.In)
		}
	case *ForOf:
		b.WriteString("for ")
		formatQuant(b, &e.Quant)
		b.WriteString(" of ")
		formatSet(b, e.Set)
		b.WriteString(" : (")
		formatExpr(b, e.Body)
		b.WriteString(")")
	case *ForIn:
		b.WriteString("for ")
		formatQuant(b, &e.Quant)
		b.WriteString(" " + strings.Join(e.Vars, ", ") + " in ")
		switch e.Iter {
		case IterRange:
			formatRange(b, e.Range)
		case IterList:
			b.WriteString("(")
			for i, x := range e.List {
				if i > 0 {
					b.WriteString(", ")
				}
				formatExpr(b, x)
			}
			b.WriteString(")")
		case IterExpr:
			formatExpr(b, e.X)
		}
		b.WriteString(" : (")
		formatExpr(b, e.Body)
		b.WriteString(")")
	}
}
