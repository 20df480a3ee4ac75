package yara

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/glassav/glassav/match"
)

// stringsOf parses src (one or more rules) and returns its strings in
// declaration order.
func stringsOf(t testing.TB, src string) []*String {
	t.Helper()
	f, err := Parse("t.yar", []byte(src), nil)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	var out []*String
	for _, r := range f.Rules {
		out = append(out, r.Strings...)
	}
	return out
}

// searchStrings finds the matches of every string in data with one
// matcher over all their patterns, as the evaluator does.
func searchStrings(t testing.TB, strs []*String, data []byte) [][]StringMatch {
	t.Helper()
	var nodes []*match.Node
	var progs []*stringProg
	var first []int
	for _, s := range strs {
		p, err := compileString(s)
		if err != nil {
			t.Fatalf("compileString(%s): %v", s.ID, err)
		}
		first = append(first, len(nodes))
		nodes = append(nodes, p.nodes()...)
		progs = append(progs, p)
	}
	m, err := match.Compile(nodes, match.Options{})
	if err != nil {
		t.Fatalf("match.Compile: %v", err)
	}
	hits := match.NewHits()
	if err := m.Scan(context.Background(), data, 1, hits); err != nil {
		t.Fatal(err)
	}
	out := make([][]StringMatch, len(strs))
	for i, p := range progs {
		out[i] = p.matches(data, func(k int) []match.Hit { return hits.Of(first[i] + k) }, nil)
	}
	return out
}

// formatMatches renders matches as yara -s does (offset:data), one per
// line, data quoted with %q for readability.
func formatMatches(ms []StringMatch) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%#x:%q", m.Offset, m.Data)
		if m.HasXorKey {
			fmt.Fprintf(&b, "^%#x", m.XorKey)
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

func TestStringMatches(t *testing.T) {
	data := "xxABxxBxxBzzAB\x00C\x00 aaa hello Hello world foo123 foo bar\n"
	for _, tc := range []struct {
		str  string // a strings-section entry for $a
		want string
	}{
		// Expected values measured with yara 4.2.3 -s.
		{`{ 41 42 [1-8] 42 }`, `0x2:"ABxxB"`},
		{`{ 41 42 [-] 42 }`, `0x2:"ABxxB"`},
		{`{ 41 ( 42 | 42 78 ) }`, `0x2:"AB" 0xc:"AB"`},
		{`{ 41 ( 42 78 | 42 ) }`, `0x2:"ABx" 0xc:"AB"`},
		{`/AB.*B/`, `0x2:"ABxxBxxBzzAB"`},
		{`/AB.*?B/`, `0x2:"ABxxB"`},
		{`/A(B|Bx)/`, `0x2:"AB" 0xc:"AB"`},
		{`/a+?/`, `0x12:"a" 0x13:"a" 0x14:"a" 0x34:"a"`},
		{`/a*/`, `0x12:"aaa" 0x13:"aa" 0x14:"a" 0x34:"a"`},
		{`/(a|aa)+/`, `0x12:"aaa" 0x13:"aa" 0x14:"a" 0x34:"a"`},
		{`"foo" fullword`, `0x2f:"foo"`},
		{`"ello" nocase`, `0x17:"ello" 0x1d:"ello"`},
		{`"AB" wide`, ``},
		{`"\x00C" ascii wide`, `0xe:"\x00C"`},
		{`"B\x00C" wide`, ``},
		{`/hel+o\s\w/ nocase`, `0x16:"hello H" 0x1c:"Hello w"`},
		{`/^xx/`, `0x0:"xx"`},
		{`/\n$/`, `0x36:"\n"`},
		{`/o\b/`, `0x1a:"o" 0x20:"o" 0x31:"o"`},
		{`/[^a-z ]{2}/`, `0x2:"AB" 0xc:"AB" 0xd:"B\x00" 0xe:"\x00C" 0xf:"C\x00" 0x2b:"12" 0x2c:"23"`},
		{`/QR(S|ST)+/`, `0x1:"QRS"`},
		{`/QR(ST|S)+/`, `0x1:"QRST"`},
		{`/QR(S|ST)??/`, `0x1:"QR"`},
		{`/QR(S|ST)+?/`, `0x1:"QRS"`},
		{`{ 51 52 ( 53 | 53 54 ) }`, `0x1:"QRS"`},
		{`{ 51 52 ( 53 54 | 53 ) }`, `0x1:"QRST"`},
		{`{ 51 52 ( 53 54 | 53 ) [0-1] 54 }`, `0x1:"QRST"`},
		{`/QR.{0,2}/`, `0x1:"QRST"`},
		{`/QR.{0,2}?/`, `0x1:"QR"`},
		{`/a*?/`, ``},
	} {
		src := "rule r { strings: $a = " + tc.str + " condition: $a }"
		d := data
		if strings.Contains(tc.str, "QR") || strings.Contains(tc.str, "51 52") {
			d = " QRST "
		}
		got := formatMatches(searchStrings(t, stringsOf(t, src), []byte(d))[0])
		if got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.str, got, tc.want)
		}
	}
}

// TestStringModifiers checks xor (with its keys), base64, base64wide with
// a custom alphabet, and fullword on ascii and wide text, against matches
// measured with yara 4.2.3 -s on the same data.
func TestStringModifiers(t *testing.T) {
	data := []byte("[2$\"3$5][t\x07b\x07d\x07u\x07b\x07s\x07][VGhpcyBwcm9ncmFtIGNhbm5vdA==][eFRoaXMgcHJvZ3JhbSBjYW5ub3Q=]" +
		"[eHlUaGlzIHByb2dyYW0gY2Fubm90][e\x00F\x00R\x00o\x00a\x00X\x00M\x00g\x00c\x00H\x00J\x00v\x00Z\x003\x00J\x00h\x00b\x00S\x00B\x00j\x00Y\x00W\x005\x00u\x00b\x003\x00Q\x00=\x00]" +
		"[vCkFzToaRSYby7wbBD9tB7Ufyn09][s\x00e\x00c\x00r\x00e\x00t\x00]Xs\x00e\x00c\x00r\x00e\x00t\x00X\x00 secretive secret_ _secret.")
	src := `rule x { strings:
		$a = "secret" xor
		$b = "secret" xor(1-7) wide
		$c = "program" base64
		$d = "program" base64wide
		$e = "secret" fullword wide ascii
		$f = "secret" fullword
		$g = "This program" base64("ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210+/")
		condition: any of them }`
	want := []string{
		`0x1:"2$\"3$5"^0x41 0xe6:"secret"^0x0 0xf0:"secret"^0x0 0xf9:"secret"^0x0`,
		`0x9:"t\ab\ad\au\ab\as\a"^0x7`,
		`0x1e:"wcm9ncmFt" 0x3d:"cHJvZ3Jhb" 0x5d:"Byb2dyYW"`,
		`0x81:"c\x00H\x00J\x00v\x00Z\x003\x00J\x00h\x00b\x00"`,
		`0xc9:"s\x00e\x00c\x00r\x00e\x00t\x00" 0xf0:"secret" 0xf9:"secret"`,
		`0xf0:"secret" 0xf9:"secret"`,
		`0xae:"FzToaRSYby7wbBD"`,
	}
	got := searchStrings(t, stringsOf(t, src), data)
	for i, w := range want {
		if g := formatMatches(got[i]); g != w {
			t.Errorf("string %d:\n got  %s\n want %s", i, g, w)
		}
	}
}

// TestStringWindow checks yara's 4,096-byte limit on regular-expression
// matches and the absence of one for chained hex strings (measured with
// yara 4.2.3: /BA+/ over B and 6,000 A's ends after 4,096 bytes, /BA{4095,4096}/
// too, { 42 [4000-5000] 41 } matches with 4,002 bytes).
func TestStringWindow(t *testing.T) {
	data := []byte("B" + strings.Repeat("A", 6000) + "C")
	for _, tc := range []struct {
		str    string
		length int64 // of the match at 0; 0: none
	}{
		{`/BA+/`, 4096},
		{`/BA{4095,4096}/`, 4096},
		{`/BA{4000,5000}/`, 4096},
		{`/B.{4000,5000}?/s`, 4001},
		{`/BA+C/`, 0},
		{`{ 42 [4000-5000] 41 }`, 4002},
		{`{ 42 [4000-5000] 43 }`, 0},
		{`{ 42 [5000-] 43 }`, 6002},
	} {
		ms := searchStrings(t, stringsOf(t, "rule r { strings: $a = "+tc.str+" condition: $a }"), data)[0]
		var got int64
		if len(ms) > 0 && ms[0].Offset == 0 {
			got = ms[0].Length
			if len(ms[0].Data) != min(int(got), 512) {
				t.Errorf("%s: %d bytes of data for a %d-byte match", tc.str, len(ms[0].Data), got)
			}
		}
		if got != tc.length {
			t.Errorf("%s: match length %d, want %d", tc.str, got, tc.length)
		}
	}
}

// BenchmarkConfirm measures confirm over the hits of a few typical strings
// in a text-heavy buffer: the work the evaluator adds to the matcher's.
func BenchmarkConfirm(b *testing.B) {
	data := []byte(strings.Repeat("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n\r\n", 800))
	strs := stringsOf(b, `rule r { strings:
		$a = /Host: [a-z.]+\.com/
		$b = /[A-Za-z-]+: [^\r\n]{1,200}/
		$c = "example" nocase wide ascii fullword
		$d = { 48 6F 73 74 [1-16] 2E 63 6F 6D }
		condition: any of them }`)
	var progs []*stringProg
	var nodes []*match.Node
	for _, s := range strs {
		p, err := compileString(s)
		if err != nil {
			b.Fatal(err)
		}
		progs = append(progs, p)
		nodes = append(nodes, p.nodes()...)
	}
	m, err := match.Compile(nodes, match.Options{})
	if err != nil {
		b.Fatal(err)
	}
	hits := match.NewHits()
	if err := m.Scan(context.Background(), data, 1, hits); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var out []StringMatch
	for i := 0; i < b.N; i++ {
		k := 0
		for _, p := range progs {
			base := k
			out = p.matches(data, func(j int) []match.Hit { return hits.Of(base + j) }, out[:0])
			k += len(p.nodes())
		}
	}
}
