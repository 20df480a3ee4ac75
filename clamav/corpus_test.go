package clamav

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/ir"
)

// TestCorpora loads the real-world databases under shared/testdata/clamav
// and checks clamscan's "Known viruses" for each (MANIFEST.md).
func TestCorpora(t *testing.T) {
	dir := sharedDir(t)
	tests := []struct {
		paths []string
		want  int
	}{
		{[]string{"ditekshen/clamav.ldb"}, 157},
		{[]string{"ditekshen/indicator_rmm.ldb"}, 18},
		{[]string{"rfxn-lmd/rfxn.ndb"}, 2035},
		{[]string{"rfxn-lmd/rfxn.hdb"}, 12735},
		{[]string{"ditekshen", "rfxn-lmd"}, 14945},
		{[]string{"clamav-unit-tests/unit_tests/input/pe_allmatch/alert-sigs"}, 78},
	}
	for _, tt := range tests {
		t.Run(filepath.Join(tt.paths...), func(t *testing.T) {
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(dir, p))
			}
			set := ir.NewSet()
			if err := Load(t.Context(), set, paths, Options{}); err != nil {
				t.Fatal(err)
			}
			if set.Signatures != tt.want {
				t.Errorf("Signatures = %d, want %d", set.Signatures, tt.want)
			}
		})
	}
}

// TestUsrHashes loads the generated 116,704-line hash databases.
func TestUsrHashes(t *testing.T) {
	dir := sharedDir(t)
	for _, name := range []string{"usr-hashes.hsb.gz", "usr-hashes.hdb.gz"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, name))
			if os.IsNotExist(err) {
				t.Skipf("%s not in this copy of shared/ (MANIFEST.md describes how to generate it)", name)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if _, err := io.Copy(&b, zr); err != nil {
				t.Fatal(err)
			}
			set := ir.NewSet()
			if err := LoadFile(set, name[:len(name)-3], b.Bytes(), Options{}); err != nil {
				t.Fatal(err)
			}
			if set.Signatures != 116704 {
				t.Errorf("Signatures = %d, want 116704", set.Signatures)
			}
		})
	}
}
