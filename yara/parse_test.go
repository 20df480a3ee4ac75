package yara

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// sexpr renders an expression as an S-expression, to test precedence.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *BoolLit:
		return fmt.Sprint(e.Value)
	case *IntLit:
		return fmt.Sprint(e.Value)
	case *FloatLit:
		return fmt.Sprint(e.Value)
	case *StringLit:
		return fmt.Sprintf("%q", e.Value)
	case *RegexpLit:
		return "/" + e.Re.Source + "/"
	case *Keyword:
		return [...]string{"filesize", "entrypoint"}[e.Kind]
	case *Ident:
		return e.Name
	case *Field:
		return sexpr(e.X) + "." + e.Name
	case *Index:
		return sexpr(e.X) + "[" + sexpr(e.Index) + "]"
	case *Call:
		var args []string
		for _, a := range e.Args {
			args = append(args, sexpr(a))
		}
		return sexpr(e.Fn) + "(" + strings.Join(args, ",") + ")"
	case *StringRef:
		s := [...]string{"$", "#", "@", "!"}[e.Kind] + e.ID[1:]
		if e.Index != nil {
			s += "[" + sexpr(e.Index) + "]"
		}
		if e.At != nil {
			s = "(at " + s + " " + sexpr(e.At) + ")"
		}
		if e.In != nil {
			s = "(in " + s + " " + sexpr(e.In.Lo) + ".." + sexpr(e.In.Hi) + ")"
		}
		return s
	case *Unary:
		op := map[Token]string{KwNot: "not", KwDefined: "defined", Minus: "-", Tilde: "~"}[e.Op]
		return "(" + op + " " + sexpr(e.X) + ")"
	case *Binary:
		op := e.Op.String()
		op = strings.Trim(op, "'")
		return "(" + op + " " + sexpr(e.X) + " " + sexpr(e.Y) + ")"
	case *Read:
		return strings.Trim(e.Fn.String(), "'") + "(" + sexpr(e.Offset) + ")"
	case *Of:
		s := "(of " + quant(e.Quant) + " " + set(e.Set)
		if e.At != nil {
			s += " at " + sexpr(e.At)
		}
		if e.In != nil {
			s += " in " + sexpr(e.In.Lo) + ".." + sexpr(e.In.Hi)
		}
		return s + ")"
	case *ForOf:
		return "(for " + quant(e.Quant) + " of " + set(e.Set) + " " + sexpr(e.Body) + ")"
	case *ForIn:
		s := "(for " + quant(e.Quant) + " " + strings.Join(e.Vars, ",") + " in "
		switch e.Iter {
		case IterRange:
			s += sexpr(e.Range.Lo) + ".." + sexpr(e.Range.Hi)
		case IterList:
			var l []string
			for _, x := range e.List {
				l = append(l, sexpr(x))
			}
			s += "[" + strings.Join(l, ",") + "]"
		case IterExpr:
			s += sexpr(e.X)
		}
		return s + " " + sexpr(e.Body) + ")"
	}
	return fmt.Sprintf("%T", e)
}

func quant(q Quantifier) string {
	switch q.Kind {
	case QuantAll:
		return "all"
	case QuantAny:
		return "any"
	case QuantNone:
		return "none"
	case QuantPercent:
		return sexpr(q.N) + "%"
	}
	return sexpr(q.N)
}

func set(s *Set) string {
	if s.Them {
		return "them"
	}
	var items []string
	for _, it := range s.Items {
		n := it.Name
		if it.Wildcard {
			n += "*"
		}
		items = append(items, n)
	}
	return "(" + strings.Join(items, ",") + ")"
}

func parseCond(t *testing.T, cond string) Expr {
	t.Helper()
	f, err := Parse("t.yar", []byte("rule t { condition: "+cond+" }"), nil)
	if err != nil {
		t.Fatalf("%s: %v", cond, err)
	}
	return f.Rules[0].Condition
}

func TestParsePrecedence(t *testing.T) {
	tests := []struct{ cond, want string }{
		{"a or b and c", "(or a (and b c))"},
		{"not a and b", "(and (not a) b)"},
		{"not 1 == 2", "(not (== 1 2))"},
		{"defined a or b", "(or (defined a) b)"},
		{"1 + 2 * 3 == 7", "(== (+ 1 (* 2 3)) 7)"},
		{"1 | 2 ^ 3 & 4 << 5 + 6", "(| 1 (^ 2 (& 3 (<< 4 (+ 5 6)))))"},
		{"1 < 2 == 3 < 4", "(== (< 1 2) (< 3 4))"},
		{"-1 - -2", "(- (- 1) (- 2))"},
		{"~1 \\ 2 % 3", "(% (\\ (~ 1) 2) 3)"},
		{"a - b - c", "(- (- a b) c)"},
		{`a contains "x" and b matches /y/i`, `(and (contains a "x") (matches b /y/))`},
		{`a iequals "x" or a istartswith "y" or a iendswith "z"`, `(or (or (iequals a "x") (istartswith a "y")) (iendswith a "z"))`},
		{"uint16(0) == 0x5A4D", "(== uint16(0) 23117)"},
		{"uint32be(uint32(0x3c)) == 1", "(== uint32be(uint32(60)) 1)"},
		{"filesize < 2MB", "(< filesize 2097152)"},
		{"$a at 0 and $b in (0..filesize-1)", "(and (at $a 0) (in $b 0..(- filesize 1)))"},
		{"#a in (0..10) == 2", "(== (in #a 0..10) 2)"},
		{"@a[2] + !a == !a[1]", "(== (+ @a[2] !a) !a[1])"},
		{"2 of them", "(of 2 them)"},
		{"50% of ($a*, $b)", "(of 50% ($a*,$b))"},
		{"any of ($*) in (0..100)", "(of any ($*) in 0..100)"},
		{"all of them at 0", "(of all them at 0)"},
		{"none of (r1, r*)", "(of none (r1,r*))"},
		{"1 + 1 of them", "(of (+ 1 1) them)"},
		{"for any of ($a, $b) : ($ at 0)", "(for any of ($a,$b) (at $ 0))"},
		{"for all of them : (# > 1 and @ < 10 and ! == 3)", "(for all of them (and (and (> # 1) (< @ 10)) (== ! 3)))"},
		{"for 2 i in (1..3) : (i > 0)", "(for 2 i in 1..3 (> i 0))"},
		{"for 50% i in (1, 2, 3) : (i)", "(for 50% i in [1,2,3] i)"},
		{`for any s in ("a", "b") : (s == "a")`, `(for any s in ["a","b"] (== s "a"))`},
		{"for any k, v in m.dict : (k == v)", "(for any k,v in m.dict (== k v))"},
		{"for any section in pe.sections : (section.name == \".text\")", `(for any section in pe.sections (== section.name ".text"))`},
		{`pe.exports("x") and pe.sections[0].size > 0 and m.d["k"]`, `(and (and pe.exports("x") (> pe.sections[0].size 0)) m.d["k"])`},
		{"math.entropy(0, filesize) >= 7.5", "(>= math.entropy(0,filesize) 7.5)"},
		{"entrypoint == 0", "(== entrypoint 0)"},
	}
	for _, tt := range tests {
		if got := sexpr(parseCond(t, tt.cond)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.cond, got, tt.want)
		}
	}
}

func TestParseRule(t *testing.T) {
	src := `
import "pe"
private global rule r1 : tag1 tag2 {
  meta:
    s = "str"
    i = 42
    n = -5
    b = true
  strings:
    $a = "text" ascii wide nocase fullword private
    $b = { 4D 5A }
    $c = /re+/is
    $d = "x" xor(1-3)
    $e = "y" base64("!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` + "`" + `")
    $ = "anon" xor
  condition:
    all of them
}`
	f, err := Parse("t.yar", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Imports) != 1 || f.Imports[0].Module != "pe" {
		t.Errorf("imports: %+v", f.Imports)
	}
	r := f.Rules[0]
	if r.Name != "r1" || !r.Private || !r.Global || strings.Join(r.Tags, ",") != "tag1,tag2" || r.Namespace != "default" {
		t.Errorf("rule header: %+v", r)
	}
	if r.Pos.Line != 3 || r.Pos.Col != 16 {
		t.Errorf("rule position %v", r.Pos)
	}
	wantMeta := []any{"str", int64(42), int64(-5), true}
	for i, m := range r.Meta {
		if m.Value != wantMeta[i] {
			t.Errorf("meta %s = %#v, want %#v", m.Key, m.Value, wantMeta[i])
		}
	}
	s := r.Strings
	if m := s[0].Mods; !(m.ASCII && m.Wide && m.NoCase && m.Fullword && m.Private) || string(s[0].Text) != "text" {
		t.Errorf("$a: %+v", s[0])
	}
	if s[1].Kind != HexPattern || len(s[1].Hex) != 2 {
		t.Errorf("$b: %+v", s[1])
	}
	if s[2].Kind != RegexpPattern || s[2].Re != (RegexpSource{Source: "re+", NoCase: true, DotAll: true}) {
		t.Errorf("$c: %+v", s[2])
	}
	if m := s[3].Mods; !m.XOR || m.XORMin != 1 || m.XORMax != 3 {
		t.Errorf("$d: %+v", m)
	}
	if m := s[4].Mods; !m.Base64 || len(m.Alphabet) != 64 {
		t.Errorf("$e: %+v", m)
	}
	if m := s[5].Mods; s[5].ID != "$" || !m.XOR || m.XORMin != 0 || m.XORMax != 255 {
		t.Errorf("$: %+v", s[5])
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"rule", "1:5: syntax error, unexpected end of file"},
		{"rule a { }", "1:10: syntax error, unexpected '}'"},
		{"rule a { condition: }", "1:21: syntax error, unexpected '}'"},
		{"rule a { condition: true", "end of file"},
		{"rule a : { condition: true }", "syntax error"},
		{"rule a { strings: $a = /abc/ xor condition: $a }", "1:30: syntax error, unexpected 'xor'"},
		{"rule a { strings: $a = { 01 } nocase condition: $a }", "syntax error"},
		{"rule a { strings: $a = \"x\" xor xor condition: $a }", "duplicated modifier"},
		{"rule a { strings: $a = \"x\" base64 base64wide(\"" + strings.Repeat("a", 64) + "\") condition: $a }", "can not specify multiple alphabets"},
		{"rule a { condition: (1 == 1) == 1 == 1 == }", "syntax error"},
		{"rule a { condition: 1 of }", "syntax error"},
		{"rule a { condition: 1 of ($a, r) }", "syntax error"},
		{"rule a { condition: for any i in (1..2) : true }", "syntax error"},
		{"rule a { condition: $a* }", "syntax error"},
		{"rule a { meta: x = y condition: true }", "syntax error"},
		{"include \"x.yar\"", "includes are disabled"},
		{"rule a { condition: " + strings.Repeat("(", 1000) + "true" + strings.Repeat(")", 1000) + " }", "nested too deeply"},
		{"rule a { condition: " + strings.Repeat("not ", 1000) + "true }", "nested too deeply"},
		{"rule a { condition: " + strings.Repeat("-", 1000) + "1 }", "nested too deeply"},
		{"rule a { condition: true" + strings.Repeat(" and true", maxExprNodes) + " }", "condition too large"},
	}
	for _, tt := range tests {
		_, err := Parse("t.yar", []byte(tt.src), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			name := tt.src
			if len(name) > 60 {
				name = name[:60] + "..."
			}
			t.Errorf("%s: got error %v, want %q", name, err, tt.want)
		}
	}
}

// mapFS serves included files from memory.
type mapFS map[string]string

func (m mapFS) read(path string) ([]byte, error) {
	if s, ok := m[path]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func TestInclude(t *testing.T) {
	files := mapFS{
		"/r/main.yar":       `include "sub/a.yar" rule main { condition: a and b }`,
		"/r/sub/a.yar":      `import "pe" include "b.yar" rule a { condition: true }`,
		"/r/sub/b.yar":      `rule b { condition: true }`,
		"/r/loop.yar":       `include "loop2.yar"`,
		"/r/loop2.yar":      `include "loop.yar"`,
		"/r/self.yar":       `include "self.yar"`,
		"/r/bad.yar":        `include "sub/broken.yar"`,
		"/r/sub/broken.yar": "rule x {",
	}
	cfg := &Config{ReadFile: files.read}
	f, err := Parse("/r/main.yar", []byte(files["/r/main.yar"]), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range f.Rules {
		names = append(names, r.Name+"@"+r.Pos.File)
	}
	if got := strings.Join(names, " "); got != "b@/r/sub/b.yar a@/r/sub/a.yar main@/r/main.yar" {
		t.Errorf("rules: %s", got)
	}
	if len(f.Imports) != 1 || strings.Join(f.Rules[2].Imports, ",") != "pe" {
		t.Errorf("imports not carried over: %+v", f.Rules[2].Imports)
	}
	if _, err := Check(nil, f); err != nil {
		t.Errorf("check: %v", err)
	}
	for name, want := range map[string]string{
		"/r/loop.yar": "circular include",
		"/r/self.yar": "circular include",
		"/r/bad.yar":  "/r/sub/broken.yar:1:9: syntax error",
	} {
		_, err := Parse(name, []byte(files[name]), cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", name, err, want)
		}
	}
	_, err = Parse("/r/x.yar", []byte(`include "missing.yar"`), cfg)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "x.yar:1:1: can't open include file") {
		t.Errorf("missing include: %v", err)
	}
	// Depth limit: a chain of distinct files deeper than 16.
	deep := mapFS{}
	for i := 0; i < 30; i++ {
		deep[fmt.Sprintf("/d/%d.yar", i)] = fmt.Sprintf("include \"%d.yar\"", i+1)
	}
	_, err = Parse("/d/0.yar", []byte(deep["/d/0.yar"]), &Config{ReadFile: deep.read})
	if err == nil || !strings.Contains(err.Error(), "too many levels") {
		t.Errorf("deep include: %v", err)
	}
}

// benchRules is a synthetic rule set shaped like public ones.
func benchRules(n int) []byte {
	var b strings.Builder
	b.WriteString("import \"pe\"\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `rule r%d : tag {
  meta:
    author = "x"
    date = "2024-01-01"
  strings:
    $s1 = "This program cannot be run" ascii wide nocase
    $s2 = { 4D 5A 90 00 03 ?? ?? 00 [4-16] ( 50 45 | 4E 45 ) }
    $s3 = /https?:\/\/[a-z0-9.]{4,32}\/gate\.php/ nocase
  condition:
    uint16(0) == 0x5A4D and filesize < 2MB and (2 of ($s*) or pe.imphash() == "abc")
}
`, i)
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	src := benchRules(500)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		f, err := Parse("bench.yar", src, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Check(nil, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLex(b *testing.B) {
	src := benchRules(500)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		l := NewLexer("bench.yar", src)
		prev := EOF
		for {
			it, err := l.Next()
			if err != nil {
				b.Fatal(err)
			}
			if it.Tok == EOF {
				break
			}
			if it.Tok == LBrace && prev == Assign {
				if _, err := l.HexString("$"); err != nil {
					b.Fatal(err)
				}
			}
			prev = it.Tok
		}
	}
}
