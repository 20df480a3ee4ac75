package macho

import (
	"bytes"
	"debug/macho"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goTestdata returns Go's debug/macho test files, decoded.
func goTestdata(t testing.TB) map[string][]byte {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(goroot(), "src", "debug", "macho", "testdata", "*.base64"))
	if len(ms) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Go's debug/macho testdata missing")
		}
		t.Skip("skipping: Go's debug/macho testdata not present")
	}
	out := map[string][]byte{}
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(m)] = d
	}
	return out
}

func goroot() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	return "/usr/local/go"
}

// TestParseAgainstDebugMacho checks headers, segments and sections against
// Go's reader.
func TestParseAgainstDebugMacho(t *testing.T) {
	for name, d := range goTestdata(t) {
		switch Detect(d) {
		case KindThin:
			g, err := macho.NewFile(bytes.NewReader(d))
			if err != nil {
				// A file debug/macho rejects (a bad symbol table) is
				// still read as yara reads it.
				if !Parse(d).Parsed {
					t.Errorf("%s: not parsed", name)
				}
				continue
			}
			compare(t, name, Parse(d), g)
		case KindFat:
			g, err := macho.NewFatFile(bytes.NewReader(d))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fat := ParseFat(d)
			if int(fat.NArch) != len(g.Arches) || len(fat.Files) != len(g.Arches) {
				t.Fatalf("%s: %d arches, debug/macho %d", name, fat.NArch, len(g.Arches))
			}
			for i, a := range g.Arches {
				if fat.Arches[i].Offset != uint64(a.Offset) || fat.Files[i] == nil {
					t.Fatalf("%s: arch %d at %d, debug/macho %d", name, i, fat.Arches[i].Offset, a.Offset)
				}
				compare(t, name, fat.Files[i], a.File)
			}
		default:
			t.Errorf("%s: not detected", name)
		}
	}
}

func compare(t *testing.T, name string, f *File, g *macho.File) {
	t.Helper()
	if !f.Parsed || f.CPUType != uint32(g.Cpu) || f.NCmds != g.Ncmd || f.FileType != uint32(g.Type) {
		t.Errorf("%s: header %+v, debug/macho %+v", name, f, g.FileHeader)
	}
	var segs []*macho.Segment
	for _, l := range g.Loads {
		if s, ok := l.(*macho.Segment); ok {
			segs = append(segs, s)
		}
	}
	if len(segs) != len(f.Segments) {
		t.Fatalf("%s: %d segments, debug/macho %d", name, len(f.Segments), len(segs))
	}
	nsect := 0
	for i, s := range segs {
		o := f.Segments[i]
		if string(o.Name) != s.Name || o.VMAddr != s.Addr || o.FileOff != s.Offset || int(o.NSects) != int(s.Nsect) {
			t.Errorf("%s: segment %d: %+v, debug/macho %+v", name, i, o, s.SegmentHeader)
		}
		for j, sec := range o.Sections {
			gs := g.Sections[nsect+j]
			if string(sec.SectName) != gs.Name || sec.Addr != gs.Addr || sec.Offset != gs.Offset {
				t.Errorf("%s: section %d.%d: %s, debug/macho %s", name, i, j, sec.SectName, gs.Name)
			}
		}
		nsect += len(o.Sections)
	}
}

func TestTruncated(t *testing.T) {
	for _, d := range goTestdata(t) {
		for n := 0; n < len(d); n += 1 + n/8 {
			b := d[:n:n]
			switch Detect(b) {
			case KindThin:
				Parse(b)
			case KindFat:
				ParseFat(b)
			}
		}
	}
}

// TestFatBudget checks that architectures all covering the whole data are
// parsed only up to the budget.
func TestFatBudget(t *testing.T) {
	const n = 1000
	d := make([]byte, 8+20*n+64)
	copy(d, "\xca\xfe\xba\xbe")
	d[7] = 0xe8
	d[6] = 0x03 // 1000 arches
	for i := 0; i < n; i++ {
		o := 8 + 20*i
		d[o+15] = byte(len(d))
		d[o+14] = byte(len(d) >> 8)
	}
	fat := ParseFat(d)
	parsed := 0
	for _, f := range fat.Files {
		if f != nil {
			parsed++
		}
	}
	if len(fat.Arches) != n || parsed >= n || parsed == 0 {
		t.Fatalf("%d arches, %d parsed", len(fat.Arches), parsed)
	}
}

func FuzzParse(f *testing.F) {
	for _, d := range goTestdata(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		switch Detect(b) {
		case KindThin:
			m := Parse(b)
			if len(m.Segments) > len(b)/8 {
				t.Fatalf("%d segments from %d bytes", len(m.Segments), len(b))
			}
		case KindFat:
			ParseFat(b)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	files := goTestdata(b)
	thin, fat := files["gcc-amd64-darwin-exec-debug.base64"], files["fat-gcc-386-amd64-darwin-exec.base64"]
	b.Run("thin", func(b *testing.B) {
		b.SetBytes(int64(len(thin)))
		for b.Loop() {
			Parse(thin)
		}
	})
	b.Run("fat", func(b *testing.B) {
		b.SetBytes(int64(len(fat)))
		for b.Loop() {
			ParseFat(fat)
		}
	})
}
