package engine

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

// clamscanVerdicts runs clamscan with the database file db over files and
// returns the detection name per base name ("" for clean). It asserts
// clamscan's exit status: 1 when want holds a detection, else 0.
func clamscanVerdicts(t *testing.T, db string, files []string, anyFound bool) map[string]string {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	out, err := exec.Command(clamscan, append([]string{"--no-summary", "-d", db}, files...)...).Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("clamscan: %v", err)
	}
	if want := map[bool]int{true: 1, false: 0}[anyFound]; code != want {
		t.Fatalf("clamscan exit status %d, want %d\n%s", code, want, out)
	}
	v := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		p, verdict, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		name, found := strings.CutSuffix(verdict, " FOUND")
		if !found {
			name = ""
		}
		v[filepath.Base(p)] = name
	}
	return v
}

// TestEmbeddedPEAsClamscan checks where executables are carved out of
// other objects, against clamscan 1.4. A signature anchored at offset 0
// of a PE target matches a second executable only once it is carved.
// ClamAV's raw scan carves from Windows executables, zip and OLE2 files
// (scanners.c: cli_scanraw), and clamscan 1.4 carves the executable
// appended to an OLE2 file; but clamscan 1.4 runs no raw type scan on a
// zip at all (checked with --debug: no "file type PE" match, whatever
// follows the archive or sits in its comment), and binary data is not a
// carrier type: neither is carved, and glassav must not detect either.
func TestEmbeddedPEAsClamscan(t *testing.T) {
	exe, err := os.ReadFile(clamTestFile(t, "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	second := bytes.Clone(exe)
	copy(second[0x108:], "GLAV") // another timestamp: a PE clam.exe's bytes do not match
	ole, err := os.ReadFile(clamTestFile(t, "clam.ole.doc"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sh(t, dir, "cp /usr/bin/true t && zip -q a.zip t", "zip")
	zipped, err := os.ReadFile(filepath.Join(dir, "a.zip"))
	if err != nil {
		t.Fatal(err)
	}
	// Binary data (control bytes: neither text nor UTF-16 to either
	// detector) and a zip whose comment is the executable.
	binary := bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 0x0e, 0x0f, 0x10, 0x11}, 3000)
	commented := bytes.Clone(zipped)
	commented[len(commented)-2], commented[len(commented)-1] = byte(len(second)), byte(len(second)>>8)
	commented = append(commented, second...)

	fixtures := map[string][]byte{
		"pe-in-pe":          append(bytes.Clone(exe), second...),
		"pe-on-zip":         append(bytes.Clone(zipped), second...),
		"pe-on-bin":         append(bytes.Clone(binary), second...),
		"pe-in-zip-comment": commented,
		"pe-alone":          second,
		"pe-on-ole2":        append(ole, second...),
	}
	var files []string
	for name, data := range fixtures {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	sig := "Emb.PE:1:0:" + hex.EncodeToString(second[:0x110]) + "\n"
	r, db := loadDB(t, map[string]string{"e.ndb": sig})
	peer := clamscanVerdicts(t, filepath.Join(db, "e.ndb"), files, true)
	hits := 0
	for _, p := range files {
		name := filepath.Base(p)
		want := peer[name]
		if want != "" {
			hits++
		}
		res := scanFile(t, r, p, deep(1))
		got := ""
		if len(res.Matches) > 0 {
			got = res.Matches[0].Name
			t.Logf("%-18s glassav %s via %q path %q", name, got, res.Matches[0].Via, res.Matches[0].Path)
		}
		if got != want {
			t.Errorf("%s: glassav %q, clamscan %q", name, got, want)
		}
	}
	if hits < 3 {
		t.Fatalf("clamscan detected %d fixtures, want at least 3 (pe-in-pe, pe-alone, pe-on-ole2): %v", hits, peer)
	}
}
