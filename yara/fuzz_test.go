package yara

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`rule a { condition: true }`,
	`import "pe" private global rule a : t { meta: x = "y" n = -1 strings: $a = "x" wide xor(1-2) $b = { 4D 5A ?? [2-4] (01 | ~02) } $c = /a.b/is condition: $a at pe.entry_point and #b in (0..10) == 1 and for any of ($b, $c) : (@[1] > !) }`,
	`rule a { condition: for 50% i in (1, 2) : (i \ 2 % 3 << 1 | ~-i ^ 4 & 5 >> 1 == 0) }`,
	`rule a { condition: 1 of (a*) and "x" icontains "X" and defined uint32be(0) }`,
	`rule a { condition: ` + strings.Repeat("(", 300) + `true` + strings.Repeat(")", 300) + ` }`,
	`rule a { strings: $a = { ` + strings.Repeat("(", 50) + `01` + strings.Repeat(")", 50) + ` } condition: $a }`,
	"rule a { strings: $a = /" + strings.Repeat("(", 50) + "a" + strings.Repeat(")", 50) + "/ condition: $a }",
	`/* c */ // d` + "\n" + `"\x41\n" 0x10 0o7 1KB 2.5 $a* #b @c !d`,
}

// FuzzLex checks that the lexer terminates without panicking and always
// makes progress.
func FuzzLex(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l := NewLexer("f.yar", src)
		for i := 0; i <= len(src)+1; i++ {
			off := l.off
			it, err := l.Next()
			if err != nil || it.Tok == EOF {
				return
			}
			if l.off <= off {
				t.Fatalf("no progress at offset %d", off)
			}
			if it.Tok == LBrace {
				if _, err := l.HexString("$a"); err != nil {
					return
				}
			}
		}
		t.Fatalf("lexer did not reach the end of %d bytes", len(src))
	})
}

// FuzzParse checks that parsing and checking never panic and that deep
// nesting ends in an error rather than a stack overflow.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("f.yar", src, nil)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if _, err := Check(&CheckConfig{Externals: testExternals}, file); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
	})
}
