package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/unpack"
)

// TestMaxFileSizeAsClamscan holds glassav's verdicts on a member larger
// than MaxFileSize to clamscan 1.4's, with and without
// --alert-exceeds-max. The member is clam.exe followed by 1.5 MB of hex
// text (so every container stays under the 1 MiB limit itself): a
// detection means the member's first MaxFileSize bytes were scanned.
// clamscan 1.4 differs by format: its zip reader trims the member to
// MaxFileSize and scans that prefix without reporting a limit, while the
// stream and 7z readers skip the member whole and report the limit.
func TestMaxFileSizeAsClamscan(t *testing.T) {
	exe, err := os.ReadFile(clamTestFile(t, "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 760000)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := append(bytes.Clone(exe), hex.EncodeToString(noise)...)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, dir, "zip -q big.zip big && gzip -k big && bzip2 -k big && xz -k big && 7z a -bd big.7z big >/dev/null", "zip", "gzip", "bzip2", "xz", "7z")
	files := []string{"big.zip", "big.gz", "big.bz2", "big.xz", "big.7z"}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f)
		if st, err := os.Stat(p); err != nil || st.Size() >= 1<<20 {
			t.Fatalf("%s: %v (size must stay under the limit)", f, err)
		}
		paths = append(paths, p)
	}
	body := "Clam.Body:0:*:" + hex.EncodeToString(exe[0x40:0x77]) + "\n"
	r, db := loadDB(t, map[string]string{"b.ndb": body})
	clamscan := testenv.NeedTool(t, "clamscan")
	for _, alert := range []bool{false, true} {
		args := []string{"--no-summary", "--allmatch", "--max-filesize=1M", "-d", filepath.Join(db, "b.ndb")}
		if alert {
			args = append(args, "--alert-exceeds-max")
		}
		out, err := exec.Command(clamscan, append(args, paths...)...).Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("clamscan %v: %v, want exit status 1\n%s", args, err, out)
		}
		peer := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if p, name, ok := strings.Cut(line, ": "); ok && strings.HasSuffix(name, " FOUND") {
				peer[filepath.Base(p)] = append(peer[filepath.Base(p)], strings.TrimSuffix(name, " FOUND"))
			}
		}
		hits := 0
		for _, p := range paths {
			name := filepath.Base(p)
			want := strings.Join(peer[name], ",")
			if want != "" {
				hits++
			}
			opt := deep(1)
			opt.AllMatch = true
			opt.Containers.Limits = unpack.Limits{MaxFileSize: 1 << 20}
			opt.Containers.AlertExceedsMax = alert
			res := scanFile(t, r, p, opt)
			if got := names(res.Matches); got != want {
				t.Errorf("alert %v: %s: glassav %q, clamscan %q", alert, name, got, want)
			}
			// The limit stays visible in the result (JSON, summary),
			// alert or not, for the trimmed zip member too.
			if !strings.Contains(strings.Join(res.Limits, ","), unpack.LimitFileSize) {
				t.Errorf("alert %v: %s: limits %q, want %s", alert, name, res.Limits, unpack.LimitFileSize)
			}
		}
		if hits < 1 || (alert && hits < len(paths)) {
			t.Fatalf("alert %v: clamscan detected %d of %d files: %v", alert, hits, len(paths), peer)
		}
	}
}
