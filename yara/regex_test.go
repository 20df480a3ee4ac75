package yara

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/match"
)

func TestRegexFind(t *testing.T) {
	const none = "<no match>"
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		re             string
		nocase, dotall bool
		in             string
		want           string // the match, or none
	}{
		{re: `abc`, in: "xxabcabc", want: "abc"},
		{re: `a.*c`, in: "abcabc", want: "abcabc"},
		{re: `a.*?c`, in: "abcabc", want: "abc"},
		{re: `a.c`, in: "a\nc", want: none},
		{re: `a.c`, dotall: true, in: "a\nc", want: "a\nc"},
		{re: `ABC`, nocase: true, in: "xaBc", want: "aBc"},
		{re: `[^a-c]+`, nocase: true, in: "ABCdef", want: "def"},
		{re: `^ab`, in: "abab", want: "ab"},
		{re: `^b`, in: "abab", want: none},
		{re: `b$`, in: "abab", want: "b"},
		{re: `\bfoo\b`, in: "foobar foo", want: "foo"},
		{re: `\Boo`, in: "foo", want: "oo"},
		{re: `(a|ab)(c|bcd)(d*)`, in: "abcd", want: "abcd"},
		{re: `\x41\x42{2}`, in: "ABBB", want: "ABB"},
		{re: `a{2,}`, in: "aaaa", want: "aaaa"},
		{re: `a{,2}b`, in: "aaab", want: "aab"},
		{re: `a{2,3}?`, in: "aaaa", want: "aa"},
		{re: `x{`, in: "x{", want: "x{"},
		{re: `[\w-z]+`, in: "a-wxyz", want: "wxyz"},
		{re: `[]a]+`, in: "b]a]", want: "]a]"},
		{re: `[\d\s]+`, in: "a1 2\t3b", want: "1 2\t3"},
		{re: `\S+`, in: "  ab\x0bc", want: "ab"},
		{re: `a\vb`, in: "avb", want: "avb"},
		{re: `abc`, in: long + "abc", want: none},
		{re: `abc`, in: long[:4093] + "abc", want: "abc"},
		// yara's quirks, checked with yara 4.2.3: an empty string matches
		// nothing; no match starts at the end of the string; \b holds at
		// the edges and at the end of the 4,096-byte window.
		{re: `a*`, in: "", want: none},
		{re: `$`, in: "a", want: none},
		{re: `a$`, in: "ba", want: "a"},
		{re: `-\b`, in: "a-", want: "-"},
		{re: `\b-`, in: "-a", want: "-"},
		{re: `-\B`, in: "a-", want: none}, // \B fails at the edge ...
		{re: `-\B`, in: "a--", want: "-"}, // ... not inside
		{re: `x\b`, in: long, want: "x"},
		{re: `a*`, in: "b", want: ""},
	} {
		re, err := CompileRegex(RegexpSource{Source: tc.re, NoCase: tc.nocase, DotAll: tc.dotall})
		if err != nil {
			t.Errorf("CompileRegex(%q): %v", tc.re, err)
			continue
		}
		got := none
		if s, e, ok := re.Find([]byte(tc.in)); ok {
			got = tc.in[s:e]
		}
		if got != tc.want {
			t.Errorf("/%s/ on %.20q: got %q, want %q", tc.re, tc.in, got, tc.want)
		}
		if re.Match([]byte(tc.in)) != (tc.want != none) {
			t.Errorf("/%s/ Match(%.20q) disagrees with Find", tc.re, tc.in)
		}
	}
}

func TestRegexErrors(t *testing.T) {
	// Each of these yara 4.2.3 rejects (checked with the yara binary).
	for _, src := range []string{`a\1`, `\0`, `(a`, `a)`, `[a`, `*a`, `a**`, `[z-a]`, `[a-\\]`, `a{2,1}`, `\x4`, `a{0}`, `(|a)`, `a\B{0,3}`, `a$?`, `^?a`, `a\b+`, `$*a`} {
		if _, err := CompileRegex(RegexpSource{Source: src}); err == nil {
			t.Errorf("CompileRegex(%q) succeeded, want an error", src)
		}
	}
}

// goSyntax renders a tree of bytes below 0x80 in Go's regexp syntax, or
// reports false when it cannot.
func goSyntax(n *match.Node, b *strings.Builder) bool {
	switch n.Op {
	case match.OpEmpty:
		b.WriteString("(?:)")
	case match.OpLiteral:
		b.WriteString("(?:")
		if n.Fold {
			b.WriteString("(?i)")
		}
		for _, c := range n.Lit {
			fmt.Fprintf(b, `\x%02x`, c)
		}
		b.WriteString(")")
	case match.OpClass:
		var set strings.Builder
		for c := 0; c < 0x80; c++ {
			if n.Class.Has(byte(c)) {
				fmt.Fprintf(&set, `\x%02x`, c)
			}
		}
		if set.Len() == 0 {
			return false // only high bytes, which ASCII data never holds
		}
		b.WriteString("[" + set.String() + "]")
	case match.OpConcat, match.OpAlt:
		b.WriteString("(?:")
		for i, s := range n.Sub {
			if i > 0 && n.Op == match.OpAlt {
				b.WriteString("|")
			}
			if !goSyntax(s, b) {
				return false
			}
		}
		b.WriteString(")")
	case match.OpRepeat:
		if n.Min > 1000 || n.Max > 1000 {
			return false
		}
		if lo, _ := treeLen(n.Sub[0]); lo == 0 {
			return false // engines differ on empty iterations
		}
		b.WriteString("(?:")
		if !goSyntax(n.Sub[0], b) {
			return false
		}
		b.WriteString(")")
		if n.Max < 0 {
			fmt.Fprintf(b, "{%d,}", n.Min)
		} else {
			fmt.Fprintf(b, "{%d,%d}", n.Min, n.Max)
		}
		if !n.Greedy {
			b.WriteString("?")
		}
	case match.OpAssert:
		switch n.Assert {
		case match.AssertBegin:
			b.WriteString(`\A`)
		case match.AssertEnd:
			b.WriteString(`\z`)
		case match.AssertWordBoundary:
			b.WriteString(`\b`)
		case match.AssertNotWordBoundary:
			b.WriteString(`\B`)
		default:
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzRegex parses, lowers and compiles a regular expression and runs it on
// data: as a `matches` operand against Go's regexp package (leftmost-first,
// the same priorities) on ASCII input, and as a string with modifiers
// through the matcher and confirm.
func FuzzRegex(f *testing.F) {
	for _, s := range []string{`abc`, `a.*?c`, `(a|ab)(c|bcd)`, `[^\w-z]{2,3}\b`, `^x$`, `a{,3}b+?`, `[]a-]`, `\x41\S\d`} {
		f.Add(s, []byte("xx abc abcd ab-z AAA\x00x"), false, false)
	}
	f.Fuzz(fuzzRegexOne)
}

func fuzzRegexOne(t *testing.T, src string, data []byte, nocase, wide bool) {
	{
		if len(src) > 256 || len(data) > 1024 {
			return
		}
		valid := ValidateRegexp(src) == nil
		re, err := CompileRegex(RegexpSource{Source: src, NoCase: nocase})
		if (err == nil) != valid {
			// Only the size limit of the verifier may reject a valid
			// expression.
			if err == nil || !strings.Contains(err.Error(), "too large") {
				t.Fatalf("ValidateRegexp and CompileRegex disagree on %q: %v", src, err)
			}
			return
		}
		if err != nil {
			return
		}
		s, e, ok := re.Find(data)
		if ok && (s < 0 || e < s || e > len(data)) {
			t.Fatalf("/%s/: bad match [%d,%d) in %d bytes", src, s, e, len(data))
		}
		n, err := lowerRegexp(src, reFlags{nocase: nocase})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if len(data) > 0 && isASCII(data) && goSyntax(n, &b) {
			if gre, err := regexp.Compile(b.String()); err == nil {
				want := gre.FindIndex(data)
				if (want != nil) != ok || ok && (want[0] != s || want[1] != e) {
					t.Fatalf("/%s/ (Go %s) on %q: got %d,%d,%v; Go %v", src, b.String(), data, s, e, ok, want)
				}
			}
		}
		str := &String{ID: "$a", Kind: RegexpPattern, Re: RegexpSource{Source: src, NoCase: nocase}}
		str.Mods.Wide, str.Mods.ASCII = wide, true
		p, err := compileString(str)
		if err != nil {
			if strings.Contains(err.Error(), "too large") {
				return
			}
			t.Fatalf("compileString(/%s/): %v", src, err)
		}
		m, err := match.Compile(p.nodes(), match.Options{})
		if err != nil {
			return // beyond the matcher's limits
		}
		hits := match.NewHits()
		if err := m.Scan(t.Context(), data, 1, hits); err != nil {
			t.Fatal(err)
		}
		for _, x := range p.matches(data, hits.Of, nil) {
			if x.Offset < 0 || x.Length <= 0 || x.Offset+x.Length > int64(len(data)) {
				t.Fatalf("/%s/: bad match %+v", src, x)
			}
		}
	}
}

// TestRegexpCorpus runs yara's own regular-expression tests (test_re in
// test-rules.c, validated with yara 4.2.3): a match of /re/ must exist with
// exactly the expected data, or no match at all.
func TestRegexpCorpus(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	f, err := os.Open(filepath.Join(dir, "yara-test-cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	var pass, total int
	for sc.Scan() {
		var c struct {
			Source    string  `json:"source"`
			Assert    string  `json:"assert"`
			Rule      string  `json:"rule"`
			Data      []byte  `json:"data"`
			MatchData *string `json:"expect_match_data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Assert != "assert_true_regexp" && c.Assert != "assert_false_regexp" {
			continue
		}
		total++
		strs := stringsOf(t, c.Rule)
		ms := searchStrings(t, strs, c.Data)[0]
		ok := len(ms) == 0
		if c.MatchData != nil {
			ok = false
			for _, m := range ms {
				if string(m.Data) == *c.MatchData {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s: %s on %q: matches %s, want %v", c.Source, c.Rule, c.Data, formatMatches(ms), c.MatchData)
			continue
		}
		pass++
	}
	if total < 200 {
		t.Errorf("only %d regexp cases in the corpus", total)
	}
	t.Logf("%d/%d regexp cases agree with yara 4.2.3", pass, total)
}

// TestRegexMatchesYara compares Regex.Match with yara's `matches` operator
// on generated expressions and strings: one rule per (expression, string)
// pair, the strings passed as external variables.
func TestRegexMatchesYara(t *testing.T) {
	yaraBin := testenv.NeedTool(t, "yara")
	seed := int64(7)
	if s := os.Getenv("GLASSAV_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	rng := rand.New(rand.NewSource(seed))
	pieces := []string{"a", "b", "ab", "[a-c]", "\\w", "\\s", ".", "x", "(a|bc)", "(b|ab)", "\\d", "[^a]", "\\b", "\\B", "^", "$"}
	quants := []string{"", "", "", "*", "+", "?", "{1,2}", "*?", "{0,3}"}
	var res []string
	for len(res) < 60 {
		var b strings.Builder
		lazy := rng.Intn(2) == 0
		for i := 0; i < 1+rng.Intn(4); i++ {
			b.WriteString(pieces[rng.Intn(len(pieces))])
			q := quants[rng.Intn(len(quants))]
			if q != "" && !strings.HasSuffix(q, "?") && lazy {
				q += "?"
			}
			if q == "*?" && !lazy {
				q = "*"
			}
			b.WriteString(q)
		}
		if ValidateRegexp(b.String()) == nil && !strings.HasPrefix(b.String(), "*") {
			res = append(res, b.String())
		}
	}
	strs := []string{"", "a", "ab", "abc", "b a", "xx ab 12", "ABC", "bcbcab", "a\tb", strings.Repeat("x", 4094) + "ab", strings.Repeat("x", 4100) + "ab"}
	var rules strings.Builder
	args := []string{"-w"}
	for j, s := range strs {
		args = append(args, "-d", fmt.Sprintf("s%d=%s", j, s))
	}
	want := map[string]bool{}
	desc := map[string]string{}
	for i, re := range res {
		for j, s := range strs {
			flags := ""
			if i%5 == 0 {
				flags = "i"
			}
			name := fmt.Sprintf("r%d_%d", i, j)
			fmt.Fprintf(&rules, "rule %s { condition: s%d matches /%s/%s }\n", name, j, re, flags)
			rx, err := CompileRegex(RegexpSource{Source: re, NoCase: flags == "i"})
			if err != nil {
				t.Fatalf("CompileRegex(%q): %v", re, err)
			}
			want[name] = rx.Match([]byte(s))
			desc[name] = fmt.Sprintf("/%s/%s on %.12q", re, flags, s)
		}
	}
	path := filepath.Join(t.TempDir(), "m.yar")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append(args, path, path)
	out, err := exec.Command(yaraBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("yara: %v: %.300s (expressions %q)", err, out, res)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, _, _ := strings.Cut(line, " ")
		got[name] = true
	}
	matched := 0
	for name, w := range want {
		if w {
			matched++
		}
		if got[name] != w {
			t.Errorf("%s: %s: glassav %v, yara %v", name, desc[name], w, got[name])
		}
	}
	if matched < 100 || len(want)-matched < 100 {
		t.Errorf("weak comparison: %d of %d pairs match", matched, len(want))
	}
	t.Logf("%d pairs, %d matching", len(want), matched)
}
