package engine

import (
	"bytes"
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

	clamscan := testenv.NeedTool(t, "clamscan")
	out, err := exec.Command(clamscan, "--no-summary", "-d", filepath.Join(db, "clam.ndb"), dir).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan: %v, want exit status 1\n%s", err, out)
	}
	peer := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutSuffix(line, ": Clam.Body.UNOFFICIAL FOUND"); ok {
			peer[filepath.Base(p)] = true
		}
	}
	if len(peer) < 40 {
		t.Fatalf("clamscan found clam.exe in %d files, want at least 40:\n%s", len(peer), out)
	}

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
			m := res.Matches[0]
			for _, x := range res.Matches {
				if len(x.Via) > len(m.Via) {
					m = x
				}
			}
			via = "(the file itself)"
			if len(m.Via) > 0 {
				via = strings.Join(m.Via, " → ") + " : " + strings.Join(m.Path, "//")
			}
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
