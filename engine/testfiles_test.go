package engine

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// TestClamTestFiles scans ClamAV's test corpus with one body signature of
// clam.exe, beside clamscan with the same signature: glassav must find
// clam.exe in every file clamscan finds it in — archives, compressed
// files, mail, documents, packed executables and installers (all 44). The
// log shows, per file, the formats that reached it.
func TestClamTestFiles(t *testing.T) {
	dir := filepath.Dir(clamTestFile(t, "clam.exe"))
	body := clamBody(t)
	r, db := loadDB(t, map[string]string{"clam.ndb": "Clam.Body:0:*:" + body + "\n"})
	peer := clamscanFinds(t, filepath.Join(db, "clam.ndb"), dir, "Clam.Body")

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	var missed []string
	found := 0
	for _, e := range entries {
		name := e.Name()
		// All matches: clam.exe stored as is in a container is found in
		// the container's own bytes too; the table shows the deepest.
		opt := deep(2)
		opt.AllMatch = true
		res := scanFile(t, r, filepath.Join(dir, name), opt)
		via := "-"
		if len(res.Matches) > 0 {
			found++
			via = reachedBy(res.Matches)
		} else if peer[name] {
			missed = append(missed, name)
		}
		fmt.Fprintf(&table, "  %-22s clamscan %-5v glassav %-5v %s\n", name, peer[name], len(res.Matches) > 0, via)
	}
	t.Logf("clam.exe in ClamAV's test corpus (%d files, clamscan %d, glassav %d):\n%s", len(entries), len(peer), found, table.String())
	if len(missed) > 0 {
		t.Errorf("clamscan finds clam.exe in these, glassav does not: %s", strings.Join(missed, " "))
	}
}

// TestClamTestFilesMD5 scans the corpus with an MD5 signature of clam.exe
// (sigtool --md5), beside clamscan with the same signature, and reports
// how many files each reaches: an MD5 signature matches only an object
// that is exactly clam.exe, so it counts the files where a container or
// unpacker yields clam.exe itself, with nothing before or after it.
// glassav must reach it exactly where clamscan does.
func TestClamTestFilesMD5(t *testing.T) {
	dir := filepath.Dir(clamTestFile(t, "clam.exe"))
	clam, err := os.ReadFile(filepath.Join(dir, "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(clam)
	sig := fmt.Sprintf("%x:%d:Clam.MD5\n", sum, len(clam))
	r, db := loadDB(t, map[string]string{"clam.hdb": sig})
	peer := clamscanFinds(t, filepath.Join(db, "clam.hdb"), dir, "Clam.MD5")

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	var notFound, extra []string
	found := 0
	for _, e := range entries {
		name := e.Name()
		opt := deep(2)
		opt.AllMatch = true
		res := scanFile(t, r, filepath.Join(dir, name), opt)
		via := "-"
		if len(res.Matches) > 0 {
			found++
			via = reachedBy(res.Matches)
			if !peer[name] {
				extra = append(extra, name)
			}
		} else if peer[name] {
			notFound = append(notFound, name)
		}
		fmt.Fprintf(&table, "  %-22s clamscan %-5v glassav %-5v %s\n", name, peer[name], len(res.Matches) > 0, via)
	}
	t.Logf("clam.exe's MD5 in ClamAV's test corpus (%d files, clamscan %d, glassav %d):\n%s", len(entries), len(peer), found, table.String())
	if len(notFound) > 0 {
		t.Errorf("clamscan reaches clam.exe's MD5 in these, glassav does not: %s", strings.Join(notFound, " "))
	}
	if len(extra) > 0 {
		t.Errorf("glassav reaches clam.exe's MD5 where clamscan does not: %s", strings.Join(extra, " "))
	}
	if found < 44 {
		t.Errorf("glassav reaches clam.exe's MD5 in %d files, want all 44 (clamscan %d)", found, len(peer))
	}
}

// clamscanFinds runs clamscan with the database db over dir and returns
// the files in which it reported name, asserting its exit status (1) and
// that it found at least 40 of them.
func clamscanFinds(t *testing.T, db, dir, name string) map[string]bool {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	out, err := exec.Command(clamscan, "--no-summary", "-d", db, dir).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan: %v, want exit status 1\n%s", err, out)
	}
	peer := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutSuffix(line, ": "+name+".UNOFFICIAL FOUND"); ok {
			peer[filepath.Base(p)] = true
		}
	}
	if len(peer) < 40 {
		t.Fatalf("clamscan found %s in %d files, want at least 40:\n%s", name, len(peer), out)
	}
	return peer
}

// reachedBy describes the deepest match: the formats that reached it and
// its path.
func reachedBy(ms []Match) string {
	m := ms[0]
	for _, x := range ms {
		if len(x.Via) > len(m.Via) {
			m = x
		}
	}
	if len(m.Via) == 0 {
		return "(the file itself)"
	}
	return strings.Join(m.Via, " → ") + " : " + strings.Join(m.Path, "//")
}
