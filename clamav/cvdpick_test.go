package clamav

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/ir"
)

// TestDirPrefersNewer: a directory with NAME.cvd and NAME.cld loads only
// the newer of the two (clamscan agrees: TestDirPrefersNewerClamscan).
func TestDirPrefersNewer(t *testing.T) {
	for _, tt := range []struct {
		cvd, cld, want int // test-N.cvd as daily.cvd, test-N as daily.cld, Known viruses
	}{
		{3, 5, 9},
		{6, 4, 10},
	} {
		dir := cvdCLDDir(t, tt.cvd, tt.cld)
		set := ir.NewSet()
		if err := Load(t.Context(), set, []string{dir}, Options{}); err != nil {
			t.Fatal(err)
		}
		if set.Signatures != tt.want {
			t.Errorf("cvd %d, cld %d: Signatures %d, want %d", tt.cvd, tt.cld, set.Signatures, tt.want)
		}
	}
}

// cvdCLDDir writes test-<cvd>.cvd as daily.cvd and test-<cld>.cvd,
// converted, as daily.cld into a new directory.
func cvdCLDDir(t *testing.T, cvd, cld int) string {
	t.Helper()
	dir := t.TempDir()
	_, a := readTestCVD(t, cvd)
	if err := os.WriteFile(filepath.Join(dir, "daily.cvd"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	name, b := readTestCVD(t, cld)
	c, err := ReadContainer(name, b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.MarshalCLD()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daily.cld"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
