package filetype

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/glassav/glassav/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needTool(t *testing.T, name string) string { return testenv.NeedTool(t, name) }

// corpus lists up to max sample files matching the globs.
func corpus(max int, globs ...string) []string { return testenv.Files(max, 4<<20, globs...) }

// clamscanTypes runs clamscan over files with metadata collection on and
// returns the root type it reports for each file, by path.
func clamscanTypes(t *testing.T, clamscan string, files []string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "none.ndb")
	// A signature that never matches keeps clamscan from loading the
	// system databases while typing every file.
	if err := os.WriteFile(db, []byte("GlassavNoMatch:0:*:676c61737361760000ffee0011\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "files")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, "--debug", "--gen-json", "--no-summary", "--disable-cache", "--scan-archive=no", "-d", db, "--file-list="+list)
	var out bytes.Buffer
	cmd.Stderr = &out
	cmd.Stdout = &out
	_ = cmd.Run() // exit status 1 would mean a match; the debug log is what counts
	got := map[string]string{}
	next := 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var root string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, `"RootFileType":"`); ok {
			root = strings.TrimSuffix(strings.TrimSuffix(v, ","), `"`)
			continue
		}
		if v, ok := strings.CutPrefix(line, `"FileName":"`); ok && root != "" {
			name := strings.TrimSuffix(strings.TrimSuffix(v, ","), `"`)
			for next < len(files) && filepath.Base(files[next]) != name {
				next++ // files clamscan did not report (e.g. skipped)
			}
			if next < len(files) {
				got[files[next]] = root
				next++
			}
			root = ""
		}
	}
	return got
}

// TestDetectMatchesClamscan types a sample of real files with glassav and
// with clamscan and compares. Exact agreement is required on ClamAV's own
// test files; elsewhere a few known differences are tolerated and logged.
func TestDetectMatchesClamscan(t *testing.T) {
	clamscan := needTool(t, "clamscan")
	strict := corpus(100, "/usr/share/clamav-testfiles/*")
	loose := corpus(400,
		"/usr/local/go/src/archive/*/testdata/*",
		"/usr/local/go/src/compress/*/testdata/*",
		"/usr/local/go/src/image/testdata/*",
		"/usr/local/go/src/image/*/testdata/*",
		"/usr/local/go/src/debug/*/testdata/*",
		"/usr/local/go/src/net/mail/*.go",
		"/usr/local/go/src/html/template/*.go",
		"/usr/local/go/doc/*",
		"/usr/local/go/misc/*/*",
		"/usr/local/go/lib/*/*",
		"/usr/bin/[a-c]*",
		"/usr/lib/x86_64-linux-gnu/libc*",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/_vendor/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/__pycache__/a*.pyc",
		"/root/.pyenv/versions/*/lib/python*/a*.py",
	)
	if len(strict)+len(loose) < 20 {
		t.Skip("too few sample files on this machine")
	}
	// The synthetic headers of detectCases are checked too, strictly.
	dir := t.TempDir()
	synthetic := map[string]Type{}
	for i, c := range detectCases {
		p := filepath.Join(dir, fmt.Sprintf("case%02d.bin", i))
		if err := os.WriteFile(p, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		strict = append(strict, p)
		synthetic[p] = c.want
	}
	files := append(append([]string{}, strict...), loose...)
	want := clamscanTypes(t, clamscan, files)
	if len(want) < len(files)/2 {
		t.Fatalf("clamscan typed only %d of %d files", len(want), len(files))
	}
	d := NewDetector()
	isStrict := map[string]bool{}
	for _, f := range strict {
		isStrict[f] = true
	}
	var bad, compared int
	for _, f := range files {
		w, ok := want[f]
		if !ok {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compared++
		got := d.Detect(data).String()
		if want, ok := synthetic[f]; ok && want.String() != w {
			t.Errorf("%s: detectCases says %v, clamscan says %s", f, want, w)
		}
		switch w {
		case "CL_TYPE_MSWORD", "CL_TYPE_MSXL", "CL_TYPE_MSPPT":
			// The OLE2 parser re-types an Office document after detection;
			// detection itself said CL_TYPE_MSOLE2.
			w = "CL_TYPE_MSOLE2"
		}
		if got == w {
			continue
		}
		if isStrict[f] {
			t.Errorf("%s: Detect = %s, clamscan says %s", f, got, w)
		} else {
			bad++
			t.Logf("differs: %s: Detect = %s, clamscan says %s", f, got, w)
		}
	}
	t.Logf("compared %d files, %d differ", compared, bad)
	if bad*20 > compared { // more than 5% disagreement is a regression
		t.Errorf("%d of %d files typed differently from clamscan", bad, compared)
	}
}
