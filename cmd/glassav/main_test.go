package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/glassav/glassav/report"
)

// glassavBin is the glassav binary the end-to-end tests run: built by
// TestMain into a temporary directory.
var glassavBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "glassav-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	glassavBin = filepath.Join(dir, "glassav")
	if runtime.GOOS == "windows" {
		glassavBin += ".exe"
	}
	// Build flags given in GOFLAGS apply to this build too.
	cmd := exec.Command("go", "build", "-o", glassavBin, ".")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building glassav: %v\n", err)
		return 1
	}
	return m.Run()
}

// needClamscan returns clamscan's path or skips (fails under CI=true).
func needClamscan(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("clamscan")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("clamscan not installed")
		}
		t.Skip("clamscan not installed; install clamav to compare with it")
	}
	return p
}

const marker = "GLASSAVTESTSTRING"

// fixture builds a directory with every edge case and two tiny databases
// of our own (a .ndb line matching the marker), and returns it.
func fixture(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fixture uses symbolic links and FIFOs")
	}
	d := t.TempDir()
	files := map[string]string{
		"t/bad.txt":         "hello " + marker + " world\n",
		"t/good.txt":        "clean\n",
		"t/empty":           "",
		"t/sub/ok":          "ok\n",
		"t/sub/deeper/bad2": "x " + marker + "\n",
		"t/caf\xe9":         "x " + marker + "\n",
		"db.ndb":            "Test.Glassav:0:*:" + fmt.Sprintf("%x", marker) + "\n",
		"db2.ndb":           "Test.Glassav2:0:*:776f726c64\nTest.Glassav:0:*:" + fmt.Sprintf("%x", marker) + "\n",
		"bad.ndb":           "Broken:0:*:zz\n",
		"list":              "t/good.txt\nt/bad.txt\nnonexist\nt/sub\n",
	}
	for name, data := range files {
		p := filepath.Join(d, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"t/link": "good.txt", "t/dirlink": "sub", "t/broken": "nowhere"} {
		if err := os.Symlink(target, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mkfifo(filepath.Join(d, "t/fifo")); err != nil {
		t.Fatal(err)
	}
	return d
}

type result struct {
	stdout, stderr []string
	code           int
}

// execIn runs a command in dir with stdin and returns its output lines,
// normalised for comparison: lines that differ by design (times, dates,
// engine version, byte counts, which count engine internals, and the
// summary line glassav adds) are dropped,
// and lines are sorted because clamscan prints directory entries in
// readdir order and glassav in name order.
func execIn(t *testing.T, dir, stdin string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{normalise(out.String()), normalise(errb.String()), code}
}

func normalise(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "Time: "), strings.HasPrefix(l, "Start Date: "), strings.HasPrefix(l, "End Date: "),
			strings.HasPrefix(l, "Engine version: "), strings.HasPrefix(l, "Data scanned: "), strings.HasPrefix(l, "Data read: "),
			strings.HasPrefix(l, "LibClamAV "), strings.HasPrefix(l, "Skipped for limits: "),
			strings.HasPrefix(l, "Containers stopped by limits: "), l == "":
			continue
		}
		lines = append(lines, l)
	}
	slices.Sort(lines)
	return lines
}

// TestCompareWithClamscan runs clamscan and glassav on the same inputs and
// compares stdout, stderr and exit status. glassav always recurses, so
// clamscan gets -r.
func TestCompareWithClamscan(t *testing.T) {
	clamscan := needClamscan(t)
	d := fixture(t)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		dedup bool // clamscan -z may print one signature twice for one file
	}{
		{"tree", []string{"-d", "db.ndb", "t"}, "", false},
		{"arguments", []string{"-d", "db.ndb", "--no-summary", "t/", "t/link", "t/dirlink", "t/fifo", "t/broken", "t/empty", "nonexist", "/dev/null"}, "", false},
		{"missing only", []string{"-d", "db.ndb", "nonexist"}, "", false},
		{"infected only", []string{"-d", "db.ndb", "-i", "t", "nonexist"}, "", false},
		{"suppress ok", []string{"-d", "db.ndb", "-o", "t"}, "", false},
		{"quiet", []string{"-d", "db.ndb", "--quiet", "t", "nonexist", "t/fifo"}, "", false},
		{"stdout", []string{"-d", "db.ndb", "--stdout", "--no-summary", "nonexist", "t/fifo", "t/good.txt"}, "", false},
		{"verbose", []string{"-d", "db.ndb", "-v", "--no-summary", "t/good.txt", "t/bad.txt", "t/empty"}, "", false},
		{"exclude", []string{"-d", "db.ndb", "--exclude=good", "--exclude-dir=deeper", "t"}, "", false},
		{"exclude real path", []string{"-d", "db.ndb", "--exclude=^t/good", "--exclude=" + regexpQuote(d) + "/t/bad", "t"}, "", false},
		{"exclude-dir slash", []string{"-d", "db.ndb", "--exclude-dir=sub/", "t"}, "", false},
		{"include", []string{"-d", "db.ndb", "--include=bad", "t", "t/link"}, "", false},
		{"include-dir", []string{"-d", "db.ndb", "--include-dir=deeper", "t", "t/sub/deeper"}, "", false},
		{"max-filesize", []string{"-d", "db.ndb", "--max-filesize=10", "t"}, "", false},
		{"max-filesize alert", []string{"-d", "db.ndb", "--max-filesize=10", "--alert-exceeds-max", "t"}, "", false},
		{"max-scansize alert", []string{"-d", "db.ndb", "--max-scansize=10", "--alert-exceeds-max", "t/bad.txt", "t/good.txt"}, "", false},
		{"allmatch", []string{"-d", "db2.ndb", "-z", "t/bad.txt"}, "", true},
		{"follow never", []string{"-d", "db.ndb", "--follow-dir-symlinks=0", "--follow-file-symlinks=0", "t/link", "t/dirlink"}, "", false},
		{"follow always", []string{"-d", "db.ndb", "--follow-dir-symlinks=2", "--follow-file-symlinks=2", "t"}, "", false},
		{"max-dir-recursion", []string{"-d", "db.ndb", "--max-dir-recursion=2", "t"}, "", false},
		{"proc", []string{"-d", "db.ndb", "/proc/self/status"}, "", false},
		{"stdin found", []string{"-d", "db.ndb", "-"}, "abc " + marker, false},
		{"stdin clean", []string{"-d", "db.ndb", "-"}, "abc", false},
		{"file list", []string{"-d", "db.ndb", "-f", "list", "t/empty"}, "", false},
		{"two databases", []string{"-d", "db.ndb", "-d", "db2.ndb", "t/good.txt"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-r"}, tc.args...)
			want := execIn(t, d, tc.stdin, clamscan, args...)
			got := execIn(t, d, tc.stdin, glassavBin, append([]string{"scan"}, args...)...)
			if tc.dedup {
				want.stdout = slices.Compact(want.stdout)
			}
			compare(t, got, want)
		})
	}
}

func compare(t *testing.T, got, want result) {
	t.Helper()
	if !slices.Equal(got.stdout, want.stdout) {
		t.Errorf("stdout differs\nglassav:\n%s\nclamscan:\n%s", strings.Join(got.stdout, "\n"), strings.Join(want.stdout, "\n"))
	}
	if !slices.Equal(got.stderr, want.stderr) {
		t.Errorf("stderr differs\nglassav:\n%s\nclamscan:\n%s", strings.Join(got.stderr, "\n"), strings.Join(want.stderr, "\n"))
	}
	if got.code != want.code {
		t.Errorf("exit status %d, clamscan %d", got.code, want.code)
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestAccessDeniedLikeClamscan runs both scanners as an unprivileged user
// (nobody), where permission checks apply.
func TestAccessDeniedLikeClamscan(t *testing.T) {
	clamscan := needClamscan(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to nobody with setpriv")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	d := fixture(t)
	// The temporary directories are private; open them to nobody.
	for _, p := range []string{d, filepath.Dir(d), filepath.Dir(glassavBin)} {
		os.Chmod(p, 0o755)
	}
	for _, p := range []string{d, filepath.Dir(glassavBin)} {
		for ; p != "/"; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
				t.Skipf("%s is not world-readable", p)
			}
		}
	}
	os.Chmod(filepath.Join(d, "db.ndb"), 0o644)
	if err := os.WriteFile(filepath.Join(d, "t/secret"), []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d, "t/locked"), 0o000); err != nil {
		t.Fatal(err)
	}
	nobody := []string{"--reuid=65534", "--regid=65534", "--clear-groups"}
	for _, args := range [][]string{
		{"-r", "-d", "db.ndb", "t"},
		{"-r", "-d", "db.ndb", "t/secret", "t/locked"},
		{"-r", "-d", "db.ndb", "-i", "t/secret", "t/locked"},
	} {
		want := execIn(t, d, "", setpriv, append(append(slices.Clone(nobody), clamscan), args...)...)
		got := execIn(t, d, "", setpriv, append(append(slices.Clone(nobody), glassavBin, "scan"), args...)...)
		compare(t, got, want)
	}
}

func TestLogFile(t *testing.T) {
	clamscan := needClamscan(t)
	d := fixture(t)
	args := []string{"-r", "-d", "db.ndb", "-l", "LOG", "t", "nonexist"}
	logs := map[string][]string{}
	for _, bin := range [][]string{{clamscan}, {glassavBin, "scan"}} {
		log := filepath.Join(d, filepath.Base(bin[0])+".log")
		a := append(slices.Clone(bin[1:]), args...)
		a[slices.Index(a, "LOG")] = log
		execIn(t, d, "", bin[0], a...)
		execIn(t, d, "", bin[0], append(a, "--no-summary")...) // appends a second session
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), report.LogSeparator); n != 2 {
			t.Errorf("%s: %d session separators, want 2", bin[0], n)
		}
		logs[bin[0]] = normalise(string(b))
	}
	if got, want := logs[glassavBin], logs[clamscan]; !slices.Equal(got, want) {
		t.Errorf("log differs\nglassav:\n%s\nclamscan:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorsExitTwo(t *testing.T) {
	d := fixture(t)
	for _, args := range [][]string{
		{"--bogus", "t"},
		{"--max-filesize=abc", "t"},
		{"--exclude=(", "t"},
		{"-d", "bad.ndb", "t"},
		{"-d", "nonexistent.ndb", "t"},
		{"-f", "nonexistent-list"},
	} {
		got := execIn(t, d, "", glassavBin, append([]string{"scan"}, args...)...)
		if got.code != 2 || len(got.stderr) == 0 || len(got.stdout) != 0 {
			t.Errorf("glassav scan %q: status %d, stdout %q, stderr %q; want 2 and an error on stderr only", args, got.code, got.stdout, got.stderr)
		}
	}
}

// TestJSON checks the JSON lines schema end to end, including a file name
// that is not UTF-8.
func TestJSON(t *testing.T) {
	d := fixture(t)
	cmd := exec.Command(glassavBin, "scan", "--json", "-d", "db.ndb", "--max-filesize=25", "t", "nonexist")
	cmd.Dir = d
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v", err)
	}
	byPath := map[string]report.Object{}
	var sum report.Summary
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		switch string(m["record"]) {
		case `"object"`:
			var o report.Object
			json.Unmarshal([]byte(l), &o)
			p, err := o.RawPath()
			if err != nil {
				t.Fatal(err)
			}
			byPath[p] = o
		case `"summary"`:
			json.Unmarshal([]byte(l), &sum)
		default:
			t.Errorf("line without record type: %s", l)
		}
	}
	latin := byPath["t/caf\xe9"]
	if latin.Status != report.StatusFound || latin.Path != `t/caf\xe9` || latin.PathB64 == "" ||
		len(latin.Detections) != 1 || latin.Detections[0].Name != "Test.Glassav.UNOFFICIAL" || latin.Detections[0].Database == "" {
		t.Errorf("non-UTF-8 name: %+v", latin)
	}
	if o := byPath["t/bad.txt"]; o.Status != report.StatusSkipped || o.Limit != report.LimitMaxFileSize || o.Size != 30 {
		t.Errorf("limit: %+v", o)
	}
	for p, st := range map[string]report.Status{
		"t/good.txt": report.StatusOK, "t/empty": report.StatusEmpty, "t/link": report.StatusSymlink,
		"nonexist": report.StatusError, "t/sub/deeper/bad2": report.StatusFound,
	} {
		if byPath[p].Status != st {
			t.Errorf("%s: status %q, want %q", p, byPath[p].Status, st)
		}
	}
	if sum.Files != 5 || sum.Infected != 2 || sum.SkippedLimits != 1 || sum.Warnings != 1 || sum.KnownViruses != 1 || sum.Directories != 3 {
		t.Errorf("summary %+v", sum)
	}
}

// TestTextNonUTF8Name checks that text output keeps a file name's bytes.
func TestTextNonUTF8Name(t *testing.T) {
	d := fixture(t)
	got := execIn(t, d, "", glassavBin, "scan", "--no-summary", "-d", "db.ndb", "t/caf\xe9")
	if want := []string{"t/caf\xe9: Test.Glassav.UNOFFICIAL FOUND"}; !slices.Equal(got.stdout, want) {
		t.Errorf("got %q, want %q", got.stdout, want)
	}
}

// TestNoArgumentsScansCwd: without paths both scan the working directory
// and print absolute paths.
func TestNoArgumentsScansCwd(t *testing.T) {
	clamscan := needClamscan(t)
	d := fixture(t)
	dir := filepath.Join(d, "t", "sub")
	want := execIn(t, dir, "", clamscan, "-r", "-d", "../../db.ndb")
	got := execIn(t, dir, "", glassavBin, "scan", "-d", "../../db.ndb")
	compare(t, got, want)
	if len(got.stdout) == 0 || !strings.Contains(strings.Join(got.stdout, "\n"), dir+"/deeper/bad2: Test.Glassav.UNOFFICIAL FOUND") {
		t.Errorf("no absolute path in %q", got.stdout)
	}
}

// TestJSONKeepsTextLog: --json changes stdout only; the --log file keeps
// clamscan's text.
func TestJSONKeepsTextLog(t *testing.T) {
	d := fixture(t)
	log := filepath.Join(d, "json.log")
	got := execIn(t, d, "", glassavBin, "scan", "--json", "-l", log, "-d", "db.ndb", "t/bad.txt", "t/good.txt")
	if got.code != 1 || len(got.stdout) != 3 || !strings.HasPrefix(got.stdout[0], `{"record":`) {
		t.Errorf("stdout %q, status %d", got.stdout, got.code)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.HasPrefix(s, report.LogSeparator+"t/bad.txt: Test.Glassav.UNOFFICIAL FOUND\n") || !strings.Contains(s, "Infected files: 1\n") {
		t.Errorf("log:\n%s", s)
	}
}
