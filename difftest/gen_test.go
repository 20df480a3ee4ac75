package difftest

import (
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDeterministic checks that a seed fixes every generated database.
func TestDeterministic(t *testing.T) {
	ps := samplePools(t)
	gen := func() []DB {
		g := New(7)
		var dbs []DB
		for _, f := range Features() {
			if f.Name == "imp/md5" {
				continue // asks sigtool; deterministic too, but slow
			}
			dbs = append(dbs, g.Generate(f, ps[f.Pool]))
		}
		return dbs
	}
	a, b := gen(), gen()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generators with the same seed disagree")
	}
	ps2, err := SamplePools(New(seed(t)), filesPerPool)
	if err != nil {
		t.Fatal(err)
	}
	for p, files := range ps {
		if len(files) != len(ps2[p]) || files[0].Path != ps2[p][0].Path {
			t.Errorf("pool %s: sampling is not reproducible", p)
		}
	}
}

var sigtoolSection = regexp.MustCompile(`Section\{(\d+)\}: (\d+):([0-9a-f]{32})`)

// TestSectionLayoutAgreesWithSigtool checks our PE section extents against
// the section hashes `sigtool --mdb` prints.
func TestSectionLayoutAgreesWithSigtool(t *testing.T) {
	if _, err := exec.LookPath("sigtool"); err != nil {
		need(t, "sigtool", err)
	}
	ps := samplePools(t)
	checked := 0
	for _, f := range ps[PoolPE][:min(8, len(ps[PoolPE]))] {
		out, err := exec.Command("sigtool", "--mdb", f.Path).CombinedOutput()
		if err != nil {
			t.Fatalf("sigtool --mdb %s: %v", f.Path, err)
		}
		// sigtool's section numbers are not always the section table's
		// (on Go's gcc-amd64-mingw-exec they are shifted by one), so each
		// hash it prints must be the hash of one of our sections.
		ours := map[string]bool{}
		for _, s := range f.Exe.Sections {
			ours[SectionHashSig(MD5, f.Data[s.Off:s.Off+s.Size], "x", false)] = true
		}
		for _, m := range sigtoolSection.FindAllStringSubmatch(string(out), -1) {
			if want := m[2] + ":" + m[3] + ":x"; !ours[want] {
				t.Errorf("%s: sigtool's section %s hash %s is none of our sections'", f.Path, m[1], want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no sections compared")
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		in   string
		hits []Detection
		ok   []string
	}{
		{"", nil, nil},
		{"/a: OK\n", nil, []string{"/a"}},
		{"/a: X.UNOFFICIAL FOUND\n/a: X.UNOFFICIAL FOUND\n/b: OK\n", []Detection{{"/a", "X.UNOFFICIAL"}}, []string{"/b"}},
		{"/c: d: Y FOUND\n/a: Z FOUND\n", []Detection{{"/a", "Z"}, {"/c: d", "Y"}}, nil},
		{"/e: Empty file\nLibClamAV Warning: x\n", nil, nil},
	}
	for _, tt := range tests {
		hits, ok := ParseReport([]byte(tt.in))
		if !slices.Equal(hits, tt.hits) || !slices.Equal(ok, tt.ok) {
			t.Errorf("ParseReport(%q) = %v, %v; want %v, %v", tt.in, hits, ok, tt.hits, tt.ok)
		}
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte("/a: X FOUND\n/b: OK\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hits, _ := ParseReport(b)
		for _, h := range hits {
			if strings.Contains(h.Name, "\n") {
				t.Fatalf("name with newline: %q", h.Name)
			}
		}
	})
}

func TestScanArgs(t *testing.T) {
	args := ClamscanArgs([]string{"d.ndb"}, []string{"-f"}, true, "--scan-html=yes", "--foo=1")
	if !slices.Contains(args, "--scan-html=yes") || slices.Contains(args, "--scan-html=no") || !slices.Contains(args, "--foo=1") {
		t.Fatalf("ClamscanArgs = %v", args)
	}
	if !slices.Equal(args[len(args)-5:], []string{"--allmatch", "-d", "d.ndb", "--", "-f"}) {
		t.Fatalf("ClamscanArgs tail = %v", args[len(args)-5:])
	}
	// glassav gets exactly clamscan's options.
	want := append([]string{"scan"}, ClamscanArgs([]string{"d.ndb"}, []string{"f"}, false, "--scan-html=no")...)
	if got := GlassavArgs([]string{"d.ndb"}, []string{"f"}, false, "--scan-html=no"); !slices.Equal(got, want) {
		t.Fatalf("GlassavArgs = %v, want %v", got, want)
	}
}

func TestCountOverlapping(t *testing.T) {
	if n := countOverlapping([]byte("aaaa"), []byte("aa")); n != 3 {
		t.Fatalf("countOverlapping = %d, want 3", n)
	}
}

// FuzzParseExe feeds hostile bytes to the layout reader the generators use
// on every sampled file.
func FuzzParseExe(f *testing.F) {
	f.Add([]byte("MZ"))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseExe(b)
		if err != nil {
			return
		}
		for _, s := range e.Sections {
			if s.Off < 0 || s.Size < 0 || s.Off+s.Size > int64(len(b)) && s.Size > 0 {
				t.Fatalf("section %+v outside %d bytes", s, len(b))
			}
		}
		if e.EP >= int64(len(b)) {
			t.Fatalf("EP %d outside %d bytes", e.EP, len(b))
		}
	})
}
