package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// secondPE returns clam.exe with another timestamp: a different, valid
// PE whose header bytes appear nowhere in clam.exe itself.
func secondPE(t *testing.T) (first, second []byte) {
	t.Helper()
	first = readFile(t, testFile(t, "clam.exe"))
	second = bytes.Clone(first)
	copy(second[0x108:], "GLAV")
	return first, second
}

func TestEmbeddedPE(t *testing.T) {
	first, second := secondPE(t)
	for _, tc := range []struct {
		name string
		data []byte
		at   int // -1: nothing carved
	}{
		{"appended", append(bytes.Clone(first), second...), len(first)},
		{"after junk MZ", append(append(bytes.Clone(first), []byte("MZ not a header, MZ\x00\x00")...), second...), len(first) + 21},
		{"lone PE", first, -1},
		{"truncated", append(bytes.Clone(first), second[:300]...), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := unpackOK(t, embeddedPEFormat(), tc.data)
			if tc.at < 0 {
				if len(ms) != 0 {
					t.Fatalf("carved %d members at %d", len(ms), ms[0].Offset)
				}
				return
			}
			if len(ms) != 1 || ms[0].Offset != int64(tc.at) || !bytes.Equal(ms[0].Data, tc.data[tc.at:]) {
				t.Fatalf("members %+v, want one at %d", ms, tc.at)
			}
		})
	}
}

// TestEmbeddedPEClamTestFile: ClamAV's test corpus has clam.exe inside an
// FSG-packed executable, found by carving at offset 6112.
func TestEmbeddedPEClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, embeddedPEFormat(), readFile(t, testFile(t, "clam-fsg.exe")))
	if len(ms) != 1 || ms[0].Offset != 6112 || !bytes.HasPrefix(ms[0].Data, clam) {
		t.Fatalf("got %d members (first at %d), want clam.exe at 6112", len(ms), offsetOf(ms))
	}
}

func offsetOf(ms []Member) int64 {
	if len(ms) == 0 {
		return -1
	}
	return ms[0].Offset
}

// TestEmbeddedPEPeer: a signature anchored at offset 0 of a PE target
// matches the second executable only once it is carved out; clamscan
// must detect it the same way.
func TestEmbeddedPEPeer(t *testing.T) {
	first, second := secondPE(t)
	path := filepath.Join(t.TempDir(), "two.exe")
	if err := os.WriteFile(path, append(bytes.Clone(first), second...), 0o644); err != nil {
		t.Fatal(err)
	}
	clamscanFindsNdb(t, path, "1:0:", second[:0x110])
}

func FuzzUnpackEmbeddedPE(f *testing.F) {
	var seeds [][]byte
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-fsg.exe"); err == nil {
		seeds = append(seeds, d)
	}
	seeds = append(seeds, []byte("MZ....MZ"))
	fuzzFormat(f, embeddedPEFormat(), seeds...)
}
