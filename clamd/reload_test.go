package clamd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dbDir makes a database directory holding test.ndb with the given
// signature lines.
func dbDir(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.ndb"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	ndbOne = "Glassav.Test.One:0:*:" + hexOf(sigOne)
	ndbTwo = "Glassav.Test.Two:0:*:" + hexOf(sigTwo)
)

// TestReloadUnderLoad scans continuously over INSTREAM while the database
// is reloaded again and again (by RELOAD, by Reload, and once with a
// database that does not compile). No scan may fail or see a half-loaded
// rule set; the worst latency is reported.
func TestReloadUnderLoad(t *testing.T) {
	dir := dbDir(t, filepath.Join(t.TempDir(), "db"), ndbOne, ndbTwo)
	db, err := NewDatabase(context.Background(), EngineLoader([]string{dir}, false))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	sockDir, _ := os.MkdirTemp("", "gr")
	defer os.RemoveAll(sockDir)
	cfg.LocalSocket = filepath.Join(sockDir, "s")
	ls, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg, db, Options{Version: "test", CacheEntries: 0})
	go s.Serve(ls[0])
	defer s.Close(context.Background())
	c := &Client{Network: "unix", Address: cfg.LocalSocket, Timeout: 30 * time.Second}

	stop := make(chan struct{})
	var scans, failures atomic.Int64
	var mu sync.Mutex
	var worst time.Duration
	var wg sync.WaitGroup
	payloads := []struct{ data, want string }{
		{"aa " + sigOne + " bb", "stream: " + nameOne + " FOUND"},
		{"cc " + sigTwo, "stream: " + nameTwo + " FOUND"},
		{strings.Repeat("clean ", 5000), "stream: OK"},
	}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := payloads[i%len(payloads)]
				start := time.Now()
				r, err := c.Instream(strings.NewReader(p.data), 0)
				d := time.Since(start)
				scans.Add(1)
				if err != nil || r != p.want {
					failures.Add(1)
					t.Errorf("scan during reload: %q, %v (want %q)", r, err, p.want)
				}
				mu.Lock()
				worst = max(worst, d)
				mu.Unlock()
			}
		}()
	}
	gen0 := db.Current().Number
	for i := range 6 {
		if i%2 == 0 {
			if r, err := c.Command("RELOAD"); err != nil || !slices.Equal(r, []string{"RELOADING"}) {
				t.Errorf("RELOAD: %q, %v", r, err)
			}
		}
		if _, err := db.Reload(context.Background()); err != nil {
			t.Errorf("Reload: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A broken database: the reload fails, the old rules keep serving.
	before := db.Current()
	os.WriteFile(filepath.Join(dir, "broken.ndb"), []byte("Broken:0:*:zz\n"), 0o644)
	if _, err := db.Reload(context.Background()); err == nil {
		t.Error("reload of a broken database succeeded")
	}
	if db.Current() != before {
		t.Error("failed reload replaced the serving rules")
	}
	if db.LastError() == "" {
		t.Error("failed reload left no error")
	}
	time.Sleep(200 * time.Millisecond)
	os.Remove(filepath.Join(dir, "broken.ndb"))
	if _, err := db.Reload(context.Background()); err != nil {
		t.Errorf("reload after the fix: %v", err)
	}
	close(stop)
	wg.Wait()
	if n := db.Current().Number - gen0; n < 7 {
		t.Errorf("only %d reloads took effect", n)
	}
	if failures.Load() > 0 {
		t.Errorf("%d of %d scans failed during reloads", failures.Load(), scans.Load())
	}
	t.Logf("%d scans during %d reloads, none failed; worst latency %v", scans.Load(), db.Current().Number-gen0, worst)
}

// TestWatchCurrentLink: switching the "current" link of a versioned
// database directory makes the daemon load the new version by itself.
func TestWatchCurrentLink(t *testing.T) {
	root := t.TempDir()
	dbDir(t, filepath.Join(root, "v1"), ndbOne)
	dbDir(t, filepath.Join(root, "v2"), ndbOne, ndbTwo)
	if err := os.Symlink("v1", filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	db, err := NewDatabase(context.Background(), EngineLoader([]string{root}, false))
	if err != nil {
		t.Fatal(err)
	}
	if n := db.Current().Rules.Signatures(); n != 1 {
		t.Fatalf("v1 has %d signatures, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go db.Watch(ctx, 20*time.Millisecond, func() string { return Fingerprint([]string{root}) })
	time.Sleep(50 * time.Millisecond)
	// Switch atomically, as an updater does: a new link renamed over the old.
	tmp := filepath.Join(root, "current.new")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "current")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.Current().Rules.Signatures() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("rules not reloaded after the link switched (generation %d)", db.Current().Number)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDatabaseInfo(t *testing.T) {
	f := "../../shared/testdata/clamav/clamav-unit-tests/unit_tests/input/freshclam_testfiles/test-1.cvd"
	if _, err := os.Stat(f); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skip("../shared not present")
	}
	dir := t.TempDir()
	b, _ := os.ReadFile(f)
	os.WriteFile(filepath.Join(dir, "daily.cvd"), b, 0o644)
	info := DatabaseInfo([]string{dir})
	if info.Version != 1 || info.Built.IsZero() {
		t.Errorf("DatabaseInfo = %+v, want version 1 with a build time", info)
	}
}
