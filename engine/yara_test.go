package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestYARABesideClamAV loads a directory holding an .ndb and a .yar and
// scans with both: the YARA strings are patterns of the engine's one
// matcher, and YARA detections are named as clamscan names them.
func TestYARABesideClamAV(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.ndb", "Body.Sig:0:*:676c6173736176\n") // "glassav"
	write("r.yar", `
rule Hello : greeting {
  meta:
    author = "tests"
    score = 7
  strings:
    $a = "hello"
    $b = { 77 6F 72 6C 64 }
  condition:
    $a and $b and @a[1] < @b[1]
}
rule Count { strings: $l = "l" condition: #l == 6 }
rule Absent { strings: $z = "zzz" condition: $z }
rule NotAbsent { strings: $z = "zzz" condition: not $z }
rule NoStrings { condition: filesize > 0 }
private rule Hidden { strings: $h = "hello" condition: $h }
rule UsesHidden { strings: $w = "world" condition: Hidden and $w }
`)
	write("bad.yara", "rule Broken { condition: nosuchthing }\n")

	r, err := Load(context.Background(), LoadOptions{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	// Known viruses: the .ndb line and the five reportable YARA rules.
	if got := r.Signatures(); got != 6 {
		t.Errorf("Signatures() = %d, want 6", got)
	}
	if len(r.yara) != 1 {
		t.Fatalf("%d YARA parts loaded, want 1 (bad.yara skipped)", len(r.yara))
	}
	p := r.yara[0]
	if p.n == 0 || p.base+p.n > r.matcher.Len() {
		t.Errorf("YARA patterns %d..%d not in the matcher of %d patterns", p.base, p.base+p.n, r.matcher.Len())
	}
	if r.Skipped()["YARA file does not compile"] != 1 || r.Skipped()["YARA rule without strings"] != 1 {
		t.Errorf("skips %v", r.Skipped())
	}

	res, err := r.Scan(context.Background(), &Object{Name: "x", Data: []byte("hello world, hello glassav")}, ScanOptions{AllMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Body.Sig.UNOFFICIAL", "YARA.Hello.UNOFFICIAL", "YARA.Count.UNOFFICIAL", "YARA.NotAbsent.UNOFFICIAL", "YARA.UsesHidden.UNOFFICIAL"}
	if got := names(res.Matches); got != names(matchesNamed(want)) {
		t.Errorf("matches %s, want %s", got, names(matchesNamed(want)))
	}
	i := slices.IndexFunc(res.Matches, func(m Match) bool { return m.Name == "YARA.Hello.UNOFFICIAL" })
	if i < 0 {
		t.Fatal("no YARA.Hello")
	}
	m := res.Matches[i]
	if m.Kind != KindYARA || m.Offset != 0 || m.Meta["author"] != "tests" || m.Meta["score"] != int64(7) || !slices.Equal(m.Tags, []string{"greeting"}) {
		t.Errorf("YARA.Hello match %+v", m)
	}
	if m.Source.File != filepath.Join(dir, "r.yar") || m.Source.Line != 2 {
		t.Errorf("source %+v", m.Source)
	}

	// Without --allmatch the ClamAV body signature comes first, as clamscan
	// orders YARA rules with the logical signatures.
	res, err = r.Scan(context.Background(), &Object{Name: "x", Data: []byte("hello world, hello glassav")}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Matches); got != "Body.Sig.UNOFFICIAL" {
		t.Errorf("first match %s", got)
	}
	res, err = r.Scan(context.Background(), &Object{Name: "y", Data: []byte("nothing here")}, ScanOptions{AllMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Matches); got != "YARA.NotAbsent.UNOFFICIAL" {
		t.Errorf("matches on clean data: %s", got)
	}
}

func matchesNamed(ns []string) []Match {
	var out []Match
	for _, n := range ns {
		out = append(out, Match{Name: n})
	}
	return out
}

func hexEscape(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "\\x%02x", c)
	}
	return s.String()
}

// BenchmarkScanYARA scans the test binary with 500 YARA rules (hex, text
// and regular-expression strings cut from it, half of them absent) through
// the engine's matcher and Rules.Evaluate.
func BenchmarkScanYARA(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		b.Fatal(err)
	}
	var src strings.Builder
	for i := range 500 {
		off := (i * 7919 * 97) % (len(data) - 16)
		cut := data[off : off+8]
		if i%2 == 1 {
			cut = []byte{byte(i), 0xfe, byte(i >> 8), 0xfd, 0x11, 0x22, 0x33, 0x44}
		}
		switch i % 3 {
		case 0:
			fmt.Fprintf(&src, "rule r%d { strings: $a = { % X } condition: $a }\n", i, cut)
		case 1:
			fmt.Fprintf(&src, "rule r%d { strings: $a = \"%s\" nocase condition: $a at %d or #a > 1 }\n", i, hexEscape(cut), off)
		default:
			fmt.Fprintf(&src, "rule r%d { strings: $a = /\\x%02x\\x%02x.\\x%02x/ condition: $a }\n", i, cut[0], cut[1], cut[3])
		}
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bench.yar"), []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := Load(context.Background(), LoadOptions{Paths: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	if len(r.yara) != 1 {
		b.Fatalf("rules did not compile: %v", r.Warnings())
	}
	o := &Object{Name: "exe", Data: data}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := r.Scan(context.Background(), o, ScanOptions{AllMatch: true}); err != nil {
			b.Fatal(err)
		}
	}
}
