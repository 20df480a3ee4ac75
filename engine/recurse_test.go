package engine

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/unpack"
)

// clamBody is clam.exe's bytes 0x40–0x76, the body signature that finds it
// bare and inside every container of ClamAV's test corpus.
func clamBody(t testing.TB) string {
	t.Helper()
	exe := clamTestFile(t, "clam.exe")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(data[0x40:0x77])
}

func clamTestFile(t testing.TB, name string) string {
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

// loadDB writes database files into a temporary directory and loads them.
func loadDB(t testing.TB, files map[string]string) (*Rules, string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Load(context.Background(), LoadOptions{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// sh runs a shell command in dir, skipping when a tool is missing.
func sh(t testing.TB, dir, cmd string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testenv.NeedTool(t, tool)
	}
	c := exec.Command("sh", "-c", cmd)
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

func deep(workers int) ScanOptions {
	return ScanOptions{Containers: ContainerOptions{Enabled: true, Workers: workers}}
}

func scanFile(t testing.TB, r *Rules, path string, opt ScanOptions) *Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Scan(context.Background(), &Object{Name: path, Data: data}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestScanNested scans clam.exe inside a zip inside a tar inside a gzip
// and checks the container path and the formats that reached it.
func TestScanNested(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" run.exe && cp /usr/bin/true true && zip -q inv.zip true run.exe && tar cf a.tar inv.zip && gzip -9 a.tar", "zip", "tar", "gzip")
	for _, w := range []int{1, 4} {
		res := scanFile(t, r, filepath.Join(dir, "a.tar.gz"), deep(w))
		if len(res.Matches) != 1 {
			t.Fatalf("workers %d: matches %+v, want one", w, res.Matches)
		}
		m := res.Matches[0]
		if m.Name != "Clam.Body.UNOFFICIAL" || !slices.Equal(m.Path, []string{"a.tar", "inv.zip", "run.exe"}) || !slices.Equal(m.Via, []string{"gzip", "tar", "zip"}) {
			t.Errorf("workers %d: match %s path %q via %q", w, m.Name, m.Path, m.Via)
		}
		if res.Members < 3 || res.Scanned <= int64(2*len(m.Path)) {
			t.Errorf("members %d, scanned %d", res.Members, res.Scanned)
		}
	}
	// Without containers the archive is clean.
	if res := scanFile(t, r, filepath.Join(dir, "a.tar.gz"), ScanOptions{}); len(res.Matches) != 0 {
		t.Errorf("containers off: %v", names(res.Matches))
	}
	// Skipping a format on the way hides what is under it.
	opt := deep(1)
	opt.Containers.Skip = map[string]bool{"zip": true}
	if res := scanFile(t, r, filepath.Join(dir, "a.tar.gz"), opt); len(res.Matches) != 0 {
		t.Errorf("zip skipped: %v", names(res.Matches))
	}
}

// TestScanAllMatchOrder checks that with AllMatch every member's detection
// is reported in container order, whatever the number of workers.
func TestScanAllMatchOrder(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	dir := t.TempDir()
	var files []string
	for i := 0; i < 20; i++ {
		f := "m" + string(rune('a'+i)) + ".exe"
		files = append(files, f)
		sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" "+f)
	}
	sh(t, dir, "zip -q a.zip "+strings.Join(files, " "), "zip")
	for _, w := range []int{1, 2, 8} {
		opt := deep(w)
		opt.AllMatch = true
		res := scanFile(t, r, filepath.Join(dir, "a.zip"), opt)
		var got []string
		for _, m := range res.Matches {
			got = append(got, strings.Join(m.Path, "//"))
		}
		if !slices.Equal(got, files) {
			t.Errorf("workers %d: paths %q, want %q", w, got, files)
		}
		opt.AllMatch = false
		res = scanFile(t, r, filepath.Join(dir, "a.zip"), opt)
		if len(res.Matches) != 1 || res.Matches[0].Path[0] != files[0] {
			t.Errorf("workers %d without AllMatch: %+v, want the first member", w, res.Matches)
		}
	}
}

// TestScanLimits checks that each limit stops the unpacking, is reported,
// and becomes a detection with AlertExceedsMax.
func TestScanLimits(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q 1.zip c.exe && zip -q 2.zip 1.zip && zip -q 3.zip 2.zip && head -c 3000000 /dev/urandom > r && head -c 3000000 /dev/zero > z && cp /usr/bin/true t1 && cp /usr/bin/true t2 && zip -q many.zip r t1 t2 c.exe && zip -q zeros.zip z c.exe", "zip")
	tests := []struct {
		file  string
		lim   unpack.Limits
		limit string
		// found: a per-member limit skips one member, and clam.exe after
		// it is still found; the others stop the unpacking.
		found bool
		// quiet: the limit is reported in Limits but raises no alert,
		// as clamscan trims a zip member to MaxFileSize silently.
		quiet bool
	}{
		{"3.zip", unpack.Limits{MaxRecursion: 2}, unpack.LimitRecursion, false, false},
		{"many.zip", unpack.Limits{MaxFiles: 2}, unpack.LimitFiles, false, false},
		{"many.zip", unpack.Limits{MaxScanSize: 1 << 20}, unpack.LimitScanSize, false, false},
		{"many.zip", unpack.Limits{MaxFileSize: 1 << 20}, unpack.LimitFileSize, true, true},
		{"zeros.zip", unpack.Limits{}, unpack.LimitRatio, true, false},
		{"many.zip", unpack.Limits{MaxScanTime: time.Nanosecond}, unpack.LimitScanTime, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			opt := deep(1)
			opt.Containers.Limits = tt.lim
			res := scanFile(t, r, filepath.Join(dir, tt.file), opt)
			if !slices.Equal(res.Limits, []string{tt.limit}) {
				t.Fatalf("limits %q, want %s", res.Limits, tt.limit)
			}
			if got := len(res.Matches) == 1 && res.Matches[0].Name == "Clam.Body.UNOFFICIAL"; got != tt.found || len(res.Matches) > 1 {
				t.Fatalf("matches %v without AlertExceedsMax; clam.exe found should be %v", names(res.Matches), tt.found)
			}
			opt.Containers.AlertExceedsMax = true
			opt.AllMatch = true
			res = scanFile(t, r, filepath.Join(dir, tt.file), opt)
			want := LimitPrefix + tt.limit
			switch {
			case tt.quiet:
				want = "Clam.Body.UNOFFICIAL"
			case tt.found:
				want = "Clam.Body.UNOFFICIAL," + want
			}
			if last := res.Matches[len(res.Matches)-1]; names(res.Matches) != want || (last.Kind == KindLimit) == tt.quiet {
				t.Fatalf("matches %v, want %s", names(res.Matches), want)
			}
		})
	}
	// Within the limits clam.exe is found at depth 3.
	res := scanFile(t, r, filepath.Join(dir, "3.zip"), deep(1))
	if len(res.Matches) != 1 || len(res.Limits) != 0 {
		t.Fatalf("3.zip: matches %v limits %q", names(res.Matches), res.Limits)
	}
}

// TestScanContainerConstraint checks that a logical signature's Container:
// constraint sees the type of the container holding the object.
func TestScanContainerConstraint(t *testing.T) {
	body := clamBody(t)
	r, _ := loadDB(t, map[string]string{"t.ldb": "InZip;Engine:51-255,Container:CL_TYPE_ZIP,Target:0;0;" + body + "\n" +
		"InTar;Engine:51-255,Container:CL_TYPE_POSIX_TAR,Target:0;0;" + body + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q a.zip c.exe", "zip")
	opt := deep(1)
	opt.AllMatch = true
	res := scanFile(t, r, filepath.Join(dir, "a.zip"), opt)
	if names(res.Matches) != "InZip.UNOFFICIAL" {
		t.Fatalf("matches %q, want InZip only", names(res.Matches))
	}
	if res := scanFile(t, r, clamTestFile(t, "clam.exe"), opt); len(res.Matches) != 0 {
		t.Fatalf("bare clam.exe: %q, want none", names(res.Matches))
	}
}

// TestScanAllowedContainer checks that an allow-listed container is not
// opened: what it holds is clean with it.
func TestScanAllowedContainer(t *testing.T) {
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q a.zip c.exe && sigtool --md5 a.zip > a.fp", "zip", "sigtool")
	fp, err := os.ReadFile(filepath.Join(dir, "a.fp"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n", "t.fp": string(fp)})
	res := scanFile(t, r, filepath.Join(dir, "a.zip"), deep(2))
	if len(res.Matches) != 0 || !res.Allowed || res.Members != 0 {
		t.Fatalf("allow-listed zip: matches %v allowed %v members %d", names(res.Matches), res.Allowed, res.Members)
	}
}

// TestScanEncryptedAndOverlap checks the container heuristics.
func TestScanEncryptedAndOverlap(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q -P pw e.zip c.exe", "zip")
	res := scanFile(t, r, filepath.Join(dir, "e.zip"), deep(1))
	if len(res.Matches) != 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "encrypted") {
		t.Fatalf("encrypted zip: matches %v warnings %q", names(res.Matches), res.Warnings)
	}
	opt := deep(1)
	opt.Containers.AlertEncrypted = true
	res = scanFile(t, r, filepath.Join(dir, "e.zip"), opt)
	if names(res.Matches) != "Heuristics.Encrypted.Zip" || res.Matches[0].Path[0] != "c.exe" {
		t.Fatalf("encrypted zip with AlertEncrypted: %+v", res.Matches)
	}
}

// TestScanSelfExtractor checks that a zip appended to an executable's stub
// (a self-extractor, its offsets left relative to the archive) is opened,
// as ClamAV's embedded-type scan opens it.
func TestScanSelfExtractor(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q -9 a.zip c.exe && cat /usr/bin/true a.zip > sfx", "zip")
	res := scanFile(t, r, filepath.Join(dir, "sfx"), deep(1))
	if len(res.Matches) != 1 || !slices.Equal(res.Matches[0].Via, []string{"zip"}) || !slices.Equal(res.Matches[0].Path, []string{"c.exe"}) {
		t.Fatalf("matches %+v, want clam.exe through zip", res.Matches)
	}
}
