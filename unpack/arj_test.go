package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildARJ packs the payload and a small text file with arj and extra
// switches, returning the archive's path.
func buildARJ(t testing.TB, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), bytes.Repeat([]byte("ARJ test line\n"), 40), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "arj", append(append([]string{"a", "-y"}, args...), "out.arj", "payload", "notes.txt")...)
	return filepath.Join(dir, "out.arj")
}

func TestARJ(t *testing.T) {
	payload := readPayload(t)
	for _, m := range []string{"-m0", "-m1", "-m2", "-m3", "-m4"} {
		t.Run(m, func(t *testing.T) {
			ms := unpackOK(t, arjFormat(), readFile(t, buildARJ(t, m)))
			if len(ms) != 2 {
				t.Fatalf("members %q, want 2", memberNames(ms))
			}
			wantMember(t, ms, "payload", payload)
			wantMember(t, ms, "notes.txt", bytes.Repeat([]byte("ARJ test line\n"), 40))
		})
	}
}

func TestARJGarbled(t *testing.T) {
	ms := unpackOK(t, arjFormat(), readFile(t, buildARJ(t, "-gSecret")))
	if len(ms) != 2 || !ms[0].Encrypted || !ms[1].Encrypted {
		t.Fatalf("members %+v, want 2 encrypted", ms)
	}
}

func TestARJSFX(t *testing.T) {
	sfx := append(readFile(t, "/usr/bin/false"), readFile(t, buildARJ(t, "-m1"))...)
	wantMember(t, unpackOK(t, arjFormat(), sfx), "payload", readPayload(t))
}

func TestARJClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.arj")
	wantMember(t, unpackOK(t, arjFormat(), readFile(t, path)), "clam.exe", clam)
	clamscanFinds(t, path, clam)
}

func TestARJDamaged(t *testing.T) {
	checkDamaged(t, arjFormat(), readFile(t, buildARJ(t, "-m1")))
	checkDamaged(t, arjFormat(), readFile(t, buildARJ(t, "-m4")))
}

func TestARJPeer(t *testing.T) {
	for _, m := range []string{"-m1", "-m4"} {
		clamscanFinds(t, buildARJ(t, m), readPayload(t))
	}
}

func FuzzUnpackARJ(f *testing.F) {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.arj"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, arjFormat(), seeds...)
}

// TestMemberLimitGoesOn: a member over MaxFileSize is cut at the limit
// and the members after it are still read, in every format holding
// several; the limit is reported at the end.
func TestMemberLimitGoesOn(t *testing.T) {
	notes := bytes.Repeat([]byte("ARJ test line\n"), 40)
	for name, tc := range map[string]struct {
		fm   *Format
		data func() []byte
		next string
		want []byte
	}{
		"arj": {arjFormat(), func() []byte { return readFile(t, buildARJ(t, "-m1")) }, "notes.txt", notes},
		"7z":  {sevenZipFormat(), func() []byte { return sevenZipTwo(t) }, "b-notes", notes},
		"rar": {rarFormat(), func() []byte { return rarFixtures(t)["rar5"] }, "notes.txt", []byte("a small stored member\n")},
	} {
		t.Run(name, func(t *testing.T) {
			ms, err := checkUnpack(t, tc.fm, tc.data(), Limits{MaxFileSize: 10000})
			if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
				t.Fatalf("err %v, want the file size limit", err)
			}
			wantMember(t, ms, tc.next, tc.want)
			cut, next := -1, -1
			for i, m := range ms {
				if len(m.Data) == 10000 && cut < 0 {
					cut = i
				}
				if strings.HasSuffix(m.Name, tc.next) {
					next = i
				}
			}
			if cut < 0 || next < cut {
				t.Fatalf("members %q: want the cut one (at %d) before %s (at %d)", memberNames(ms), cut, tc.next, next)
			}
		})
	}
}

// sevenZipTwo packs the payload and then a small file (7-Zip orders
// members by name).
func sevenZipTwo(t *testing.T) []byte {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a-payload"), readPayload(t), 0o644)
	os.WriteFile(filepath.Join(dir, "b-notes"), bytes.Repeat([]byte("ARJ test line\n"), 40), 0o644)
	runTool(t, dir, "7zz", "a", "-bd", "-ms=off", "out.7z", "a-payload", "b-notes")
	return readFile(t, filepath.Join(dir, "out.7z"))
}
