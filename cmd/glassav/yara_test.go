package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/yara"
)

func TestYaraOptionParsing(t *testing.T) {
	tests := []struct {
		args     []string
		operands []string
		check    func(c *yaraConfig) bool
		err      string
	}{
		{args: []string{"-s", "r.yar", "f"}, operands: []string{"r.yar", "f"}, check: func(c *yaraConfig) bool { return c.printStrings }},
		// A boolean named twice is toggled back off, as yara's args.c does.
		{args: []string{"-s", "-s", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return !c.printStrings }},
		{args: []string{"-sgm", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return c.printStrings && c.printTags && c.printMeta }},
		// The last option of a bundle takes the next argument.
		{args: []string{"-sp", "4", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return c.threads == 4 && c.printStrings }},
		{args: []string{"--threads=0x10", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return c.threads == 16 }},
		{args: []string{"-d", "a=1", "--define=b=x", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return slices.Equal(c.defines, []string{"a=1", "b=x"}) }},
		{args: []string{"r", "-n", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return c.negate }},
		{args: []string{"--threads", "2", "r", "f"}, err: "option `--threads` requires an integer argument"},
		{args: []string{"-p2", "r", "f"}, err: "option `-p2` requires an integer argument"},
		{args: []string{"-px", "r", "f"}, err: "option `-px` requires an integer argument"},
		{args: []string{"-p", "x", "r", "f"}, err: "option `-p` requires an integer argument"},
		{args: []string{"--bogus", "r", "f"}, err: "unknown option `--bogus`"},
		{args: []string{"-ds", "r", "f"}, err: "option `-ds` requires a string argument"},
		{args: []string{"--atom-quality-table=a", "--atom-quality-table=b", "r", "f"}, err: "too many `--atom-quality-table=b` options"},
		{args: []string{"--scan-list", "r", "f"}, operands: []string{"r", "f"}, check: func(c *yaraConfig) bool { return c.scanList }},
	}
	for _, tt := range tests {
		c := &yaraConfig{}
		ops, err := c.options().parse(tt.args)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !slices.Equal(ops, tt.operands) {
			t.Errorf("%q: operands %q, want %q", tt.args, ops, tt.operands)
		}
		if !tt.check(c) {
			t.Errorf("%q: options not set as expected: %+v", tt.args, c)
		}
	}
}

func TestYaraOptionTooManyTags(t *testing.T) {
	var args []string
	for range yaraMaxMulti + 1 {
		args = append(args, "-t", "x")
	}
	c := &yaraConfig{}
	if _, err := c.options().parse(append(args, "r", "f")); err == nil || err.Error() != "too many `-t` options" {
		t.Fatalf("error %v, want too many `-t` options", err)
	}
}

func TestStrtol(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10", 10, true}, {"-3", -3, true}, {"0x1f", 31, true}, {"010", 8, true}, {" 7", 7, true},
		{"0", 0, true}, {"", 0, false}, {"1x", 0, false}, {"08", 0, false}, {"1_000", 0, false},
		{"99999999999999999999", 1<<63 - 1, true}, {"-99999999999999999999", -1 << 63, true},
	}
	for _, tt := range tests {
		got, ok := strtol(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("strtol(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDefines(t *testing.T) {
	var stderr bytes.Buffer
	got := parseDefines([]string{"i=12", "n=-4", "f=1.5", "g=2.", "b=true", "c=false", "s=hello", "e=", "d=.5", "big=4294967297", "bad", "after=1"}, &stderr)
	want := map[string]any{
		"i": int64(12), "n": int64(-4), "f": 1.5, "g": 2.0, "b": true, "c": false, "s": "hello", "e": "", "d": ".5",
		// atoi keeps 32 bits.
		"big": int64(1),
	}
	if len(got) != len(want) {
		t.Errorf("got %d definitions %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if stderr.String() != "error: wrong syntax for `-d` option.\n" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestYaraDataFormats(t *testing.T) {
	var b bytes.Buffer
	writeStringData(&b, []byte("a\x00~\x7f "))
	if got, want := b.String(), `a\x00~\x7F `; got != want {
		t.Errorf("string data %q, want %q", got, want)
	}
	b.Reset()
	writeHexData(&b, bytes.Repeat([]byte{0xab}, 65))
	if got, want := b.String(), strings.Repeat("AB ", 64)+"..."; got != want {
		t.Errorf("hex data %q, want %q", got, want)
	}
	b.Reset()
	writeEscaped(&b, []byte("q\"'\\\t\x01\xc3\xa9z"))
	if got, want := b.String(), `q\"\'\\\t\001\303\251z`; got != want {
		t.Errorf("escaped %q, want %q", got, want)
	}
}

func TestEnclosingRule(t *testing.T) {
	src := []byte("import \"math\"\nrule A : t {\n strings:\n  $h = { 4D 5A }\n condition:\n  $h\n}\n\nrule B { condition: true }\n")
	tests := []struct {
		line, col int
		want      string
	}{
		{1, 1, ""}, {2, 6, ""}, {3, 2, "A"}, {6, 3, "A"}, {8, 1, ""}, {9, 12, "B"}, {9, 27, ""},
	}
	for _, tt := range tests {
		if got := enclosingRule(src, yara.Pos{File: "f", Line: tt.line, Col: tt.col}); got != tt.want {
			t.Errorf("%d:%d: rule %q, want %q", tt.line, tt.col, got, tt.want)
		}
	}
}

func TestSplitNamespace(t *testing.T) {
	dir := t.TempDir()
	withColon := filepath.Join(dir, "a:b.yar")
	if err := os.WriteFile(withColon, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, ns, file string }{
		{"ns:r.yar", "ns", "r.yar"},
		{"r.yar", "", "r.yar"},
		{"c:/r.yar", "c", "/r.yar"},
		{"c:\\r.yar", "", "c:\\r.yar"},
		{withColon, "", withColon},
		{"a:b:c", "a", "b:c"},
	}
	for _, tt := range tests {
		ns, file := splitNamespace(tt.arg)
		if ns != tt.ns || file != tt.file {
			t.Errorf("splitNamespace(%q) = %q, %q; want %q, %q", tt.arg, ns, file, tt.ns, tt.file)
		}
	}
}

// elfSample returns n ELF files of /usr/bin linked against glibc (the
// rules of these tests look for "GLIBC_2."), failing when there are fewer.
func elfSample(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for _, f := range testenv.Files(400, 4<<20, "/usr/bin/*") {
		b, err := os.ReadFile(f)
		if err == nil && bytes.HasPrefix(b, []byte("\x7fELF")) && bytes.Contains(b, []byte("GLIBC_2.")) {
			out = append(out, f)
			if len(out) == n {
				return out
			}
		}
	}
	t.Fatalf("found %d ELF files using glibc under /usr/bin, want %d", len(out), n)
	return nil
}

// yaraCase is one command line run under yara and glassav yara.
type yaraCase struct {
	name  string
	args  []string // RULES.. TARGET; "@f" is the sample file, "@d" the sample directory
	wantN int      // yara must print at least this many stdout lines
	// stderrToo compares standard error as well (messages glassav words
	// itself; compiler messages are the checker's and compared there).
	stderrToo bool
}

// TestYaraLikeYara runs glassav yara and yara 4.2.3 with the same command
// lines over real files and compares exit status and output.
func TestYaraLikeYara(t *testing.T) {
	yaraBin := testenv.NeedTool(t, "yara")
	files := elfSample(t, 6)
	dir := t.TempDir()
	sample := filepath.Join(dir, "sample")
	if err := os.Mkdir(sample, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sample, "f"+string(rune('a'+i))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sample, "text"), []byte("hello GLIBC world\nmeta\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(sample, "sub")
	os.Mkdir(sub, 0o755)
	if err := os.WriteFile(filepath.Join(sub, "deep"), []byte("ELF GLIBC deep"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(sample, "fa")
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(one+"\n"+filepath.Join(sample, "text")+"\n"+sub+"\n"), 0o644)

	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write("main.yar", `
rule Elf : exe linux {
  meta:
    author = "glassav \"tests\""
    level = 3
    neg = -7
    ok = true
  strings:
    $m = { 7F 45 4C 46 }
    $t = "GLIBC"
  condition:
    $m at 0 or $t
}
rule NoMatch : exe { strings: $a = "no such string in any file 0x1234" condition: $a }
private rule Priv { condition: filesize > 0 }
rule UsesPriv { condition: Priv and filesize < 1000 }
rule Strings {
  strings:
    $a = "GLIBC_2." ascii
    $h = { 47 4C 49 42 43 ?? 32 }
    $r = /GLIBC_2\.[0-9]+/
    $p = "libc" private
  condition:
    any of them
}
`)
	other := write("other.yar", "rule Other { strings: $a = \"ELF\" condition: $a }\n")
	mods := write("mods.yar", "import \"tests\"\nimport \"math\"\nrule M { condition: tests.constants.one == 1 and math.entropy(0, filesize) >= 0 }\n")
	console := write("console.yar", "import \"console\"\nrule C { condition: console.log(\"size \", filesize) and console.hex(\"hex \", filesize) }\n")
	bad := write("bad.yar", "rule Bad {\n  condition:\n    undefined_thing\n}\n")

	cases := []yaraCase{
		{name: "plain", args: []string{main, one}, wantN: 1, stderrToo: true},
		{name: "strings", args: []string{"-s", main, one}, wantN: 3},
		{name: "length", args: []string{"-L", main, one}, wantN: 3},
		{name: "strings+length", args: []string{"-sL", main, one}, wantN: 3},
		{name: "meta tags ns", args: []string{"-m", "-g", "-e", main, one}, wantN: 1},
		{name: "negate", args: []string{"-n", main, one}, wantN: 1},
		{name: "count", args: []string{"-c", main, one}, wantN: 1},
		{name: "tag filter", args: []string{"-t", "linux", main, one}, wantN: 1},
		{name: "identifier", args: []string{"-i", "Strings", "-s", main, one}, wantN: 1},
		{name: "max rules", args: []string{"-l", "1", main, one}, wantN: 1},
		{name: "namespaces", args: []string{"-e", "first:" + main, "second:" + other, one}, wantN: 2},
		{name: "same namespace twice", args: []string{main, main, one}, stderrToo: false},
		{name: "dir", args: []string{main, sample}, wantN: 3},
		{name: "dir recursive", args: []string{"-r", "-g", main, sample}, wantN: 4},
		{name: "dir count", args: []string{"-c", "-p", "2", main, sample}, wantN: 3},
		{name: "skip larger", args: []string{"-z", "100", main, sample}, wantN: 1, stderrToo: true},
		{name: "scan list", args: []string{"--scan-list", main, list}, wantN: 2},
		{name: "scan list is dir", args: []string{"--scan-list", main, sample}, stderrToo: true},
		{name: "missing target", args: []string{main, filepath.Join(dir, "nope")}, stderrToo: true},
		{name: "missing rules", args: []string{filepath.Join(dir, "nope.yar"), one}, stderrToo: true},
		{name: "compile error", args: []string{bad, one}},
		{name: "too few arguments", args: []string{main}},
		{name: "unknown option", args: []string{"--frobnicate", main, one}, stderrToo: true},
		{name: "bad define", args: []string{"-d", "x", main, one}, wantN: 1, stderrToo: true},
		{name: "bad module data", args: []string{"-x", "nodata", main, one}, stderrToo: true},
		{name: "threads", args: []string{"-p", "33", main, one}, stderrToo: true},
		{name: "stdin rules", args: []string{"-", one}},
		{name: "module data", args: []string{"-D", mods, one}, wantN: 30},
		{name: "module data -x", args: []string{"-D", "-x", "tests=" + other, mods, one}, wantN: 30},
		{name: "console", args: []string{console, one}, wantN: 3},
	}
	glassav := glassavBin
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdin := ""
			if tc.name == "stdin rules" {
				stdin = "rule FromStdin { strings: $a = \"ELF\" condition: $a }\n"
			}
			want := execIn(t, dir, stdin, yaraBin, tc.args...)
			got := execIn(t, dir, stdin, glassav, append([]string{"yara"}, tc.args...)...)
			if got.code != want.code {
				t.Errorf("exit %d, yara %d (stderr %q, yara %q)", got.code, want.code, got.stderr, want.stderr)
			}
			if len(want.stdout) < tc.wantN {
				t.Fatalf("yara printed %d lines, the case needs at least %d: %q", len(want.stdout), tc.wantN, want.stdout)
			}
			// execIn sorts the lines: directory scans print in thread order.
			if !slices.Equal(got.stdout, want.stdout) {
				t.Errorf("stdout differs:\nglassav: %q\nyara:    %q", got.stdout, want.stdout)
			}
			if tc.stderrToo && !slices.Equal(got.stderr, want.stderr) {
				t.Errorf("stderr differs:\nglassav: %q\nyara:    %q", got.stderr, want.stderr)
			}
		})
	}
}

// TestYaracRoundTrip compiles with glassav yarac and scans with -C: the
// output equals yara's on the source rules.
func TestYaracRoundTrip(t *testing.T) {
	yaraBin := testenv.NeedTool(t, "yara")
	files := elfSample(t, 1)
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.yar")
	os.WriteFile(rules, []byte("rule R : t { meta: k = \"v\" strings: $a = { 7F 45 4C 46 } $b = \"lib\" condition: $a at 0 and #b > 0 }\nrule N { condition: filesize == 1 }\n"), 0o644)
	compiled := filepath.Join(dir, "r.bin")
	if r := execIn(t, dir, "", glassavBin, "yarac", rules, compiled); r.code != 0 {
		t.Fatalf("yarac: exit %d: %q", r.code, r.stderr)
	}
	want := execIn(t, dir, "", yaraBin, "-s", "-m", "-g", rules, files[0])
	got := execIn(t, dir, "", glassavBin, "yara", "-C", "-s", "-m", "-g", compiled, files[0])
	if got.code != want.code || !slices.Equal(got.stdout, want.stdout) {
		t.Errorf("glassav -C: exit %d %q; yara: exit %d %q", got.code, got.stdout, want.code, want.stdout)
	}
	if len(want.stdout) == 0 {
		t.Errorf("yara found nothing in %s: the test proves nothing", files[0])
	}
	// A source file given to -C is not compiled rules.
	if r := execIn(t, dir, "", glassavBin, "yara", "-C", rules, files[0]); r.code != 1 {
		t.Errorf("-C on source: exit %d, want 1", r.code)
	}
}

// TestScanYARAJSON loads a .yar with glassav scan -d: the detection is
// named as clamscan names it and carries the rule's metadata and tags in
// the JSON report.
func TestScanYARAJSON(t *testing.T) {
	files := elfSample(t, 1)
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.yar")
	os.WriteFile(rules, []byte("rule Glibc : linux { meta: author = \"tests\" score = 5 strings: $a = \"GLIBC_2.\" condition: $a }\n"), 0o644)
	r := execIn(t, dir, "", glassavBin, "scan", "--json", "-d", rules, files[0])
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (found): %q", r.code, r.stderr)
	}
	var found bool
	for _, l := range r.stdout {
		var rec struct {
			Record     string
			Detections []struct {
				Name string
				Kind string
				Meta map[string]any
				Tags []string
			}
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		for _, d := range rec.Detections {
			if d.Name == "YARA.Glibc.UNOFFICIAL" && d.Kind == "yara" && d.Meta["author"] == "tests" && d.Meta["score"] == 5.0 && slices.Equal(d.Tags, []string{"linux"}) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no YARA.Glibc.UNOFFICIAL detection with its metadata in %q", r.stdout)
	}
}
