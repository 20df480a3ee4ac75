package yara

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func lexAll(src string) ([]Item, error) {
	l := NewLexer("t.yar", []byte(src))
	var out []Item
	for {
		it, err := l.Next()
		if err != nil {
			return out, err
		}
		if it.Tok == EOF {
			return out, nil
		}
		if it.Tok == LBrace && len(out) > 0 && out[len(out)-1].Tok == Assign {
			if _, err := l.HexString("$"); err != nil {
				return out, err
			}
		}
		out = append(out, it)
	}
}

func TestLexTokens(t *testing.T) {
	tests := []struct {
		src  string
		want []Token
	}{
		{"rule foo : bar { }", []Token{KwRule, Identifier, Colon, Identifier, LBrace, RBrace}},
		{"$a $ $a* $* #a @a !a # @ !", []Token{StringID, StringID, StringIDWild, StringIDWild, StringCount, StringOffset, StringLength, StringCount, StringOffset, StringLength}},
		{"!a != 1", []Token{StringLength, Ne, Int}},
		{"a<<b>>c<=d>=e<f>g==h=i", []Token{Identifier, Shl, Identifier, Shr, Identifier, Le, Identifier, Ge, Identifier, Lt, Identifier, Gt, Identifier, Eq, Identifier, Assign, Identifier}},
		{"(1..2) 1.5 .", []Token{LParen, Int, DotDot, Int, RParen, Float, Dot}},
		{"a\\b%c&d|e^f~g", []Token{Identifier, Backslash, Identifier, Percent, Identifier, Amp, Identifier, Pipe, Identifier, Caret, Identifier, Tilde, Identifier}},
		{"// comment\n/* multi\nline */ x", []Token{Identifier}},
		{"/ab\\/c/is", []Token{Regexp}},
		{"uint16be int8 filesize entrypoint them", []Token{KwUint16BE, KwInt8, KwFilesize, KwEntrypoint, KwThem}},
	}
	for _, tt := range tests {
		items, err := lexAll(tt.src)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		var got []Token
		for _, it := range items {
			got = append(got, it.Tok)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %v, want %v", tt.src, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: token %d is %v, want %v", tt.src, i, got[i], tt.want[i])
			}
		}
	}
}

func TestLexValues(t *testing.T) {
	tests := []struct {
		src   string
		tok   Token
		text  string
		num   int64
		flags string
	}{
		{"123", Int, "123", 123, ""},
		{"0x1F", Int, "0x1F", 31, ""},
		{"0o17", Int, "0o17", 15, ""},
		{"2KB", Int, "2KB", 2048, ""},
		{"3MB", Int, "3MB", 3 << 20, ""},
		{"9223372036854775807", Int, "9223372036854775807", 9223372036854775807, ""},
		{`"a\"b\\c\t\n\r\x41"`, Text, "a\"b\\c\t\n\rA", 0, ""},
		{`/a\/b\d/i`, Regexp, `a/b\d`, 0, "i"},
		{`/x/s`, Regexp, `x`, 0, "s"},
		{"$abc*", StringIDWild, "$abc", 0, ""},
		{"#abc", StringCount, "$abc", 0, ""},
		{"#", StringCount, "$", 0, ""},
	}
	for _, tt := range tests {
		items, err := lexAll(tt.src)
		if err != nil || len(items) != 1 {
			t.Errorf("%q: %v %v", tt.src, items, err)
			continue
		}
		it := items[0]
		if it.Tok != tt.tok || it.Text != tt.text || it.Int != tt.num || it.Flags != tt.flags {
			t.Errorf("%q: got %v %q %d %q, want %v %q %d %q", tt.src, it.Tok, it.Text, it.Int, it.Flags, tt.tok, tt.text, tt.num, tt.flags)
		}
	}
}

func TestLexErrors(t *testing.T) {
	for _, src := range []string{
		"9223372036854775808",
		"0x8000000000000000",
		"0o1000000000000000000000",
		"9007199254740992KB",
		"8796093022208MB",
		`"abc`,
		"\"a\nb\"",
		`"\q"`,
		`"\x4"`,
		"/abc",
		"//ok\n/a\\/",
		"/* unterminated",
		"`",
		"\x01",
		"a" + strings.Repeat("b", 200),
	} {
		if _, err := lexAll(src); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

func TestLexPositions(t *testing.T) {
	items, err := lexAll("rule a\n  {\tb }")
	if err != nil {
		t.Fatal(err)
	}
	want := []Pos{{"t.yar", 1, 1}, {"t.yar", 1, 6}, {"t.yar", 2, 3}, {"t.yar", 2, 5}, {"t.yar", 2, 7}}
	for i, it := range items {
		if it.Pos != want[i] {
			t.Errorf("token %d at %v, want %v", i, it.Pos, want[i])
		}
	}
	if got := want[2].String(); got != "t.yar:2:3" {
		t.Errorf("Pos.String() = %q", got)
	}
}

func TestHexString(t *testing.T) {
	tests := []struct {
		src  string
		want string // rendering by hexString
	}{
		{"{ 4D 5A }", "4d/ff 5a/ff"},
		{"{4d5a}", "4d/ff 5a/ff"},
		{"{ ?? 4? ?A }", "00/00 40/f0 0a/0f"},
		{"{ ~41 ~?1 ~4? }", "~41/ff ~01/0f ~40/f0"},
		{"{ 01 [2] 02 [1-3] 03 [4-] 04 [-] 05 }", "01/ff [2-2] 02/ff [1-3] 03/ff [4-] 04/ff [0-] 05/ff"},
		{"{ 01 [ 1 - 2 ] 02 }", "01/ff [1-2] 02/ff"},
		{"{ 01 [0-0] 02 }", "01/ff [0-0] 02/ff"},
		{"{ 01 ( 02 | 03 04 | ( 05 | 06 ) ) 07 }", "01/ff (02/ff | 03/ff 04/ff | (05/ff | 06/ff)) 07/ff"},
		{"{ 01 /* c } */ 02 // x\n 03 }", "01/ff 02/ff 03/ff"},
		{"{ 01 ( 02 [1-200] 03 | 04 ) }", "01/ff (02/ff [1-200] 03/ff | 04/ff)"},
	}
	for _, tt := range tests {
		l := NewLexer("t", []byte(tt.src))
		l.advance()
		toks, err := l.HexString("$a")
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := hexString(toks); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestHexStringErrors(t *testing.T) {
	for _, src := range []string{
		"{ }", "{ 0 }", "{ 012 }", "{ 01 [0] 02 }", "{ [-] 01 }", "{ 01 [-] }", "{ 01 [3-2] 02 }",
		"{ 01 ( 02 | ) }", "{ 01 ( | 02 ) }", "{ 01 ( [1] 02 | 03 ) }", "{ 01 ( 02 [-] 03 | 04 ) }",
		"{ 01 ( 02 [201] 03 | 04 ) }", "{ 01 ~ }", "{ 01 ~0 11 }", "{ ~?? }", "{ 01 [0-2147483648] 02 }",
		"{ 01 ( 02 }", "{ 01 ) }", "{ 01 [1 02 }", "{ 01 [a] 02 }", "{ 01 [-2] 02 }", "{ 01", "{ 01 G1 }",
		"{ " + strings.Repeat("(", 100) + "01" + strings.Repeat(")", 100) + " }",
	} {
		l := NewLexer("t", []byte(src))
		l.advance()
		if toks, err := l.HexString("$a"); err == nil {
			t.Errorf("%s: no error, got %s", src, hexString(toks))
		}
	}
}

func hexString(toks []HexToken) string {
	var parts []string
	for _, t := range toks {
		switch t.Kind {
		case HexByte:
			s := ""
			if t.Not {
				s = "~"
			}
			parts = append(parts, s+fmt.Sprintf("%02x/%02x", t.Value, t.Mask))
		case HexJump:
			if t.Max < 0 {
				parts = append(parts, "["+strconv.Itoa(t.Min)+"-]")
			} else {
				parts = append(parts, "["+strconv.Itoa(t.Min)+"-"+strconv.Itoa(t.Max)+"]")
			}
		case HexAlt:
			var alts []string
			for _, a := range t.Alts {
				alts = append(alts, hexString(a))
			}
			parts = append(parts, "("+strings.Join(alts, " | ")+")")
		}
	}
	return strings.Join(parts, " ")
}
