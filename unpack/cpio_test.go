package unpack

import (
	"os"
	"path/filepath"
	"testing"
)

// buildCpio packs the payload (and a directory, which is skipped) with
// GNU cpio in format fmt and returns the archive's path.
func buildCpio(t *testing.T, format string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "payload"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "sh", "-c", "printf 'sub\\nsub/payload\\n' | cpio --quiet -o -H "+format+" > a.cpio")
	return filepath.Join(dir, "a.cpio")
}

var cpioFormats = []string{"bin", "odc", "newc", "crc"}

func TestCpio(t *testing.T) {
	payload := readPayload(t)
	for _, f := range cpioFormats {
		t.Run(f, func(t *testing.T) {
			ms := unpackOK(t, cpioFormat(), readFile(t, buildCpio(t, f)))
			if len(ms) != 1 {
				t.Fatalf("%d members, want the one regular file", len(ms))
			}
			m := wantMember(t, ms, "payload", payload)
			if m.Name != "sub/payload" {
				t.Errorf("member name %q, want sub/payload", m.Name)
			}
		})
	}
}

// TestCpioClamTestFiles reads the corpus's cpio files, which include the
// old binary format in both byte orders.
func TestCpioClamTestFiles(t *testing.T) {
	want := readFile(t, testFile(t, "clam.exe"))
	for _, name := range []string{"clam.bin-le.cpio", "clam.bin-be.cpio", "clam.odc.cpio", "clam.newc.cpio"} {
		t.Run(name, func(t *testing.T) {
			wantMember(t, unpackOK(t, cpioFormat(), readFile(t, testFile(t, name))), "clam.exe", want)
		})
	}
}

func TestCpioDamaged(t *testing.T) {
	for _, f := range cpioFormats {
		t.Run(f, func(t *testing.T) {
			checkDamaged(t, cpioFormat(), readFile(t, buildCpio(t, f)))
		})
	}
}

func TestCpioPeer(t *testing.T) {
	clamscanFinds(t, buildCpio(t, "newc"), readPayload(t))
}

func FuzzUnpackCpio(f *testing.F) {
	var seeds [][]byte
	for _, name := range []string{"clam.bin-le.cpio", "clam.bin-be.cpio", "clam.odc.cpio", "clam.newc.cpio"} {
		if d, err := os.ReadFile(filepath.Join("/usr/share/clamav-testfiles", name)); err == nil {
			seeds = append(seeds, d)
		}
	}
	fuzzFormat(f, cpioFormat(), seeds...)
}
