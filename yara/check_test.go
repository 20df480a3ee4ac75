package yara

import (
	"strings"
	"testing"
)

var testExternals = map[string]any{
	"ext_int": int64(1), "ext_str": "s", "ext_bool": true, "ext_float": 1.5,
}

func checkSrc(src string) ([]*Error, error) {
	f, err := Parse("t.yar", []byte(src), nil)
	if err != nil {
		return nil, err
	}
	return Check(&CheckConfig{Externals: testExternals}, f)
}

func TestCheckAccepts(t *testing.T) {
	for _, src := range []string{
		`rule a { condition: true }`,
		`rule a { condition: a }`,
		`rule a { condition: 1 of (a*) }`,
		`rule a { condition: true } rule b { condition: a and 1 of (a, b) }`,
		`rule a { strings: $a = "x" $b = "y" condition: $a and #b > 1 }`,
		`rule a { strings: $a = "x" $ = "y" condition: any of them }`,
		`rule a { strings: $a1 = "x" $a2 = "y" condition: all of ($a*) }`,
		`rule a { strings: $_unused = "x" condition: true }`,
		`rule a { strings: $a = "x" condition: for any of ($a) : ($ at 0 and # == 1 and @ == 0 and ! == 1) }`,
		`rule a { strings: $a = "x" condition: $a at 0 + 1 and $a in (0..filesize) and @a[1] == !a[1] }`,
		`rule a { condition: 9223372036854775807 > 0 and -9223372036854775807 - 1 < 0 }`,
		`rule a { condition: 2 * 4611686018427387903 > 0 and 1 << 64 == 0 }`,
		`rule a { condition: 1.5 + 1 > 2 and 7 \ 2 == 3 and 7 % 2 == 1 }`,
		`rule a { condition: ext_int == 1 and ext_str contains "s" and ext_bool and ext_float > 1.0 }`,
		`rule a { condition: ext_str matches /a+/ and ext_str iequals "S" }`,
		`import "pe" rule a { condition: pe.number_of_sections > 1 and pe.exports("x") and pe.sections[0].name == ".text" }`,
		`import "pe" rule a { condition: for any s in pe.sections : (s.name == ".text") }`,
		`import "tests" rule a { condition: for any k, v in tests.string_dict : (k == v) }`,
		`rule a { condition: for all i in (1..3) : (for any j in (i..4) : (j > i)) }`,
		`rule a { condition: for any s in ("a", "b") : (s == "a") }`,
		`rule a { condition: defined (1 \ 1) and not false }`,
		`rule a { strings: $a = "x" xor(1-2) wide $b = "y" base64 base64wide $c = "z" nocase wide ascii fullword condition: $a and $b and $c }`,
		`rule a { strings: $a = { 01 ~02 ?3 } $b = /a.{1,3}b/ condition: 2 of them at 0 }`,
		`rule a : t1 t2 { meta: x = 1 x = 2 condition: true }`,
		`rule a { condition: 50% of (a) }`,
		`rule a { condition: uint16(0) == 0x5A4D and int32be(4) < 0 }`,
	} {
		if _, err := checkSrc(src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct{ src, want string }{
		{`rule a { condition: b }`, `1:21: undefined identifier "b"`},
		{`rule a { condition: b } rule b { condition: true }`, `undefined identifier "b"`},
		{`rule a { condition: true } rule a { condition: true }`, `1:28: duplicated identifier "a"`},
		{`rule ext_int { condition: true }`, `duplicated identifier`},
		{`rule a : x x { condition: true }`, `1:12: duplicated tag identifier "x"`},
		{`rule a { strings: $a = "x" condition: true }`, `1:19: unreferenced string "$a"`},
		{`rule a { strings: $ = "x" condition: true }`, `unreferenced string "$"`},
		{`rule a { strings: $a = "x" $a = "y" condition: $a }`, `1:28: duplicated string identifier "$a"`},
		{`rule a { strings: $a = "" condition: $a }`, `empty string`},
		{`rule a { condition: $a }`, `undefined string "$a"`},
		{`rule a { condition: all of them }`, `undefined string`},
		{`rule a { strings: $a = "x" condition: all of ($b*) }`, `undefined string "$b*"`},
		{`rule a { strings: $a = "x" condition: $ }`, `wrong use of anonymous string`},
		{`rule a { condition: all of (b*) }`, `undefined identifier "b"`},
		{`rule a0 { condition: true } rule b { condition: 1 of (a*) } rule a1 { condition: true }`, `matches previously used wildcard`},
		{`rule a { condition: 0x7FFFFFFFFFFFFFFF + 1 > 0 }`, `integer overflow`},
		{`rule a { condition: -2 + -9223372036854775807 > 0 }`, `integer overflow`},
		{`rule a { condition: 4611686018427387904 * -2 }`, `integer overflow`},
		{`rule a { condition: -(-9223372036854775807 - 1) > 0 }`, `integer overflow`},
		{`rule a { condition: 1 \ 0 }`, `division by zero`},
		{`rule a { condition: 1 % 0 }`, `division by zero`},
		{`rule a { condition: 1 << -1 == 0 }`, `invalid operand`},
		{`rule a { strings: $a = "x" condition: 101% of them }`, `percentage must be between 1 and 100 (inclusive)`},
		{`rule a { strings: $a = "x" condition: 0% of them }`, `percentage`},
		{`rule a { strings: $a = "x" condition: 1 of them at "x" }`, `invalid value`},
		{`rule a { condition: for any i in ("a"): (i == 0) }`, `type mismatch`},
		{`rule a { condition: for any i in ("a", 0): (i == 0) }`, `wrong type`},
		{`rule a { condition: "a" + 1 }`, `type mismatch`},
		{`rule a { condition: 1.5 & 1 }`, `type mismatch`},
		{`rule a { condition: 1 contains "a" }`, `wrong type "integer" for contains operator`},
		{`rule a { condition: true == 1 }`, `type mismatch`},
		{`rule a { condition: uint8("a") }`, `wrong type "string" for intXXXX or uintXXXX operator`},
		{`rule a { condition: ext_int.x }`, `not a structure`},
		{`rule a { condition: ext_int(1) }`, `not a function`},
		{`rule a { condition: pe.x }`, `undefined identifier "pe"`},
		{`import "nosuch" rule a { condition: true }`, `unknown module "nosuch"`},
		{`import "" rule a { condition: true }`, `invalid module name`},
		{`rule a { strings: $a = "x" xor(300) condition: $a }`, `invalid xor range`},
		{`rule a { strings: $a = "x" xor(200-10) condition: $a }`, `xor lower bound exceeds upper bound`},
		{`rule a { strings: $a = "x" xor nocase condition: $a }`, `invalid modifier combination`},
		{`rule a { strings: $a = "x" base64 fullword condition: $a }`, `invalid modifier combination`},
		{`rule a { strings: $a = "x" base64("abc") condition: $a }`, `alphabet must be 64`},
		{`rule a { strings: $a = /(abc/ condition: $a }`, `invalid regular expression`},
		{`rule a { condition: ext_str matches /a{3,2}/ }`, `regular expression`},
		{`rule a { condition: for any i in (1..2) : (for any i in (1..2) : (true)) }`, `duplicated loop identifier`},
		{`rule a { condition: for any i, j in (1..2) : (true) }`, `one loop variable`},
		{`rule a { strings: $a = "x" condition: for any of them : (for any of them : ($)) }`, `nested for..of`},
		{`rule a { condition: for any a in (1..2) : (for any b in (1..2) : (for any c in (1..2) : (for any d in (1..2) : (for any e in (1..2) : (true))))) }`, `loop nesting`},
	}
	for _, tt := range tests {
		_, err := checkSrc(tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestCheckWarnings(t *testing.T) {
	tests := []struct{ src, want string }{
		{`rule a { condition: "a" }`, `literal string "a" in a boolean operation`},
		{`rule a { condition: entrypoint == 0 }`, `deprecated "entrypoint"`},
		{`rule a { strings: $a = /abc.*def/ condition: $a }`, `contains .*`},
		{`rule a { strings: $a = /abc.{2,}def/ condition: $a }`, `contains .*`},
		{`rule a { strings: $a = "\xe9t\xe9" condition: $a }`, `non-ascii`},
	}
	for _, tt := range tests {
		ws, err := checkSrc(tt.src)
		if err != nil || len(ws) != 1 || !strings.Contains(ws[0].Error(), tt.want) {
			t.Errorf("%s: got %v %v, want warning %q", tt.src, ws, err, tt.want)
		}
	}
}

// TestCheckAnnotates verifies what the checker leaves for lowering:
// resolved identifiers, string references, set members and types.
func TestCheckAnnotates(t *testing.T) {
	src := `import "pe"
rule r1 { condition: true }
rule r2 {
  strings: $a = "x" $b1 = "y" $b2 = "z"
  condition: r1 and $a and ext_int == 1 and pe.is_dll() and 2 of ($b*) and #a + 1.5 > 0
}`
	f, err := Parse("t.yar", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(&CheckConfig{Externals: testExternals}, f); err != nil {
		t.Fatal(err)
	}
	var walk func(Expr)
	seen := map[string]bool{}
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Binary:
			walk(e.X)
			walk(e.Y)
			if e.Op == Plus && e.Type() != TypeFloat {
				t.Errorf("int + float typed %v", e.Type())
			}
		case *Ident:
			switch e.Name {
			case "r1":
				seen["rule"] = e.Kind == IdentRule && e.Rule == f.Rules[0]
			case "ext_int":
				seen["external"] = e.Kind == IdentExternal && e.Type() == TypeInt
			case "pe":
				seen["module"] = e.Kind == IdentModule
			}
		case *Call:
			walk(e.Fn)
		case *Field:
			walk(e.X)
		case *StringRef:
			seen[e.ID] = e.String != nil && e.String.ID == e.ID
		case *Of:
			seen["set"] = len(e.Set.Strings) == 2 && e.Set.Strings[1].ID == "$b2"
		}
	}
	walk(f.Rules[1].Condition)
	for _, k := range []string{"rule", "external", "module", "$a", "set"} {
		if !seen[k] {
			t.Errorf("%s not resolved", k)
		}
	}
	if got := f.Rules[1].Condition.Type(); got != TypeBool {
		t.Errorf("condition typed %v", got)
	}
}

func TestCheckNamespaces(t *testing.T) {
	a, err := Parse("a.yar", []byte(`rule x { condition: true }`), &Config{Namespace: "one"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yar", []byte(`rule x { condition: true }`), &Config{Namespace: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(nil, a, b); err != nil {
		t.Errorf("same name in two namespaces: %v", err)
	}
	c, _ := Parse("c.yar", []byte(`rule y { condition: x }`), &Config{Namespace: "two"})
	if _, err := Check(nil, a, b, c); err != nil {
		t.Errorf("reference within a namespace across files: %v", err)
	}
	d, _ := Parse("d.yar", []byte(`rule x { condition: true }`), &Config{Namespace: "one"})
	if _, err := Check(nil, a, d); err == nil || !strings.Contains(err.Error(), "d.yar:1:1: duplicated identifier") {
		t.Errorf("duplicate in a namespace across files: %v", err)
	}
}

func TestValidateRegexp(t *testing.T) {
	good := []string{
		`abc`, `a|b`, `(abc|)`, `a||b`, `a*?b+?`, `[a-z]`, `[^\]]`, `[]a]`, `a{2}`, `a{2,}`, `a{,3}`, `a{2,3}`,
		`abc{`, `{1:5}`, `\x41\w\s\d\b`, `[\x00-\x43]`, `^a$`, `a.b`, `\\`, `a\*`, `[\w-]`,
	}
	for _, re := range good {
		if err := ValidateRegexp(re); err != nil {
			t.Errorf("%s: %v", re, err)
		}
	}
	bad := []string{
		`)`, `[b-a]`, `(abc`, `abc)`, `a[]b`, `)(`, `(|abc)ef`, `|a`, `\x0`, `\x`, `\xxy`, `a{2977952116}`,
		`a{4294967296}`, `c{99999999999999999999}`, `*a`, `a**`, `a{3,2}`, `a{0}`, `a*b*?`, `()`, `[a`, `\`,
		strings.Repeat("(", 2000) + "a" + strings.Repeat(")", 2000),
	}
	for _, re := range bad {
		if err := ValidateRegexp(re); err == nil {
			t.Errorf("%.40s: no error", re)
		}
	}
}
