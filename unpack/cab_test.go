package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// buildCab packs the payload and a second, larger member (several MSZIP
// blocks) with gcab; zip selects MSZIP over stored folders.
func buildCab(t testing.TB, zip bool) (path string, second []byte) {
	t.Helper()
	dir := t.TempDir()
	second = bytes.Repeat(readFile(t, "/usr/bin/false"), 4)
	if err := os.WriteFile(filepath.Join(dir, "payload.exe"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "second.bin"), second, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", "-n"}
	if zip {
		args = append(args, "-z")
	}
	runTool(t, dir, "gcab", append(args, "out.cab", "payload.exe", "second.bin")...)
	return filepath.Join(dir, "out.cab"), second
}

func TestCab(t *testing.T) {
	payload := readPayload(t)
	for _, zip := range []bool{false, true} {
		name := map[bool]string{false: "stored", true: "mszip"}[zip]
		t.Run(name, func(t *testing.T) {
			path, second := buildCab(t, zip)
			ms := unpackOK(t, cabFormat(), readFile(t, path))
			if len(ms) != 2 || ms[0].Name != "payload.exe" || ms[1].Name != "second.bin" {
				t.Fatalf("members %v, want payload.exe, second.bin in order", memberNames(ms))
			}
			wantMember(t, ms, "payload.exe", payload)
			wantMember(t, ms, "second.bin", second)
		})
	}
}

// TestCabSFX opens a cabinet behind an executable stub.
func TestCabSFX(t *testing.T) {
	path, _ := buildCab(t, true)
	sfx := append(readFile(t, "/usr/bin/false"), readFile(t, path)...)
	wantMember(t, unpackOK(t, cabFormat(), sfx), "payload.exe", readPayload(t))
}

func TestCabClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.cab")
	wantMember(t, unpackOK(t, cabFormat(), readFile(t, path)), "clam.exe", clam)
	clamscanFinds(t, path, clam)
}

func TestCabDamaged(t *testing.T) {
	path, _ := buildCab(t, true)
	checkDamaged(t, cabFormat(), readFile(t, path))
}

func TestCabPeer(t *testing.T) {
	path, _ := buildCab(t, true)
	clamscanFinds(t, path, readPayload(t))
}

func memberNames(ms []Member) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return s
}

func FuzzUnpackCab(f *testing.F) {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.cab"); err == nil {
		seeds = append(seeds, data)
	}
	seeds = append(seeds, []byte("MSCF\x00\x00\x00\x00"))
	fuzzFormat(f, cabFormat(), seeds...)
}
