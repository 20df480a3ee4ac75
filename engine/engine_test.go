package engine

import (
	"bytes"
	"context"
	"crypto/md5"
	"os"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
	"github.com/glassav/glassav/match"
)

// ruleSet builds a Set by hand: one rule per literal, offset constraint
// given per pattern.
func ruleSet(t *testing.T, defs []patDef) *ir.Set {
	t.Helper()
	set := ir.NewSet()
	for i, d := range defs {
		p := set.AddPattern(ir.Pattern{Node: match.Lit([]byte(d.lit)), Offset: d.off})
		set.Rules = append(set.Rules, ir.Rule{Name: d.name, Source: ir.Source{File: "t.ndb", Line: i + 1}, Subs: []int{p}, Target: d.target})
		set.Signatures++
	}
	return set
}

type patDef struct {
	name   string
	lit    string
	off    ir.Offset
	target ir.Target
}

func names(ms []Match) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return strings.Join(s, ",")
}

func TestScanOffsets(t *testing.T) {
	data := []byte("hello world, hello glassav; the end")
	tests := []struct {
		def  patDef
		want bool
	}{
		{patDef{"any", "glassav", ir.Offset{}, 0}, true},
		{patDef{"abs", "hello", ir.Offset{Anchor: ir.AnchorStart, N: 0}, 0}, true},
		{patDef{"absmiss", "hello", ir.Offset{Anchor: ir.AnchorStart, N: 1}, 0}, false},
		{patDef{"shift", "hello", ir.Offset{Anchor: ir.AnchorStart, N: 10, Shift: 3}, 0}, true},
		{patDef{"shiftmiss", "hello", ir.Offset{Anchor: ir.AnchorStart, N: 14, Shift: 10}, 0}, false},
		{patDef{"eof", "end", ir.Offset{Anchor: ir.AnchorEOF, N: 3}, 0}, true},
		{patDef{"eofmiss", "end", ir.Offset{Anchor: ir.AnchorEOF, N: 4}, 0}, false},
		{patDef{"ep", "hello", ir.Offset{Anchor: ir.AnchorEntryPoint}, 0}, false}, // not an executable
		{patDef{"pe-target", "hello", ir.Offset{}, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.def.name, func(t *testing.T) {
			r, err := Compile(ruleSet(t, []patDef{tt.def}))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Scan(context.Background(), &Object{Name: "x", Data: data}, ScanOptions{AllMatch: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Matches) == 1; got != tt.want {
				t.Fatalf("matched=%v want %v (%s)", got, tt.want, names(res.Matches))
			}
		})
	}
}

func TestScanAllMatchAndHashes(t *testing.T) {
	data := []byte("some content with MARKER-ONE and MARKER-TWO inside")
	set := ruleSet(t, []patDef{{name: "One", lit: "MARKER-ONE"}, {name: "Two", lit: "MARKER-TWO"}})
	sum := md5.Sum(data)
	set.Hashes.Add(ir.HashFile, sum[:], int64(len(data)), "Hashed", 0, ir.Source{File: "t.hdb", Line: 1})
	r, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := r.Scan(ctx, &Object{Data: data}, ScanOptions{AllMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Matches); got != "One,Two,Hashed" {
		t.Errorf("allmatch = %q", got)
	}
	if res.Hashes["md5"] == "" {
		t.Errorf("md5 not reported: %v", res.Hashes)
	}
	res, _ = r.Scan(ctx, &Object{Data: data}, ScanOptions{})
	if got := names(res.Matches); got != "One" {
		t.Errorf("first match = %q", got)
	}
	// A different size is never hashed.
	res, _ = r.Scan(ctx, &Object{Data: append(bytes.Clone(data), 'x')}, ScanOptions{AllMatch: true})
	if got := names(res.Matches); got != "One,Two" || len(res.Hashes) != 0 {
		t.Errorf("other size: %q hashes %v", got, res.Hashes)
	}
}

func TestAllowList(t *testing.T) {
	data := []byte("MARKER-ONE")
	set := ruleSet(t, []patDef{{name: "One", lit: "MARKER-ONE"}})
	sum := md5.Sum(data)
	set.Hashes.Add(ir.HashFile, sum[:], int64(len(data)), "clean", ir.HashAllow, ir.Source{File: "t.fp"})
	r, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := r.Scan(context.Background(), &Object{Data: data}, ScanOptions{AllMatch: true})
	if len(res.Matches) != 0 {
		t.Fatalf("allow-listed object matched %s", names(res.Matches))
	}
}

func TestBuiltinEICAR(t *testing.T) {
	set := ir.NewSet()
	if err := loadBuiltin(set, clamavOptions(false)); err != nil {
		t.Fatal(err)
	}
	r, err := Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	eicar := []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)
	for _, data := range [][]byte{eicar, append(bytes.Clone(eicar), "\r\n"...)} {
		res, err := r.Scan(context.Background(), &Object{Data: data}, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Matches); got != "Glassav.Test.EICAR" {
			t.Errorf("EICAR (%d bytes): got %q", len(data), got)
		}
	}
	res, _ := r.Scan(context.Background(), &Object{Data: []byte("nothing to see")}, ScanOptions{})
	if len(res.Matches) != 0 {
		t.Errorf("clean data matched %s", names(res.Matches))
	}
}

func TestLoadErrorNamesLine(t *testing.T) {
	dir := t.TempDir()
	db := dir + "/bad.ndb"
	if err := os.WriteFile(db, []byte("Good:0:*:414243444546\nBad:0:*:4142zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), LoadOptions{Paths: []string{db}})
	if err == nil || !strings.Contains(err.Error(), db+":2") {
		t.Fatalf("error %v does not name %s:2", err, db)
	}
}

func BenchmarkScanBuiltin(b *testing.B) {
	set := ir.NewSet()
	if err := loadBuiltin(set, clamavOptions(false)); err != nil {
		b.Fatal(err)
	}
	r, err := Compile(set)
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 1<<16)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := r.Scan(context.Background(), &Object{Data: data}, ScanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFTMTypes checks that .ftm entries reach type detection: a made-up
// magic turns a file into CL_TYPE_ELF, so a target-6 signature applies.
func TestFTMTypes(t *testing.T) {
	dir := t.TempDir()
	ftm := dir + "/x.ftm"
	ndb := dir + "/x.ndb"
	// magictype 0: literal "GLASSAVX" at offset 0 → CL_TYPE_ELF.
	if err := os.WriteFile(ftm, []byte("0:0:474c415353415658:Test magic:CL_TYPE_ANY:CL_TYPE_ELF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ndb, []byte("ElfOnly:6:*:4d41524b4552\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := []byte("GLASSAVX some text MARKER more text")
	for _, tt := range []struct {
		dbs  []string
		want string
	}{
		{[]string{ndb}, ""},
		{[]string{ftm, ndb}, "ElfOnly.UNOFFICIAL"},
	} {
		r, err := Load(context.Background(), LoadOptions{Paths: tt.dbs})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Scan(context.Background(), &Object{Data: data}, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Matches); got != tt.want {
			t.Errorf("databases %v: got %q (type %v), want %q", tt.dbs, got, res.Type, tt.want)
		}
	}
}
