package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/report"
)

// fakeEngine stands in for *engine.Rules: it finds marker strings, so the
// scan package is tested apart from detection.
type fakeEngine struct{}

const (
	marker      = "GLASSAVTESTSTRING"
	slowMarker  = "SLOWSLOWSLOW"
	panicMarker = "PANICPANIC"
)

func (fakeEngine) Scan(ctx context.Context, o *engine.Object, opt engine.ScanOptions) (*engine.Result, error) {
	res := &engine.Result{}
	if bytes.Contains(o.Data, []byte(panicMarker)) {
		panic("fake engine bug")
	}
	if bytes.Contains(o.Data, []byte(slowMarker)) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if bytes.Contains(o.Data, []byte(marker)) {
		res.Matches = append(res.Matches, engine.Match{Name: "Test.Marker.UNOFFICIAL", Kind: engine.KindBody})
		if opt.AllMatch {
			res.Matches = append(res.Matches, engine.Match{Name: "Test.Marker2.UNOFFICIAL", Kind: engine.KindBody})
		}
	}
	return res, nil
}

// tree builds the edge-case directory t used by the tests, in a temporary
// directory it returns:
//
//	bad.txt good.txt empty link->good.txt dirlink->sub broken->nowhere fifo
//	sub/ok sub/deeper/bad2
func tree(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(d, "t", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad.txt", "hello "+marker+" world\n")
	write("good.txt", "clean\n")
	write("empty", "")
	write("sub/ok", "ok\n")
	write("sub/deeper/bad2", "x "+marker+"\n")
	if runtime.GOOS != "windows" {
		must(t, os.Symlink("good.txt", filepath.Join(d, "t", "link")))
		must(t, os.Symlink("sub", filepath.Join(d, "t", "dirlink")))
		must(t, os.Symlink("nowhere", filepath.Join(d, "t", "broken")))
		must(t, mkfifo(filepath.Join(d, "t", "fifo")))
	}
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run scans paths from dir (so that paths print relative) and returns the
// objects as "path status[/code] [detections]" lines.
func run(t *testing.T, dir string, opt Options, paths ...string) ([]string, *report.Summary) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("tree uses symbolic links and FIFOs")
	}
	t.Chdir(dir)
	var lines []string
	sum, err := Run(context.Background(), fakeEngine{}, paths, opt, func(o *report.Object) error {
		s := o.Path + " " + string(o.Status)
		if o.Code != "" {
			s += "/" + string(o.Code)
		}
		for _, d := range o.Detections {
			s += " " + d.Name
		}
		lines = append(lines, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines, sum
}

func opts(f func(*Options)) Options {
	o := DefaultOptions()
	o.Jobs = 4
	if f != nil {
		f(&o)
	}
	return o
}

func TestWalk(t *testing.T) {
	d := tree(t)
	for _, tc := range []struct {
		name  string
		opt   Options
		paths []string
		want  []string
	}{
		{"defaults", opts(nil), []string{"t"}, []string{
			"t/bad.txt found Test.Marker.UNOFFICIAL",
			"t/broken symlink",
			"t/dirlink symlink",
			"t/empty empty",
			"t/fifo skipped/special_file",
			"t/good.txt ok",
			"t/link symlink",
			"t/sub/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/sub/ok ok",
		}},
		{"trailing slash and args", opts(nil), []string{"t/", "t/link", "t/dirlink", "t/fifo", "t/broken", "t/empty", "nonexist"}, []string{
			"t/bad.txt found Test.Marker.UNOFFICIAL",
			"t/broken symlink",
			"t/dirlink symlink",
			"t/empty empty",
			"t/fifo skipped/special_file",
			"t/good.txt ok",
			"t/link symlink",
			"t/sub/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/sub/ok ok",
			"t/link ok", // named links are followed
			"t/dirlink/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/dirlink/ok ok",
			"t/fifo error/unsupported_type",
			"t/broken skipped/broken_symlink",
			"t/empty empty",
			"nonexist error/cant_access",
		}},
		{"follow never", opts(func(o *Options) { o.FollowDirSymlinks, o.FollowFileSymlinks = FollowNever, FollowNever }), []string{"t/link", "t/dirlink"}, []string{
			"t/link symlink", "t/dirlink symlink",
		}},
		{"follow always", opts(func(o *Options) { o.FollowDirSymlinks, o.FollowFileSymlinks = FollowAlways, FollowAlways }), []string{"t/sub", "t/link", "t"}, []string{
			"t/sub/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/sub/ok ok",
			"t/link ok",
			"t/bad.txt found Test.Marker.UNOFFICIAL",
			"t/broken skipped/broken_symlink",
			"t/dirlink/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/dirlink/ok ok",
			"t/empty empty",
			"t/fifo skipped/special_file",
			"t/good.txt ok",
			"t/link ok",
			"t/sub/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/sub/ok ok",
		}},
		{"max dir recursion 1", opts(func(o *Options) { o.MaxDirRecursion = 1 }), []string{"t/sub"}, []string{
			"t/sub/ok ok",
		}},
		{"max dir recursion 0", opts(func(o *Options) { o.MaxDirRecursion = 0 }), []string{"t/sub", "t/good.txt"}, []string{
			"t/good.txt ok",
		}},
		{"exclude matches the real path", opts(func(o *Options) {
			o.Filter.Exclude = []*regexp.Regexp{regexp.MustCompile("good.txt$"), regexp.MustCompile("^t/bad")}
		}), []string{"t/good.txt", "t/link", "t/bad.txt"}, []string{
			"t/good.txt excluded/pattern",
			"t/link excluded/pattern",
			"t/bad.txt found Test.Marker.UNOFFICIAL",
		}},
		{"include", opts(func(o *Options) { o.Filter.Include = []*regexp.Regexp{regexp.MustCompile("bad")} }), []string{"t/sub", "t/empty"}, []string{
			"t/sub/deeper/bad2 found Test.Marker.UNOFFICIAL",
			"t/sub/ok excluded/pattern",
			"t/empty excluded/pattern",
		}},
		{"exclude-dir matches the walked path", opts(func(o *Options) {
			o.Filter.ExcludeDir = []*regexp.Regexp{regexp.MustCompile("^t/sub/deeper$")}
		}), []string{"t/sub"}, []string{
			"t/sub/deeper excluded/pattern",
			"t/sub/ok ok",
		}},
		{"exclude-dir trailing slash", opts(func(o *Options) {
			o.Filter.ExcludeDir = []*regexp.Regexp{regexp.MustCompile("sub/")}
		}), []string{"t/"}, []string{"t/sub excluded/pattern"}},
		{"include-dir checks the argument", opts(func(o *Options) {
			o.Filter.IncludeDir = []*regexp.Regexp{regexp.MustCompile("deeper")}
		}), []string{"t/sub"}, []string{"t/sub excluded/pattern"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := run(t, d, tc.opt, tc.paths...)
			if tc.name == "exclude-dir trailing slash" {
				got = grep(got, "sub")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func grep(lines []string, s string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

func TestSummaryCounts(t *testing.T) {
	d := tree(t)
	_, sum := run(t, d, opts(nil), "t", "nonexist", "t/fifo")
	if sum.Directories != 3 || sum.Files != 4 || sum.Infected != 2 || sum.Errors != 0 || sum.Warnings != 2 {
		t.Errorf("summary %+v", sum)
	}
	if sum.ExitCode() != 1 {
		t.Errorf("exit code %d", sum.ExitCode())
	}
}

func TestOrderIndependentOfJobs(t *testing.T) {
	d := t.TempDir()
	for i := range 300 {
		data := fmt.Sprintf("file %d\n", i)
		if i%7 == 0 {
			data += marker
		}
		must(t, os.MkdirAll(filepath.Join(d, "t", fmt.Sprint(i%5)), 0o755))
		must(t, os.WriteFile(filepath.Join(d, "t", fmt.Sprint(i%5), fmt.Sprintf("f%03d", i)), []byte(data), 0o644))
	}
	one, _ := run(t, d, opts(func(o *Options) { o.Jobs = 1 }), "t")
	many, sum := run(t, d, opts(func(o *Options) { o.Jobs = 16 }), "t")
	if strings.Join(one, "\n") != strings.Join(many, "\n") || len(one) != 300 {
		t.Errorf("order differs between 1 and 16 jobs (%d, %d lines)", len(one), len(many))
	}
	if sum.Infected != 43 || sum.Files != 300 || sum.Directories != 6 {
		t.Errorf("summary %+v", sum)
	}
}

func TestLimits(t *testing.T) {
	d := tree(t)
	for _, tc := range []struct {
		name string
		opt  Options
		want []string
	}{
		{"max filesize", opts(func(o *Options) { o.MaxFileSize = 10 }), []string{"t/bad.txt skipped/limit", "t/good.txt ok"}},
		{"max filesize alert", opts(func(o *Options) { o.MaxFileSize = 10; o.AlertExceedsMax = true }), []string{
			"t/bad.txt found/limit Heuristics.Limits.Exceeded.MaxFileSize", "t/good.txt ok"}},
		{"max scansize alert", opts(func(o *Options) { o.MaxScanSize = 10; o.AlertExceedsMax = true }), []string{
			"t/bad.txt found/limit Heuristics.Limits.Exceeded.MaxScanSize", "t/good.txt ok"}},
		{"no limit", opts(func(o *Options) { o.MaxFileSize, o.MaxScanSize = 0, 0 }), []string{"t/bad.txt found Test.Marker.UNOFFICIAL", "t/good.txt ok"}},
		{"allmatch", opts(func(o *Options) { o.AllMatch = true }), []string{"t/bad.txt found Test.Marker.UNOFFICIAL Test.Marker2.UNOFFICIAL", "t/good.txt ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sum := run(t, d, tc.opt, "t/bad.txt", "t/good.txt")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if sum.Files != 2 {
				t.Errorf("files %d, want 2 (limits count as scanned)", sum.Files)
			}
		})
	}
}

func TestScanTimeAndPanic(t *testing.T) {
	d := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(d, "t"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "t", "slow"), []byte(slowMarker), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "t", "crash"), []byte(panicMarker), 0o644))
	got, sum := run(t, d, opts(func(o *Options) { o.MaxScanTime = 20 * time.Millisecond }), "t")
	want := "t/crash error/engine\nt/slow skipped/limit"
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if sum.Errors != 1 || sum.ExitCode() != 2 {
		t.Errorf("summary %+v", sum)
	}
	got, _ = run(t, d, opts(func(o *Options) { o.MaxScanTime = 20 * time.Millisecond; o.AlertExceedsMax = true }), "t/slow")
	if want := "t/slow found/limit Heuristics.Limits.Exceeded.MaxScanTime"; strings.Join(got, "\n") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStdin(t *testing.T) {
	d := t.TempDir()
	for _, tc := range []struct {
		in   string
		opt  Options
		want string
	}{
		{"a " + marker, opts(nil), "stdin found Test.Marker.UNOFFICIAL"},
		{"", opts(nil), "stdin ok"},
		{"0123456789", opts(func(o *Options) { o.MaxFileSize = 5 }), "stdin skipped/limit"},
	} {
		tc.opt.Stdin = strings.NewReader(tc.in)
		got, _ := run(t, d, tc.opt, "-")
		if strings.Join(got, "\n") != tc.want {
			t.Errorf("stdin %q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAccessDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	d := tree(t)
	must(t, os.WriteFile(filepath.Join(d, "t", "secret"), []byte("x"), 0o000))
	must(t, os.Mkdir(filepath.Join(d, "t", "locked"), 0o000))
	t.Cleanup(func() { os.Chmod(filepath.Join(d, "t", "locked"), 0o755) })
	got, sum := run(t, d, opts(nil), "t/secret", "t/locked")
	want := "t/secret error/access_denied\nt/locked error/open_dir"
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if sum.Errors != 2 {
		t.Errorf("errors %d", sum.Errors)
	}
}

func TestSymlinkLoop(t *testing.T) {
	d := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(d, "t", "a"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "t", "a", "f"), []byte("x"), 0o644))
	if runtime.GOOS != "windows" {
		must(t, os.Symlink("..", filepath.Join(d, "t", "a", "up")))
	}
	got, _ := run(t, d, opts(func(o *Options) { o.FollowDirSymlinks = FollowAlways }), "t")
	want := "t/a/f ok\nt/a/up skipped/symlink_loop"
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	got, _ := run(t, t.TempDir(), opts(nil), "/proc/self/status")
	if want := "/proc/self/status excluded/proc"; strings.Join(got, "") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEmitErrorStops(t *testing.T) {
	d := tree(t)
	t.Chdir(d)
	stop := errors.New("stdout closed")
	n := 0
	_, err := Run(context.Background(), fakeEngine{}, []string{"t", "t", "t"}, opts(nil), func(*report.Object) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Run = %v after %d objects, want %v after 1", err, n, stop)
	}
}

func TestCancel(t *testing.T) {
	d := tree(t)
	t.Chdir(d)
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := Run(ctx, fakeEngine{}, []string{"t", "t", "t", "t"}, opts(nil), func(*report.Object) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || !sum.Interrupted {
		t.Errorf("Run = %v, summary %+v", err, sum)
	}
}

func BenchmarkRunSmallFiles(b *testing.B) {
	d := b.TempDir()
	for i := range 1000 {
		dir := filepath.Join(d, fmt.Sprint(i%20))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), bytes.Repeat([]byte("x"), 1000), 0o644)
	}
	opt := opts(func(o *Options) { o.Jobs = runtime.NumCPU() })
	b.ResetTimer()
	for range b.N {
		Run(context.Background(), fakeEngine{}, []string{d}, opt, func(*report.Object) error { return nil })
	}
}
