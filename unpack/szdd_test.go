package unpack

import (
	"os"
	"path/filepath"
	"testing"
)

// buildSZDD compresses content with mscompress, returning the path.
func buildSZDD(t testing.TB, content []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload.exe"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "mscompress", "payload.exe")
	return filepath.Join(dir, "payload.exe_")
}

func TestSZDD(t *testing.T) {
	payload := readPayload(t)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"binary", payload},
		{"empty", nil},
		{"spaces", []byte("                                        leading spaces match the preset window")},
		{"repeats", []byte("abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := unpackOK(t, szddFormat(), readFile(t, buildSZDD(t, tc.content)))
			if len(ms) != 1 {
				t.Fatalf("%d members, want 1", len(ms))
			}
			if string(ms[0].Data) != string(tc.content) {
				t.Fatalf("member has %d bytes, want the %d compressed", len(ms[0].Data), len(tc.content))
			}
		})
	}
}

func TestSZDDClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.exe.szdd")
	ms := unpackOK(t, szddFormat(), readFile(t, path))
	if len(ms) != 1 || string(ms[0].Data) != string(clam) {
		t.Fatalf("got %d members, want clam.exe", len(ms))
	}
	clamscanFinds(t, path, clam)
}

func TestSZDDDamaged(t *testing.T) {
	checkDamaged(t, szddFormat(), readFile(t, buildSZDD(t, readPayload(t))))
}

func TestSZDDPeer(t *testing.T) {
	clamscanFinds(t, buildSZDD(t, readPayload(t)), readPayload(t))
}

func FuzzUnpackSZDD(f *testing.F) {
	seeds := [][]byte{
		append(append([]byte{}, szddMagic...), 'A', 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0),
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe.szdd"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, szddFormat(), seeds...)
}
