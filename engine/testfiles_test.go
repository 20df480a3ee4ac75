package engine

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// partTwo are the files of ClamAV's test corpus that hold clam.exe in a
// packed executable or an installer: opening those is part 2 of the
// container work, so they are reported here but not required.
var partTwo = map[string]bool{
	"clam-aspack.exe": true, "clam-fsg.exe": true, "clam-mew.exe": true, "clam-nsis.exe": true,
	"clam-pespin.exe": true, "clam-petite.exe": true, "clam-upack.exe": true, "clam-upx.exe": true,
	"clam-wwpack.exe": true, "clam-yc.exe": true, "clam.ea05.exe": true, "clam.ea06.exe": true,
	"clam_IScab_ext.exe": true, "clam_IScab_int.exe": true, "clam_ISmsi_ext.exe": true,
	"clam_ISmsi_int.exe": true, "clam.sis": true,
}

// TestClamTestFiles scans ClamAV's test corpus with one body signature of
// clam.exe, beside clamscan with the same signature: glassav must find
// clam.exe in every archive, compressed, mail and document file clamscan
// finds it in. The log shows, per file, the formats that reached it.
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
	var missed, missedTwo []string
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
			if partTwo[name] {
				missedTwo = append(missedTwo, name)
			} else {
				missed = append(missed, name)
			}
		}
		fmt.Fprintf(&table, "  %-22s clamscan %-5v glassav %-5v %s\n", name, peer[name], len(res.Matches) > 0, via)
	}
	t.Logf("clam.exe in ClamAV's test corpus (%d files, clamscan %d, glassav %d):\n%s", len(entries), len(peer), found, table.String())
	sort.Strings(missedTwo)
	if len(missedTwo) > 0 {
		t.Logf("not yet found (packed executables and installers, part 2): %s", strings.Join(missedTwo, " "))
	}
	if len(missed) > 0 {
		t.Errorf("clamscan finds clam.exe in these, glassav does not: %s", strings.Join(missed, " "))
	}
}

// TestClamTestFilesMD5 scans the corpus with an MD5 signature of clam.exe
// (sigtool --md5), beside clamscan with the same signature, and reports
// how many files each reaches: an MD5 signature matches only an object
// that is exactly clam.exe, so it counts the files where a container or
// unpacker yields clam.exe itself, with nothing before or after it.
// glassav must not find it where clamscan does not; the log lists the
// files where clamscan finds it and glassav does not yet.
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
		t.Logf("clamscan reaches clam.exe's MD5 in these, glassav does not: %s", strings.Join(notFound, " "))
	}
	if len(extra) > 0 {
		t.Errorf("glassav reaches clam.exe's MD5 where clamscan does not: %s", strings.Join(extra, " "))
	}
	if found < 30 {
		t.Errorf("glassav reaches clam.exe's MD5 in %d files, want at least 30 (clamscan %d)", found, len(peer))
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
