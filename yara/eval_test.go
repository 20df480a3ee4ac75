package yara

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/match"
)

// compileSrc parses and compiles rule source with the harness externals.
func compileSrc(t testing.TB, src string) *Rules {
	t.Helper()
	f, err := Parse("t.yar", []byte(src), nil)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	r, _, err := Compile(&CompileConfig{Externals: harnessExternals(nil)}, f)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	return r
}

func matchedNames(res *Result) []string {
	var out []string
	for _, r := range res.Matched() {
		out = append(out, r.Rule.Name)
	}
	return out
}

// evalCases are conditions over a small data set, each decided by yara
// 4.2.3 in TestEvalDifferential; want is what yara answers (checked once,
// asserted here too so the test means something without the peer).
var evalData = []byte("MZ\x90\x00abcdefABCDEF this is a test of the scanner\x00\x01\x02\xff\xfe.........abc!")

var evalCases = []struct {
	cond string
	want bool
}{
	{`true and not false`, true},
	{`filesize == 64`, true},
	{`filesize > 10 and filesize < 100`, true},
	{`uint16(0) == 0x5A4D`, true},
	{`uint16be(0) == 0x4D5A`, true},
	{`int8(2) == -112`, true},
	{`uint8(2) == 0x90`, true},
	{`int32(60) == 0x21636261`, true},
	{`int32(61) == 0x21636261`, false},
	{`uint32(filesize - 4) == 0x21636261`, true},
	{`uint32(filesize - 3)`, false}, // out of range: undefined
	{`not uint32(filesize - 3)`, false},
	{`defined uint32(filesize - 3)`, false},
	{`defined uint32(0)`, true},
	{`uint32(filesize) or true`, true},
	{`not (uint32(filesize) or uint32(filesize))`, true},
	{`not (uint32(filesize) and uint32(filesize))`, true},
	{`not (false or uint32(filesize))`, true},
	{`defined (uint32(filesize) or uint32(filesize))`, true},
	{`not (uint32(filesize) and true)`, true},
	{`1 \ (filesize - 64) == 0`, false},
	{`not (1 \ (filesize - 64) == 0)`, false},
	{`defined (1 \ (filesize - 64))`, false},
	{`(1 \ (filesize - 64)) or true`, true},
	{`5 % (filesize - 64) == 0 or 1`, true},
	{`7 \ 2 == 3 and -7 \ 2 == -3 and 7 % 3 == 1 and -7 % 3 == -1`, true},
	{`0x7FFFFFFFFFFFFFFF + filesize > 0`, false},
	{`-0x7FFFFFFFFFFFFFFF - filesize > 0`, true},
	{`0x4000000000000000 * (filesize - 60) == 0`, true},
	{`defined (0x7FFFFFFFFFFFFFFF + filesize)`, true},
	{`1 << 64 == 0 and 1 << 63 < 0 and -1 >> 1 == -1`, true},
	{`1 << (filesize - 65) == 0`, false},
	{`~0 == -1 and 0x0F & 0x3C == 0x0C and 0x0F | 0xF0 == 0xFF and 5 ^ 3 == 6`, true},
	{`1.5 + 1 == 2.5 and 3 \ 2.0 == 1.5 and 0.1 + 0.2 == 0.3`, true},
	{`1.0 < 2 and 2 >= 2.0 and -1.5 < -1`, true},
	{`"abc" == "abc" and "abc" < "abd" and "ab" < "abc" and "b" > "abc"`, true},
	{`"Hello" contains "ell" and "Hello" icontains "ELL" and "Hello" startswith "He"`, true},
	{`"Hello" istartswith "hE" and "Hello" endswith "llo" and "Hello" iendswith "LLO"`, true},
	{`"Hello" iequals "hELLO" and not ("Hello" iequals "hELL")`, true},
	{`"Hello" matches /l+o$/ and not ("Hello" matches /^l/)`, true},
	{`"" matches /.*/`, false},
	{`$a and #a == 2 and @a[1] == 4 and @a[2] == 60 and !a[1] == 3`, true},
	{`@a[3] == 0 or not defined @a[3]`, true},
	{`$a at 4 and not $a at 5 and $a in (50..64) and not $a in (0..3)`, true},
	{`#a in (0..10) == 1 and #a in (0..100) == 2`, true},
	{`$a at (1 \ (filesize - 64))`, false},
	{`not ($a in (0..1 \ (filesize - 64)))`, false},
	{`#a in (0..1 \ (filesize - 64)) == 0`, false},
	{`$b`, false},
	{`#b == 0 and not defined @b[1]`, true},
	{`any of them`, true},
	{`all of them`, false},
	{`none of ($b, $c)`, false},
	{`1 of ($a, $b)`, true},
	{`2 of ($a, $c)`, true},
	{`3 of them`, false},
	{`50% of them`, true},
	{`67% of them`, false},
	{`for any of ($a, $b) : ($ at 4)`, true},
	{`for all of ($a, $c) : (# >= 1 and @ >= 4)`, true},
	{`for 2 of them : (!a > 0)`, true},
	{`for any i in (1..#a) : (@a[i] == 60)`, true},
	{`for all i in (1..#a) : (@a[i] > 3)`, true},
	{`for all i in (1..filesize - 64) : (false)`, false},
	{`for none i in (1..filesize - 64) : (true)`, false},
	{`for 0 i in (1..3) : (true)`, true},
	{`for any i in (1..filesize - 64) : (true)`, false},
	{`for none i in (0..10) : (uint8(i) == 0xFF)`, true},
	{`for 2 i in (0..3) : (uint8(i) < 0x80)`, true},
	{`for any i in (0, 2, 4) : (uint8(i) == 0x61)`, true},
	{`for all i in (1..3) : (for any j in (1..3) : (i == j))`, true},
	{`for any i in (0..filesize - 1) : (uint32(i) == 0xfeff0201)`, true},
	{`for all i in (1..filesize) : (true)`, true},
	{`var_one == 1 and var_true and not var_false and var_zero + 1 == var_one`, true},
	{`1 \ (filesize - 64) of them`, false},
	{`(1 \ (filesize - 64)) % of them`, false},
	{`for 1 \ (filesize - 64) of them : ($)`, false},
	{`not ($a at (1 \ (filesize - 64)))`, true},
	{`not defined @a[1 \ (filesize - 64)]`, true},
	{`not defined !a[0]`, true},
	{`not defined #a in (0..1 \ (filesize - 64))`, true},
	{`defined (not (1 \ (filesize - 64)))`, false},
	{`defined ((1 \ (filesize - 64)) or false)`, true},
	{`defined ((1 \ (filesize - 64)) and true)`, true},
	{`defined (1 \ (filesize - 64) == 1)`, false},
	{`"abc" == "abc\x00"`, false},
	{`"abc\x00d" contains "\x00d"`, true},
	{`"ab\x00c" matches /b\x00c/`, true},
	{`"abc" != "abd" and "abc" <= "abc" and "abc" >= "abb"`, true},
	{`-filesize == -64 and - -1 == 1`, true},
	{`1KB == 1024 and 1MB == 1048576 and 0o10 == 8`, true},
	{`2.5 * 2 == 5 and 5 \ 2 == 2 and 5.0 \ 2 == 2.5`, true},
	{`int16(0) + uint16be(0) > 0`, true},
	{`for any i in (0..3) : (for any j in (i..3) : (uint8(j) == 0x90))`, true},
	{`for all of them : ($ or true)`, true},
	{`any of ($a*) and all of ($a, $c)`, true},
	{`entrypoint == 0`, false},
	{`defined entrypoint`, false},
}

// evalRule wraps a condition of evalCases in a rule that references all
// its strings (yara rejects unreferenced ones) without changing whether it
// matches: an undefined or false condition still does not.
func evalRule(cond string) string {
	return "rule t { strings: $a = \"abc\" $b = \"nothere\" $c = \"scanner\" condition: (" + cond + ") or (($a or $b or $c) and false) }"
}

// evalOnlyCases are decided without the peer: yara 4.2.3 dies of SIGFPE
// on them; glassav makes them undefined, as later yara versions do.
var evalOnlyCases = []struct {
	cond string
	want bool
}{
	{`(-0x7FFFFFFFFFFFFFFF - 1) \ (filesize - 65) == 0`, false},
	{`defined ((-0x7FFFFFFFFFFFFFFF - 1) % (filesize - 65))`, false},
}

func TestEval(t *testing.T) {
	for _, c := range append(evalCases, evalOnlyCases...) {
		src := evalRule(c.cond)
		r := compileSrc(t, src)
		res, err := r.Scan(context.Background(), evalData, nil)
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		if got := len(res.Matched()) > 0; got != c.want {
			t.Errorf("%s: got %v, want %v", c.cond, got, c.want)
		}
	}
}

// TestEvalDifferential decides every condition of evalCases with yara
// 4.2.3 on the same data and requires the same answer.
func TestEvalDifferential(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(data, evalData, 0o644); err != nil {
		t.Fatal(err)
	}
	matches := 0
	for i, c := range evalCases {
		src := evalRule(c.cond)
		rf := filepath.Join(dir, fmt.Sprintf("r%d.yar", i))
		if err := os.WriteFile(rf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(yara, "-w", "-d", "var_zero=0", "-d", "var_one=1", "-d", "var_true=true", "-d", "var_false=false", rf, data).CombinedOutput()
		if err != nil {
			t.Errorf("%s: yara: %v: %s", c.cond, err, out)
			continue
		}
		peer := strings.HasPrefix(string(out), "t ")
		if peer {
			matches++
		}
		res, err := compileSrc(t, src).Scan(context.Background(), evalData, nil)
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		if got := len(res.Matched()) > 0; got != peer {
			t.Errorf("%s: glassav %v, yara %v", c.cond, got, peer)
		}
	}
	if matches < len(evalCases)/2 {
		t.Errorf("yara matched only %d of %d conditions", matches, len(evalCases))
	}
}

// TestLazySearch checks that rules decided without strings never search:
// a false filesize bound or header check anywhere in the top-level
// conjunction, or a short-circuit before the string.
func TestLazySearch(t *testing.T) {
	data := []byte("ELF abc abc")
	for _, tc := range []struct {
		cond   string
		search bool
	}{
		{`filesize > 100 and $a`, false},
		{`$a and filesize > 100`, false},
		{`$a and uint16(0) == 0x5A4D`, false},
		{`uint32(0) == 0x464c457f and $a`, false}, // "ELF " is not \x7fELF
		{`not $a and filesize > 1MB`, false},
		{`filesize < 100 and $a`, true},
		{`$a or filesize > 100`, true},
	} {
		r := compileSrc(t, `rule t { strings: $a = "abc" condition: `+tc.cond+` }`)
		calls := 0
		hits := func(i int) []match.Hit {
			calls++
			return []match.Hit{{Start: 4, End: 7}, {Start: 8, End: 11}}
		}
		res, err := r.Evaluate(context.Background(), data, hits, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (calls > 0) != tc.search {
			t.Errorf("%s: searched %v (%d calls), want %v", tc.cond, calls > 0, calls, tc.search)
		}
		if tc.search && len(res.Matched()) != 1 {
			t.Errorf("%s: no match", tc.cond)
		}
	}
}

// TestScanShapes covers global and private rules, rule references, rule
// sets, namespaces and the result's string matches.
func TestScanShapes(t *testing.T) {
	ctx := context.Background()
	f1, err := Parse("a.yar", []byte(`
private rule p { strings: $x = "abc" condition: $x }
rule uses_p { condition: p }
rule r1 { strings: $a = "abc" $b = { 61 62 } private condition: $a and $b }
rule r2 { condition: any of (r1, r2) }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Parse("b.yar", []byte(`
global rule g { condition: filesize > 1000 }
rule other { condition: true }
`), &Config{Namespace: "ns2"})
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := Compile(nil, f1, f2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Scan(ctx, []byte("xxabcabc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(matchedNames(res), ",")
	if got != "uses_p,r1,r2" {
		t.Errorf("matched %q, want uses_p,r1,r2 (p private, ns2 failed its global rule)", got)
	}
	for _, rr := range res.Rules {
		if rr.Rule.Name == "p" {
			t.Errorf("private rule reported")
		}
		if rr.Rule.Name != "r1" {
			continue
		}
		if len(rr.Strings) != 2 || len(rr.Strings[0].Matches) != 2 || !rr.Strings[1].String.Mods.Private {
			t.Fatalf("r1 strings: %+v", rr.Strings)
		}
		m := rr.Strings[0].Matches[1]
		if m.Offset != 5 || m.Length != 3 || string(m.Data) != "abc" {
			t.Errorf("second match of $a: %+v", m)
		}
	}
	res, err = r.Scan(ctx, bytes.Repeat([]byte("z"), 2000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(matchedNames(res), ","); got != "g,other" {
		t.Errorf("matched %q, want g,other", got)
	}
}

func TestExternalsOverride(t *testing.T) {
	f, err := Parse("t.yar", []byte(`rule t { condition: s == "x" and i == 2 and b and f > 1.0 }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := Compile(&CompileConfig{Externals: map[string]any{"s": "", "i": int64(0), "b": false, "f": 0.0}}, f)
	if err != nil {
		t.Fatal(err)
	}
	opt := &ScanOptions{Externals: map[string]any{"s": "x", "i": 2, "b": true, "f": 1.5}}
	res, err := r.Scan(context.Background(), nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matched()) != 1 {
		t.Errorf("externals not applied")
	}
	if res, _ := r.Scan(context.Background(), nil, nil); len(res.Matched()) != 0 {
		t.Errorf("defaults: rule matched")
	}
	if _, err := r.Scan(context.Background(), nil, &ScanOptions{Externals: map[string]any{"nope": 1}}); err == nil {
		t.Errorf("unknown external accepted")
	}
}

func TestTimeout(t *testing.T) {
	r := compileSrc(t, `rule t { condition: for all i in (0..100000000000) : (for all j in (0..10) : (i + j >= 0)) }`)
	start := time.Now()
	_, err := r.Scan(context.Background(), []byte("x"), &ScanOptions{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout honoured after %v", d)
	}
}

func TestFastModeAndCap(t *testing.T) {
	r := compileSrc(t, `rule t { strings: $a = "aa" condition: $a }`)
	data := bytes.Repeat([]byte("a"), 100)
	res, err := r.Scan(context.Background(), data, &ScanOptions{FastMode: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rules[0].Strings[0].Matches); n != 1 {
		t.Errorf("fast mode kept %d matches, want 1", n)
	}
	res, err = r.Scan(context.Background(), data, &ScanOptions{MaxMatchesPerString: 10})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rules[0].Strings[0].Matches); n != 10 || len(res.Warnings) == 0 {
		t.Errorf("cap: %d matches, warnings %v", n, res.Warnings)
	}
	r = compileSrc(t, `rule t { strings: $a = "aa" condition: #a == 99 }`)
	if res, _ := r.Scan(context.Background(), data, &ScanOptions{FastMode: true}); len(res.Matched()) != 1 {
		t.Errorf("fast mode must keep all matches of a counted string")
	}
}

func TestSaveLoadErrors(t *testing.T) {
	r := compileSrc(t, `rule t : tag { meta: a = "x\"y" b = -3 c = true strings: $a = "q\x00\"\\" wide nocase $b = { 4? ?1 [2-3] ( 01 | 02 03 ) ~05 [-] 06 } $c = /a\/b[\/x]/is condition: $a or $b or ($c and "a" matches /a\// and -1 < 0) }`)
	var buf bytes.Buffer
	if err := r.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	if _, err := Load(bytes.NewReader(saved)); err != nil {
		t.Fatalf("load: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("X"), saved[1:]...),
		"truncated": saved[:len(saved)-3],
		"flipped":   append(append([]byte{}, saved[:len(saved)-1]...), saved[len(saved)-1]^1),
	} {
		if _, err := Load(bytes.NewReader(b)); !errors.Is(err, ErrBadCompiledRules) {
			t.Errorf("%s: err = %v, want ErrBadCompiledRules", name, err)
		}
	}
}

// FuzzLoad checks that Load rejects or accepts arbitrary bytes without
// panicking.
func FuzzLoad(f *testing.F) {
	r := compileSrc(f, `rule t { strings: $a = "abc" condition: $a and filesize < 10 }`)
	var buf bytes.Buffer
	if err := r.Save(&buf); err != nil {
		f.Fatal(err)
	}
	saved := buf.Bytes()
	f.Add(saved, false)
	f.Add(saved[len(saved)-int(binary.BigEndian.Uint64(saved[17:])):], true)
	f.Add([]byte(savedMagic), false)
	f.Fuzz(func(t *testing.T, b []byte, wrap bool) {
		if wrap {
			// b is a body: give it a valid header so the fuzzer reaches
			// the decoder, the parser and the compiler.
			var hdr [13 + 4 + 8 + 32]byte
			copy(hdr[:], savedMagic)
			binary.BigEndian.PutUint32(hdr[13:], savedVersion)
			binary.BigEndian.PutUint64(hdr[17:], uint64(len(b)))
			sum := sha256.Sum256(b)
			copy(hdr[25:], sum[:])
			b = append(hdr[:], b...)
		}
		if r, err := Load(bytes.NewReader(b)); err == nil {
			r.Scan(context.Background(), []byte("abc"), &ScanOptions{Timeout: time.Second})
		}
	})
}

// FuzzEntryPoint checks that the PE/ELF entry point reader never panics.
func FuzzEntryPoint(f *testing.F) {
	for _, p := range testenv.Files(4, 1<<20, "/usr/bin/*") {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entryPoint(b)
	})
}

// TestEntryPointDifferential asks yara 4.2.3 to confirm the entry point
// glassav computes for real ELF files and the PE files of the corpus.
func TestEntryPointDifferential(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	files := testenv.Files(25, 8<<20, "/usr/bin/*", "/usr/lib/x86_64-linux-gnu/*.so*")
	if dir := filepath.Join("..", "..", "shared", "testdata", "yara", "data"); true {
		files = append(files, testenv.Files(15, 8<<20, filepath.Join(dir, "*"))...)
	}
	confirmed, defined := 0, 0
	tmp := t.TempDir()
	for i, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		ep, ok := entryPoint(data)
		cond := "not defined entrypoint"
		if ok {
			defined++
			cond = fmt.Sprintf("entrypoint == %d", ep)
		}
		rf := filepath.Join(tmp, fmt.Sprintf("e%d.yar", i))
		os.WriteFile(rf, []byte("rule e { condition: "+cond+" }"), 0o644)
		out, err := exec.Command(yara, "-w", rf, p).CombinedOutput()
		if err != nil {
			t.Errorf("%s: yara: %v %s", p, err, out)
			continue
		}
		if !strings.HasPrefix(string(out), "e ") {
			t.Errorf("%s: yara does not confirm %s", p, cond)
			continue
		}
		confirmed++
	}
	if defined < 10 {
		t.Errorf("only %d files with an entry point among %d", defined, len(files))
	}
	t.Logf("yara confirmed %d/%d entry points (%d defined)", confirmed, len(files), defined)
}

func BenchmarkScanNoSearch(b *testing.B) {
	r := compileSrc(b, `rule t { strings: $a = "abc" condition: uint16(0) == 0x5A4D and $a }`)
	data := bytes.Repeat([]byte("abcdefgh"), 1<<17)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Scan(context.Background(), data, nil)
	}
}

func BenchmarkScan(b *testing.B) {
	r := compileSrc(b, `rule t { strings: $a = "abc" $b = { 64 65 ?? 67 } condition: #a > 10 and for all i in (1..10) : (@b[i] > @a[i]) }`)
	data := bytes.Repeat([]byte("abcdefgh"), 1<<17)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Scan(context.Background(), data, nil)
	}
}

// BenchmarkLoop measures the condition evaluator alone: a loop over every
// offset of 1 MiB reading a 32-bit word at each (yara's slowest idiom).
func BenchmarkLoop(b *testing.B) {
	r := compileSrc(b, `rule t { condition: for any i in (0..filesize - 4) : (uint32(i) == 0xCAFEBABE) }`)
	data := bytes.Repeat([]byte("abcdefgh"), 1<<17)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Scan(context.Background(), data, nil)
	}
}

// TestConcurrentScan scans with one Rules from several goroutines (run
// with -race): Rules must be immutable after Compile.
func TestConcurrentScan(t *testing.T) {
	r := compileSrc(t, `import "tests" import "hash"
rule t { strings: $a = "abc" $b = /b[a-z]d/ condition: #a > 0 and $b and tests.constants.one == 1 and hash.md5(0, 3) != "" and for all i in (1..#a) : (@a[i] >= 0) }`)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				var res *Result
				res, err = r.Scan(context.Background(), []byte("xxabcd abc"), nil)
				if err == nil && len(res.Matched()) != 1 {
					err = errors.New("no match")
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestGlobalRules: a failing global rule clears its namespace, including
// rules that referred to it (checked with yara 4.2.3 on 2-byte data).
func TestGlobalRules(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`global rule g { condition: filesize > 1000 }
rule a { condition: true }
private rule p { condition: true }
rule b { condition: p and not g }`, ""},
		{`rule a { condition: true }
global rule g { condition: a }
rule b { condition: g }`, "a,g,b"},
	} {
		res, err := compileSrc(t, tc.src).Scan(context.Background(), []byte("xx"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(matchedNames(res), ","); got != tc.want {
			t.Errorf("matched %q, want %q\n%s", got, tc.want, tc.src)
		}
	}
}

// moduleCases are conditions over the tests module, decided by yara
// 4.2.3 (whose Debian build ships that module) in
// TestEvalModulesDifferential.
var moduleCases = []struct {
	cond string
	want bool
}{
	{`for any i in tests.integer_array : (i == 256)`, true},
	{`for all i in tests.integer_array : (i < 300)`, false}, // undefined items count as false
	{`for 4 i in tests.integer_array : (i >= 0)`, true},
	{`for 5 i in tests.integer_array : (i >= 0)`, false},
	{`for any k, v in tests.struct_dict : (k == "foo" and v.s == "foo")`, true},
	{`for all s in tests.empty_struct_array : (false)`, false},
	{`for any s in tests.struct_array : (s.i == 1)`, true},
	{`for all s in tests.struct_array : (defined s.i)`, false},
	{`tests.isum(1, tests.undefined.i) == 1`, false},
	{`not defined tests.isum(1, tests.undefined.i)`, true},
	{`defined tests.undefined.f`, false},
	{`tests.length("abc") == 3 and tests.foobar(1) == "foo"`, true},
	{`tests.string_array[3] == "foo\x00bar" and tests.string_dict["bar"] == "bar"`, true},
	{`not defined tests.string_dict["nope"] and not defined tests.integer_array[1000]`, true},
	{`tests.match(/b.d/, "abcd") == 4 and tests.match(/x/, "abc") == -1`, true},
	{`tests.fsum(1.5, 2.5) == 4.0 and tests.isum(1, 2, 3) == 6`, true},
}

func TestEvalModulesDifferential(t *testing.T) {
	run := func(cond string) bool {
		res, err := compileSrc(t, `import "tests" rule t { condition: `+cond+` }`).Scan(context.Background(), []byte("abc"), nil)
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		return len(res.Matched()) > 0
	}
	for _, c := range moduleCases {
		if got := run(c.cond); got != c.want {
			t.Errorf("%s: got %v, want %v", c.cond, got, c.want)
		}
	}
	yara := testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte("abc"), 0o644)
	peerMatches := 0
	for i, c := range moduleCases {
		rf := filepath.Join(dir, fmt.Sprintf("m%d.yar", i))
		os.WriteFile(rf, []byte(`import "tests" rule t { condition: `+c.cond+` }`), 0o644)
		out, err := exec.Command(yara, "-w", rf, data).CombinedOutput()
		if err != nil {
			t.Errorf("%s: yara: %v %s", c.cond, err, out)
			continue
		}
		peer := strings.HasPrefix(string(out), "t ")
		if peer {
			peerMatches++
		}
		if got := run(c.cond); got != peer {
			t.Errorf("%s: glassav %v, yara %v", c.cond, got, peer)
		}
	}
	if peerMatches < len(moduleCases)/3 {
		t.Errorf("yara matched only %d of %d", peerMatches, len(moduleCases))
	}
}

// TestCompileTwice compiles one parsed tree twice: the checker's
// annotations must not accumulate (string sets, rule sets).
func TestCompileTwice(t *testing.T) {
	f, err := Parse("t.yar", []byte(`rule a { condition: true } rule t { strings: $a = "abc" $b = "zzz" condition: 2 of ($a, $b) or 2 of (a, a*) and false }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r, _, err := Compile(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Scan(context.Background(), []byte("abc"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(matchedNames(res), ","); got != "a" {
			t.Fatalf("compile %d: matched %q, want a", i+1, got)
		}
	}
}

// FuzzScanData scans arbitrary data with rules exercising every part of
// the evaluator (reads near the edges, loops over offsets and matches,
// modules over the data), which must never panic.
func FuzzScanData(f *testing.F) {
	r := compileSrc(f, `import "tests" import "hash" import "math"
rule a { strings: $a = "MZ" $b = { 50 45 00 00 } $c = /[a-z]{2,8}\d/ wide ascii $d = "k" xor fullword
condition: ($a at 0 and $b in (0..uint32(0x3c) + 4)) or for any i in (1..#c) : (!c[i] > 2 and @c[i] < filesize)
  or uint16be(filesize - 2) == 0xFFD9 or int32(filesize - 4) < 0 or entrypoint > 0 or any of ($d) }
rule b { condition: hash.md5(0, filesize) != "" and math.entropy(0, filesize) >= 0 and for all i in (0..filesize \ 64) : (uint8(i * 64) >= 0) }
rule c { condition: for any k, v in tests.string_dict : (k == v) and a or not b }`)
	f.Add([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"))
	f.Add([]byte("\x7fELF\x02\x01\x01abcdefgh1 k k"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := r.Scan(context.Background(), data, &ScanOptions{Timeout: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFixedOffsetStrings checks yara's rule for strings used only as
// `$s at N` with one constant N: such a string is looked for at N alone, so
// its other occurrences are neither counted nor printed. Any other use
// (plain, another offset, a computed one, #, @, in, a set) keeps them all.
// yara -s decides each expected offset list.
func TestFixedOffsetStrings(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	data := []byte("ABCD..ABCD..xyz..ABCD")
	dir := t.TempDir()
	df := filepath.Join(dir, "data")
	if err := os.WriteFile(df, data, 0o644); err != nil {
		t.Fatal(err)
	}
	conds := []struct {
		cond string
		want []int64
	}{
		{"$m at 0 or $t", []int64{0}},
		{"$m at 6 or $t", []int64{6}},
		{"$m at (3 + 3) or $t", []int64{6}},
		{"$m at 1 or $t", nil},
		{"($m at 0 and $m at 6) or $t", []int64{0, 6, 17}},
		{"$m at (uint8(0) - 0x41) or $t", []int64{0, 6, 17}},
		{"$m at 0 or #m > 5 or $t", []int64{0, 6, 17}},
		{"$m at 0 or any of them", []int64{0, 6, 17}},
		{"$m at 0 or $m in (5..7) or $t", []int64{0, 6, 17}},
		{"for any of ($m) : ($ at 0) or $t", []int64{0, 6, 17}},
	}
	for i, c := range conds {
		src := fmt.Sprintf("rule r { strings: $m = \"ABCD\" $t = \"xyz\" condition: %s }\n", c.cond)
		rf := filepath.Join(dir, fmt.Sprintf("r%d.yar", i))
		if err := os.WriteFile(rf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(yara, "-s", rf, df).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: yara: %v: %s", c.cond, err, out)
		}
		var peer []int64
		for _, line := range strings.Split(string(out), "\n") {
			var off int64
			if _, err := fmt.Sscanf(line, "0x%x:$m:", &off); err == nil {
				peer = append(peer, off)
			}
		}
		if fmt.Sprint(peer) != fmt.Sprint(c.want) {
			t.Fatalf("%s: yara gives $m at %v, the test expects %v", c.cond, peer, c.want)
		}
		res, err := compileSrc(t, src).Scan(context.Background(), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range res.Matched() {
			for _, sm := range r.Strings {
				if sm.String.ID == "$m" {
					for _, m := range sm.Matches {
						got = append(got, m.Offset)
					}
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: $m at %v, yara %v", c.cond, got, c.want)
		}
	}
}
