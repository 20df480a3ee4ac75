package clamav

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
)

func load(t *testing.T, name, data string, opt Options) *ir.Set {
	t.Helper()
	set := ir.NewSet()
	if err := LoadFile(set, name, []byte(data), opt); err != nil {
		t.Fatalf("LoadFile(%s): %v", name, err)
	}
	return set
}

func TestNDBOffsets(t *testing.T) {
	tests := []struct {
		line string
		want ir.Offset
	}{
		{"A:0:*:616263", ir.Offset{}},
		{"A:0:100:616263", ir.Offset{Anchor: ir.AnchorStart, N: 100}},
		{"A:0:0,300:616263", ir.Offset{Anchor: ir.AnchorStart, Shift: 300}},
		{"A:0:EOF-10:616263", ir.Offset{Anchor: ir.AnchorEOF, N: 10}},
		{"A:0:EOF-10,5:616263", ir.Offset{Anchor: ir.AnchorEOF, N: 10, Shift: 5}},
		{"A:1:EP+4:616263", ir.Offset{Anchor: ir.AnchorEntryPoint, N: 4}},
		{"A:1:EP-5,10:616263", ir.Offset{Anchor: ir.AnchorEntryPoint, N: -5, Shift: 10}},
		{"A:6:EP+1:616263", ir.Offset{Anchor: ir.AnchorEntryPoint, N: 1}},
		{"A:1:S2+16:616263", ir.Offset{Anchor: ir.AnchorSection, Section: 2, N: 16}},
		{"A:1:S1+1,5:616263", ir.Offset{Anchor: ir.AnchorSection, Section: 1, N: 1, Shift: 5}},
		{"A:1:SE1:616263", ir.Offset{Anchor: ir.AnchorInSection, Section: 1}},
		{"A:1:SE1,4:616263", ir.Offset{Anchor: ir.AnchorInSection, Section: 1, Shift: 4}},
		{"A:9:SL+8:616263", ir.Offset{Anchor: ir.AnchorLastSection, N: 8}},
		{"A:1:VI:616263", ir.Offset{Anchor: ir.AnchorVersionInfo}},
	}
	for _, tt := range tests {
		set := load(t, "x.ndb", tt.line+"\n", Options{})
		if len(set.Patterns) != 1 || set.Patterns[0].Offset != tt.want {
			t.Errorf("%s: patterns %+v, want offset %+v", tt.line, set.Patterns, tt.want)
		}
	}
}

func TestNDBRules(t *testing.T) {
	set := load(t, "x.ndb", "# comment\nA:0:*:616263\nB:1:*:6162??\nC:*:*:646566\n", Options{})
	if set.Signatures != 3 || len(set.Rules) != 3 {
		t.Fatalf("Signatures %d, rules %d", set.Signatures, len(set.Rules))
	}
	r := set.Rules[1]
	want := ir.Rule{Name: "B.UNOFFICIAL", Source: ir.Source{File: "x.ndb", Line: 3}, Target: 1, Subs: []int{1}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("rule %+v, want %+v", r, want)
	}
	set = load(t, "x.ndb", "A:0:*:616263\n", Options{Official: true})
	if r := set.Rules[0]; r.Name != "A" || !r.Official {
		t.Errorf("official rule %+v", r)
	}
}

// TestSkips checks what clamscan leaves out silently (not counted in Known
// viruses) and what glassav skips with a warning but counts.
func TestSkips(t *testing.T) {
	tests := []struct {
		name, data string
		opt        Options
		sigs       int
		skipped    string
		warnings   int
	}{
		{"x.ndb", "A:0:*:616263:300\n", Options{}, 0, skipFLevel, 0},
		{"x.ndb", "A:0:*:616263:10:20\n", Options{}, 0, skipFLevel, 0},
		{"x.ndb", "A:0:*:616263:10:\n", Options{}, 0, skipFLevel, 0}, // empty MaxFL is 0
		{"x.ndb", "A:0:*:616263:\n", Options{}, 1, "", 0},            // empty MinFL is 0
		{"x.ndb", "A:0:*:616263:300\n", Options{FLevel: 300}, 1, "", 0},
		{"x.ndb", "A:15:*:616263\n", Options{}, 0, skipTarget, 0},
		{"x.ndb", "A:0:*:616263!(B)\n", Options{}, 1, skipFeature, 1},
		{"x.ndb", "A:0:*:!(B)616263\n", Options{}, 1, "", 0}, // a consuming non-boundary byte
		{"x.ndu", "PUA.A:0:*:616263\n", Options{}, 0, "", 0},
		{"x.ndu", "PUA.A:0:*:616263\n", Options{DetectPUA: true}, 1, "", 0},
		{"x.ldb", "L;Engine:51-100,Target:0;0;616263\n", Options{}, 0, skipFLevel, 0},
		{"x.ldb", "L;Engine:51-255,Target:0,Foo:1;0;616263\n", Options{}, 0, skipAttribute, 0},
		{"x.ldb", "L;Engine:51-255,Target:0,Container:CL_TYPE_foo;0;616263\n", Options{}, 0, skipAttribute, 0},
		{"x.ldb", "L;Engine:51-255,Target:20;0;616263\n", Options{}, 0, skipTarget, 0},
		{"x.ldb", "L;Engine:51-255,Target:0;0&1;616263;0/abc/\n", Options{}, 1, skipUnsupported, 1},
		{"x.ldb", "L;Engine:51-255,Target:0;0;fuzzy_img#af2ad01ed42993c7\n", Options{}, 1, skipUnsupported, 1},
		{"x.ldb", "L;Engine:51-255,Target:0;0&1;616263;0(>>5#hb2#=0)\n", Options{}, 1, skipUnsupported, 1},
		{"x.ldb", "L;Engine:51-255,Target:0;0&1;616263;${1-5}3$\n", Options{}, 1, skipUnsupported, 1},
		{"x.ldb", "L;Engine:51-255,Target:0,HandlerType:CL_TYPE_ZIP;0;616263\n", Options{}, 1, skipUnsupported, 1},
		{"x.pdb", "H:example.com\nR:foo\n", Options{}, 2, skipFormat + " .pdb", 1},
		{"x.gdb", "# c\nS:P:4d8bef53\n", Options{}, 1, skipFormat + " .gdb", 1},
		{"x.wdb", "M:a.com:b.com\n", Options{}, 0, skipFormat + " .wdb", 1},
		{"x.yar", "rule a { condition: true }\nprivate rule b { condition: true }\n", Options{}, 2, skipFormat + " .yar", 1},
		{"x.cbc", "ClamBC...\n", Options{}, 0, skipFormat + " .cbc", 1},
	}
	for _, tt := range tests {
		set := load(t, tt.name, tt.data, tt.opt)
		if set.Signatures != tt.sigs {
			t.Errorf("%s %q: Signatures %d, want %d", tt.name, tt.data, set.Signatures, tt.sigs)
		}
		if tt.skipped != "" && set.Skipped[tt.skipped] != 1 && !strings.HasPrefix(tt.skipped, skipFormat) {
			t.Errorf("%s %q: Skipped %v, want 1 %q", tt.name, tt.data, set.Skipped, tt.skipped)
		}
		if _, ok := set.Skipped[tt.skipped]; tt.skipped != "" && !ok {
			t.Errorf("%s %q: Skipped %v, want %q", tt.name, tt.data, set.Skipped, tt.skipped)
		}
		if len(set.Warnings) != tt.warnings {
			t.Errorf("%s %q: warnings %q, want %d", tt.name, tt.data, set.Warnings, tt.warnings)
		}
	}
}

func TestLDBRule(t *testing.T) {
	line := "Win.Test;Engine:81-255,Target:1,FileSize:100-2000,EntryPoint:0-4096,NumberOfSections:2-5," +
		"Container:CL_TYPE_ZIP,Intermediates:CL_TYPE_ZIP>CL_TYPE_ANY;(0|1)&2=0;EP+0:4d5a::i;S0+4:6162??63;646566::wa\n"
	set := load(t, "x.ldb", line, Options{})
	if len(set.Rules) != 1 || set.Signatures != 1 {
		t.Fatalf("rules %d, Signatures %d", len(set.Rules), set.Signatures)
	}
	r := set.Rules[0]
	if r.Name != "Win.Test.UNOFFICIAL" || r.Target != 1 || len(r.Subs) != 3 ||
		r.FileSize != (ir.Range{Set: true, Min: 100, Max: 2000}) ||
		r.EntryPoint != (ir.Range{Set: true, Max: 4096}) ||
		r.NumSections != (ir.Range{Set: true, Min: 2, Max: 5}) ||
		r.Container != "CL_TYPE_ZIP" || !reflect.DeepEqual(r.Intermediates, []string{"CL_TYPE_ZIP", "CL_TYPE_ANY"}) {
		t.Errorf("rule %+v", r)
	}
	if got := set.Patterns[r.Subs[1]].Offset; got != (ir.Offset{Anchor: ir.AnchorSection, N: 4}) {
		t.Errorf("subsig 1 offset %+v", got)
	}
	if got := set.Patterns[r.Subs[0]].Node.String(); got != "(?i)4d5a" {
		t.Errorf("subsig 0 %s", got)
	}
	if !r.Cond.Eval(func(i int) int { return []int{0, 1, 0}[i] }) || r.Cond.Eval(func(i int) int { return []int{1, 1, 1}[i] }) {
		t.Errorf("condition %+v", r.Cond)
	}
}

func TestDB(t *testing.T) {
	set := load(t, "x.db", "A=616263\nB==ignored\n", Options{})
	if set.Signatures != 1 || len(set.Rules) != 1 || set.Rules[0].Name != "A.UNOFFICIAL" {
		t.Errorf("Signatures %d, rules %+v", set.Signatures, set.Rules)
	}
}

func TestIgnore(t *testing.T) {
	set := load(t, "x.ign2", "Eicar-Signature\nWin.Test.UNOFFICIAL:0123456789ABCDEF0123456789abcdef\n", Options{})
	want := map[string][]string{"Eicar-Signature": {""}, "Win.Test": {"0123456789abcdef0123456789abcdef"}}
	if !reflect.DeepEqual(set.Ignored, want) || set.Signatures != 0 {
		t.Errorf("Ignored %v", set.Ignored)
	}
	set = load(t, "x.ign", "daily.ndb:12:Some.Sig\n", Options{})
	if !reflect.DeepEqual(set.Ignored, map[string][]string{"Some.Sig": {""}}) {
		t.Errorf("Ignored %v", set.Ignored)
	}
	load(t, "x.ign2", "", Options{}) // an empty .ign2 loads
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.ndb":     "B:0:*:646566\n",
		"a.hdb":     "900150983cd24fb0d6963f7d28e17f72:3:A\n",
		"c.ldb":     "C;Engine:51-255,Target:0;0;676869\n",
		"notes.txt": "not a database",
		"p.ndu":     "PUA.P:0:*:707172\n",
		"sub/x.ndb": "X:0:*:78797a\n",
	}
	for n, d := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := ir.NewSet()
	if err := Load(t.Context(), set, []string{dir}, Options{}); err != nil {
		t.Fatal(err)
	}
	if set.Signatures != 3 {
		t.Errorf("Signatures %d, want 3", set.Signatures)
	}
	var names []string
	for _, r := range set.Rules {
		names = append(names, r.Name)
	}
	if !reflect.DeepEqual(names, []string{"B.UNOFFICIAL", "C.UNOFFICIAL"}) {
		t.Errorf("rule order %v", names)
	}
	if err := Load(t.Context(), ir.NewSet(), []string{filepath.Join(dir, "notes.txt")}, Options{}); err == nil {
		t.Error("loading notes.txt: no error")
	}
}

func TestFTM(t *testing.T) {
	set := load(t, "x.ftm", "0:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n1:*:4d5a??90:PE2:CL_TYPE_ANY:CL_TYPE_MSEXE\n1:0,10:504b0304:Z:CL_TYPE_ANY:CL_TYPE_ZIP\n0:0:4d5a:X:CL_TYPE_ANY:CL_TYPE_MSEXE:300\n4:0:55aa:P:CL_TYPE_ANY:CL_TYPE_MSEXE\n", Options{})
	if set.Signatures != 0 || len(set.FileTypes) != 3 {
		t.Fatalf("Signatures %d, FileTypes %+v", set.Signatures, set.FileTypes)
	}
	m := set.FileTypes
	if m[0].Offset != 0 || string(m[0].Bytes) != "MZ" || m[0].Name != "PE" ||
		m[1].Offset != -1 || m[1].Pattern == nil ||
		m[2].Offset != 0 || m[2].MaxShift != 10 {
		t.Errorf("FileTypes %+v", m)
	}
	for _, bad := range []string{
		"0:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_FOO\n",
		"0:x:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n",
		"0:*:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n",
		"0:0:4d5a??:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n",
		"1:EP+0:4d5a90:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n",
		"2:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n",
		"0:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE:300\n",
		"0:0:4d5a:PE:CL_TYPE_ANY\n",
		"0:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_MSEXE\n\n",
		"0:0:4d5a:PE:CL_TYPE_ANY:CL_TYPE_ZSTD\n",
	} {
		if err := LoadFile(ir.NewSet(), "x.ftm", []byte(bad), Options{}); err == nil {
			t.Errorf("%q: loaded; clamscan fails", bad)
		}
	}
}

// TestStaticMinimum: clamscan puts purely static .ndb signatures for target
// 0, and for target 1 with a fixed offset, in its Boyer-Moore matcher (3
// bytes minimum); everything else goes to Aho-Corasick (2 bytes).
func TestStaticMinimum(t *testing.T) {
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"A:0:*:6162", false},
		{"A:0:0,5:6162", false},
		{"A:1:0:6162", false},
		{"A:1:*:6162", true},
		{"A:1:0,5:6162", true},
		{"A:2:0:6162", true},
		{"A:7:*:6162", true},
		{"A:0:*:61", false},
		{"A:7:*:61", false},
	} {
		err := LoadFile(ir.NewSet(), "x.ndb", []byte(tt.line+"\n"), Options{})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, clamscan loads: %v", tt.line, err, tt.ok)
		}
	}
}

// TestIgnoreAtLoad: an ignore list loaded first drops signatures (and
// clamscan's count), by name or by name and MD5 of the database line; a
// directory loads its ignore lists first whatever their names.
func TestIgnoreAtLoad(t *testing.T) {
	set := ir.NewSet()
	line := "B:0:*:646566"
	sum := md5hex(line)
	if err := LoadFile(set, "x.ign2", []byte("A\nB:"+sum+"\nC:00000000000000000000000000000000\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := LoadFile(set, "x.ndb", []byte("A:0:*:616263\n"+line+"\nC:0:*:676869\nD:0:*:6a6b6c\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	if set.Signatures != 2 || set.Skipped[skipIgnored] != 2 {
		t.Errorf("Signatures %d, Skipped %v", set.Signatures, set.Skipped)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.ndb"), []byte("A:0:*:616263\nB:0:*:646566\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "z.ign2"), []byte("A\n"), 0o644)
	set = ir.NewSet()
	if err := Load(t.Context(), set, []string{dir}, Options{}); err != nil {
		t.Fatal(err)
	}
	if set.Signatures != 1 { // clamscan -d dir: Known viruses: 1
		t.Errorf("directory: Signatures %d, want 1", set.Signatures)
	}
}

func md5hex(s string) string {
	d := md5.Sum([]byte(s))
	return hex.EncodeToString(d[:])
}
