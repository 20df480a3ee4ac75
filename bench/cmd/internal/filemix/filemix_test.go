package filemix

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree writes files of the given sizes (distinct contents unless dup) under
// a temporary directory and returns it.
func tree(t *testing.T, sizes []int, dups int) string {
	t.Helper()
	dir := t.TempDir()
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, n/2+1)[:n]
		sub := filepath.Join(dir, string(rune('a'+i%3)))
		os.MkdirAll(sub, 0o755)
		if err := os.WriteFile(filepath.Join(sub, "f"+string(rune('A'+i%26))+string(rune('a'+i/26))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range dups { // copies of the first file
		b, _ := os.ReadFile(filepath.Join(dir, "a", "fAa"))
		os.WriteFile(filepath.Join(dir, "dup"+string(rune('a'+i))), b, 0o644)
	}
	os.Symlink(filepath.Join(dir, "a", "fAa"), filepath.Join(dir, "link"))
	return dir
}

func TestPick(t *testing.T) {
	sizes := []int{10, 100, 150, 200, 300, 500, 700, 900, 1000, 1500, 2000, 3000, 4000, 5000, 6000}
	tests := []struct {
		name      string
		min, max  int64
		files     int
		dups      int
		wantFiles int
		wantBands int
	}{
		{"all bands", 100, 6400, 6, 0, 6, 3},       // bands 100-400, 400-1600, 1600-6400
		{"uneven share", 100, 6400, 4, 0, 4, 3},    // 2+1+1
		{"short band", 100, 6400, 15, 0, 14, 3},    // 4+5+5 candidates, not 15
		{"duplicates once", 100, 400, 10, 3, 4, 1}, // 100,150,200,300; copies of 10-byte file excluded by size
		{"max bound", 1000, 1000, 5, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, sizes, tt.dups)
			o := Options{Roots: []string{dir}, MinSize: tt.min, MaxSize: tt.max, Files: tt.files, Seed: 7}
			m, err := Pick(o)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) != tt.wantFiles || len(m.Bands) != tt.wantBands {
				t.Fatalf("%d files, bands %q; want %d files, %d bands", len(m.Files), m.Bands, tt.wantFiles, tt.wantBands)
			}
			var total int64
			for i, f := range m.Files {
				if int64(len(f)) < tt.min || int64(len(f)) > tt.max {
					t.Errorf("%s: %d bytes outside %d-%d", m.Names[i], len(f), tt.min, tt.max)
				}
				if strings.HasSuffix(m.Names[i], "link") {
					t.Errorf("followed a symlink: %s", m.Names[i])
				}
				total += int64(len(f))
			}
			if total != m.Total {
				t.Errorf("Total %d, files sum to %d", m.Total, total)
			}
			again, err := Pick(o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.Names, m.Names) || again.ID != m.ID {
				t.Errorf("not deterministic: %v then %v", m.Names, again.Names)
			}
		})
	}
}

func TestPickBalance(t *testing.T) {
	var sizes []int
	for i := range 60 {
		sizes = append(sizes, 100+i*100) // 100..6000
	}
	dir := tree(t, sizes, 0)
	m, err := Pick(Options{Roots: []string{dir}, MinSize: 100, MaxSize: 6400, Files: 9, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var per [3]int
	for _, f := range m.Files {
		switch {
		case len(f) < 400:
			per[0]++
		case len(f) < 1600:
			per[1]++
		default:
			per[2]++
		}
	}
	if per != [3]int{3, 3, 3} {
		t.Errorf("per band %v, want 3 each", per)
	}
	other, _ := Pick(Options{Roots: []string{dir}, MinSize: 100, MaxSize: 6400, Files: 9, Seed: 2})
	if other.ID == m.ID {
		t.Errorf("seeds 1 and 2 chose the same mix")
	}
}

func TestPickErrors(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{Roots: []string{dir}, MinSize: 0, MaxSize: 10, Files: 1},
		{Roots: []string{dir}, MinSize: 10, MaxSize: 5, Files: 1},
		{Roots: []string{dir}, MinSize: 1, MaxSize: 10, Files: 0},
		{Roots: []string{dir}, MinSize: 1, MaxSize: 10, Files: 1}, // empty
		{Roots: []string{filepath.Join(dir, "missing")}, MinSize: 1, MaxSize: 10, Files: 1},
	} {
		if _, err := Pick(o); err == nil {
			t.Errorf("Pick(%+v): no error", o)
		}
	}
}
