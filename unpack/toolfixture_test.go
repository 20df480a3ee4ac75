package unpack

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// The helpers here build container fixtures with the real archivers at
// test time and check what a format unpacks from them.

// payloadFile is a real executable every Debian system has; fixtures pack
// it and the tests compare the unpacked bytes with it.
const payloadFile = "/usr/bin/true"

func readPayload(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(payloadFile)
	if err != nil {
		t.Fatalf("reading the payload: %v", err)
	}
	return data
}

// runTool runs the archiver name with args in dir, skipping the test when
// it is not installed (failing under CI=true).
func runTool(t testing.TB, dir, name string, args ...string) {
	t.Helper()
	path := testenv.NeedTool(t, name)
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// unpackOK unpacks data under the default limits and fails on any error.
func unpackOK(t testing.TB, fm *Format, data []byte) []Member {
	t.Helper()
	ms, err := checkUnpack(t, fm, data, Limits{})
	if err != nil {
		t.Fatalf("%s: unpack: %v", fm.Name, err)
	}
	return ms
}

// wantMember fails unless ms holds a member called name (compared after
// the last path separator, / or \) whose bytes are want.
func wantMember(t testing.TB, ms []Member, name string, want []byte) Member {
	t.Helper()
	var names []string
	for _, m := range ms {
		base := m.Name[strings.LastIndexAny(m.Name, `/\`)+1:]
		if base == name {
			if !bytes.Equal(m.Data, want) {
				t.Fatalf("member %q: %d bytes differ from the %d expected", m.Name, len(m.Data), len(want))
			}
			return m
		}
		names = append(names, m.Name)
	}
	t.Fatalf("no member %q among %q", name, names)
	return Member{}
}

// checkDamaged unpacks truncated and bit-flipped copies of data: every
// one must end without a panic in an allowed error (checkUnpack), and
// each truncation of the archive body in an error.
func checkDamaged(t *testing.T, fm *Format, data []byte) {
	t.Helper()
	for _, frac := range []int{2, 3, 5} {
		cut := len(data) * (frac - 1) / frac
		_, err := checkUnpack(t, fm, data[:cut], Limits{})
		if err == nil {
			t.Errorf("%s: truncated at %d of %d bytes: no error", fm.Name, cut, len(data))
		}
	}
	for _, at := range []int{len(data) / 7, len(data) / 3, len(data) / 2, len(data) - 5} {
		if at < 0 || at >= len(data) {
			continue
		}
		d := bytes.Clone(data)
		d[at] ^= 0x55
		checkUnpack(t, fm, d, Limits{})
	}
}

// clamscanFinds checks that clamscan, with a body signature of a slice of
// want, detects it inside the container file path: the peer must open the
// same format for the comparison to mean anything.
func clamscanFinds(t *testing.T, path string, want []byte) {
	t.Helper()
	mid := len(want) / 2
	clamscanFindsSig(t, path, want[mid:mid+32])
}

// clamscanFindsSig checks that clamscan finds the bytes sig in the file
// at path, as a body signature of any target type.
func clamscanFindsSig(t *testing.T, path string, sig []byte) {
	t.Helper()
	clamscanFindsNdb(t, path, "0:*:", sig)
}

// clamscanFindsNdb checks that clamscan finds sig in the file at path
// with the .ndb target and offset fields given as "target:offset:".
func clamscanFindsNdb(t *testing.T, path, targetOffset string, sig []byte) {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	db := filepath.Join(t.TempDir(), "payload.ndb")
	if err := os.WriteFile(db, []byte("Glassav.Test.Payload:"+targetOffset+hex.EncodeToString(sig)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clamscan, "--no-summary", "-d", db, path).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("clamscan: %v", err)
	}
	if code != 1 || !bytes.Contains(out, []byte("Glassav.Test.Payload.UNOFFICIAL FOUND")) {
		t.Fatalf("clamscan exit %d, want 1 with a detection of the payload:\n%s", code, out)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testFile returns the path of a file of the ClamAV test corpus, skipping
// when the corpus is not installed (failing under CI=true).
func testFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("/usr/share/clamav-testfiles", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing (required under CI=true): %v", p, err)
		}
		t.Skipf("%s missing: %v", p, err)
	}
	return p
}
