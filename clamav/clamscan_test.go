package clamav

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
)

// clamscanBin returns the clamscan binary for the differential tests, which
// run only with GLASSAV_CLAMSCAN=1 (they start clamscan a hundred times).
func clamscanBin(t *testing.T) string {
	t.Helper()
	if os.Getenv("GLASSAV_CLAMSCAN") != "1" {
		t.Skip("set GLASSAV_CLAMSCAN=1 to re-check the tables against clamscan")
	}
	p, err := exec.LookPath("clamscan")
	if err != nil {
		t.Fatalf("clamscan not found: %v", err)
	}
	return p
}

// TestHexAcceptanceClamscan re-checks hexAcceptance with clamscan.
func TestHexAcceptanceClamscan(t *testing.T) {
	bin := clamscanBin(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	db := filepath.Join(dir, "x.ndb")
	for _, tt := range hexAcceptance {
		os.WriteFile(db, []byte("A:0:*:"+tt.hex+"\n"), 0o644)
		err := exec.Command(bin, "--no-summary", "-d", db, empty).Run()
		if (err == nil) != tt.ok {
			t.Errorf("%s: clamscan err = %v, table says loads: %v", tt.hex, err, tt.ok)
		}
	}
}

// TestLogicClamscan re-checks logicCases with clamscan.
func TestLogicClamscan(t *testing.T) {
	bin := clamscanBin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte(logicData), 0o644)
	db := filepath.Join(dir, "x.ldb")
	for _, tt := range logicCases {
		os.WriteFile(db, []byte("L;Engine:51-255,Target:0;"+tt.expr+";61616161;62626262;63636363\n"), 0o644)
		out, _ := exec.Command(bin, "--no-summary", "-d", db, data).CombinedOutput()
		if found := strings.Contains(string(out), "FOUND"); found != tt.want {
			t.Errorf("%s: clamscan says %q, table says found: %v", tt.expr, out, tt.want)
		}
	}
}

// TestTypeNamesClamscan checks that a logical signature with
// Container:NAME loads (or is skipped) as in clamscan, for every type name
// glassav knows.
func TestTypeNamesClamscan(t *testing.T) {
	bin := clamscanBin(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	db := filepath.Join(dir, "x.ldb")
	for _, ty := range filetype.Types() {
		line := "L;Engine:51-255,Target:0,Container:" + ty.String() + ";0;616263\n"
		os.WriteFile(db, []byte(line), 0o644)
		out, _ := exec.Command(bin, "-d", db, empty).CombinedOutput()
		want := strings.Contains(string(out), "Known viruses: 1")
		set := ir.NewSet()
		if err := LoadFile(set, "x.ldb", []byte(line), Options{}); err != nil {
			t.Fatal(err)
		}
		if got := set.Signatures == 1; got != want {
			t.Errorf("Container:%s: loaded %v, clamscan %v", ty, got, want)
		}
	}
}

func TestDirPrefersNewerClamscan(t *testing.T) {
	bin := clamscanBin(t)
	for _, tt := range []struct{ cvd, cld, want int }{{3, 5, 9}, {6, 4, 10}} {
		dir := cvdCLDDir(t, tt.cvd, tt.cld)
		empty := filepath.Join(t.TempDir(), "empty")
		os.WriteFile(empty, nil, 0o644)
		out, _ := exec.Command(bin, "-d", dir, empty).CombinedOutput()
		if want := fmt.Sprintf("Known viruses: %d\n", tt.want); !strings.Contains(string(out), want) {
			t.Errorf("cvd %d, cld %d: clamscan says %q", tt.cvd, tt.cld, out)
		}
	}
}
