package clamd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLimits: objects over MaxFileSize are skipped and called clean, as
// clamd does, unless AlertExceedsMax makes the limit a detection.
func TestLimits(t *testing.T) {
	for _, alert := range []bool{false, true} {
		cfg := testConfig()
		cfg.MaxFileSize = 16
		cfg.AlertExceedsMax = alert
		gs := newTestServer(t, cfg, Options{})
		want := "stream: OK"
		if alert {
			want = "stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND"
		}
		if r, err := gs.unix().Instream(strings.NewReader("0123456789 "+sigOne), 0); err != nil || r != want {
			t.Errorf("alert %v: %q, %v; want %q", alert, r, err, want)
		}
		if r, err := gs.unix().Instream(strings.NewReader("short"), 0); err != nil || r != "stream: OK" {
			t.Errorf("alert %v, small: %q, %v", alert, r, err)
		}
	}
}

func TestExcludePath(t *testing.T) {
	f := getFixture(t)
	cfg := testConfig()
	cfg.ExcludePath = []*regexp.Regexp{regexp.MustCompile(`/sub/`)}
	gs := newTestServer(t, cfg, Options{})
	r, err := gs.unix().Command("CONTSCAN " + f.tree)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(f.tree, "a.txt") + ": " + nameOne + " FOUND",
		filepath.Join(f.tree, "both.txt") + ": " + nameOne + " FOUND",
		filepath.Join(f.tree, "sub") + ": Excluded",
	}
	if !slices.Equal(r, want) {
		t.Errorf("CONTSCAN with ExcludePath:\n%q\nwant\n%q", r, want)
	}
	// MULTISCAN says nothing about excluded files.
	r, _ = gs.unix().Command("MULTISCAN " + f.tree)
	slices.Sort(r)
	if !slices.Equal(r, want[:2]) {
		t.Errorf("MULTISCAN with ExcludePath: %q", r)
	}
}

func TestMultiscanNeedsThreads(t *testing.T) {
	f := getFixture(t)
	cfg := testConfig()
	cfg.MaxThreads = 1
	gs := newTestServer(t, cfg, Options{})
	r, _ := gs.unix().Command("MULTISCAN " + f.tree)
	want := f.tree + ": Not enough threads for multiscan. Increase MaxThreads. ERROR"
	if !slices.Equal(r, []string{want}) {
		t.Errorf("MULTISCAN with MaxThreads 1: %q", r)
	}
}

func TestAllMatchDisabled(t *testing.T) {
	f := getFixture(t)
	cfg := testConfig()
	cfg.AllowAllMatchScan = false
	gs := newTestServer(t, cfg, Options{})
	r, _ := gs.unix().Command("ALLMATCHSCAN " + f.tree)
	if !slices.Equal(r, []string{f.tree + ": ALLMATCHSCAN command disabled by clamd configuration. ERROR"}) {
		t.Errorf("ALLMATCHSCAN disabled: %q", r)
	}
}

// TestVerdictCache: a repeated stream is answered from the cache, but
// never across a reload.
func TestVerdictCache(t *testing.T) {
	calls := 0
	db, _ := NewDatabase(context.Background(), func(context.Context) (Rules, Info, error) {
		return countingRules{&calls}, Info{}, nil
	})
	s := NewServer(testConfig(), db, Options{Version: "t", CacheEntries: 2})
	g := db.Current()
	data := []byte("xx " + sigOne)
	for range 3 {
		if o := s.scanBytes(context.Background(), g, "s", data, false); len(o.names) != 1 {
			t.Fatalf("verdict %+v", o)
		}
	}
	if calls != 1 {
		t.Errorf("3 scans of the same bytes ran the engine %d times, want 1", calls)
	}
	g2, _ := db.Reload(context.Background())
	s.scanBytes(context.Background(), g2, "s", data, false)
	if calls != 2 {
		t.Errorf("after a reload the engine ran %d times in all, want 2", calls)
	}
	for i := range 5 { // eviction keeps the size bounded
		s.scanBytes(context.Background(), g2, "s", []byte{byte(i)}, false)
	}
	if n := len(s.cache.entries); n > 2 {
		t.Errorf("cache holds %d entries, limit 2", n)
	}
}

type countingRules struct{ n *int }

func (c countingRules) Signatures() int { return 1 }
func (c countingRules) Scan(ctx context.Context, o *engineObject, opt engineScanOptions) (*engineResult, error) {
	*c.n++
	return fakeRules{}.Scan(ctx, o, opt)
}

func BenchmarkInstream(b *testing.B) {
	gs := newTestServer(b, nil, Options{})
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	c := gs.unix()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if r, err := c.Instream(bytes.NewReader(data), 64<<10); err != nil || r != "stream: OK" {
			b.Fatalf("%q %v", r, err)
		}
	}
}

func BenchmarkSplitCommand(b *testing.B) {
	in := []byte("zSCAN /var/spool/mail/some/long/path/name.eml\x00")
	for b.Loop() {
		splitCommand(in)
	}
}

func TestLocalSocketMode(t *testing.T) {
	dir, err := os.MkdirTemp("", "gm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := DefaultConfig()
	cfg.LocalSocket = filepath.Join(dir, "s")
	cfg.LocalSocketMode = 0o660
	cfg.LocalSocketGroup = strconv.Itoa(os.Getgid())
	// A stale socket file from a crashed daemon is replaced.
	stale, err := net.Listen("unix", cfg.LocalSocket)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	ls, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ls[0].Close()
	fi, err := os.Stat(cfg.LocalSocket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	// A live one is not.
	if _, err := Listen(cfg); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
}
