package update

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDownloadResume leaves half a bundle in download/ and expects the
// update to fetch only the rest with a range request.
func TestDownloadResume(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	if _, err := Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p.release(2, files(2), false)
	full := p.read("bundles/2.tar")
	half := len(full) / 2
	if err := os.WriteFile(filepath.Join(state, "download", "2.tar"), full[:half], 0o644); err != nil {
		t.Fatal(err)
	}
	var rangeHdr atomic.Value
	var served atomic.Int64
	fs := http.FileServer(http.Dir(p.public))
	p.setOverride("/bundles/2.tar", func(w http.ResponseWriter, r *http.Request) {
		rangeHdr.Store(r.Header.Get("Range"))
		cw := &countingWriter{ResponseWriter: w, n: &served}
		fs.ServeHTTP(cw, r)
	})
	res, err := Update(ctx, cfg)
	if err != nil || res.To != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	installed(t, state, 2)
	if got := rangeHdr.Load(); got != "bytes="+itoa(half)+"-" {
		t.Errorf("Range %q", got)
	}
	if n := served.Load(); n != int64(len(full)-half) {
		t.Errorf("served %d bytes, want the missing %d", n, len(full)-half)
	}
	if _, err := os.Stat(filepath.Join(state, "download", "2.tar")); !os.IsNotExist(err) {
		t.Errorf("download kept after install: %v", err)
	}
}

// TestDownloadCorruptPartial: a partial download with wrong bytes fails
// the hash check, is removed, and the next run succeeds.
func TestDownloadCorruptPartial(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	p.release(2, files(2), false)
	full := p.read("bundles/2.tar")
	junk := make([]byte, len(full)/2)
	os.MkdirAll(filepath.Join(state, "download"), 0o755)
	os.WriteFile(filepath.Join(state, "download", "2.tar"), junk, 0o644)
	if _, err := Update(ctx, cfg); !errors.Is(err, ErrHash) {
		t.Fatalf("corrupt partial: %v", err)
	}
	if res, err := Update(ctx, cfg); err != nil || res.To != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	installed(t, state, 2)
}

// TestTruncatedThenResumed: a connection cut mid-download keeps the part
// received, and the next run completes it.
func TestTruncatedThenResumed(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	full := p.read("bundles/1.tar")
	p.setOverride("/bundles/1.tar", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", itoa(len(full)))
		w.Write(full[:1000])
		// Returning closes the connection short of Content-Length.
	})
	if _, err := Update(ctx, cfg); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut connection: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(state, "download", "1.tar")); err != nil || fi.Size() != 1000 {
		t.Fatalf("partial download: %v", err)
	}
	p.setOverride("/bundles/1.tar", nil)
	if res, err := Update(ctx, cfg); err != nil || res.To != 1 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	installed(t, state, 1)
}

func TestNextDelay(t *testing.T) {
	r := newTestRand()
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for range 1000 {
		d := NextDelay(4*time.Hour, 30*time.Minute, r)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 4*time.Hour || hi >= 4*time.Hour+30*time.Minute || hi-lo < 20*time.Minute {
		t.Errorf("delays range over [%v, %v], want spread within [4h, 4h30m)", lo, hi)
	}
	if d := NextDelay(time.Hour, 0, r); d != time.Hour {
		t.Errorf("no jitter: %v", d)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// TestProxy updates through an HTTP forward proxy given as a URL, as
// --proxy does, and checks that every request went through it.
func TestProxy(t *testing.T) {
	p := newPublisher(t)
	p.release(1, files(1), false)
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	hc, err := NewHTTPClient(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cfg := p.config(state)
	cfg.HTTPClient = hc
	if res, err := Update(context.Background(), cfg); err != nil || res.To != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	installed(t, state, 1)
	if n := proxied.Load(); n < 3 { // checkpoint, tiles, bundle
		t.Errorf("%d requests through the proxy", n)
	}
	if _, err := NewHTTPClient("not a url"); err == nil {
		t.Error("a malformed proxy URL was accepted")
	}
}

func TestReadFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "update.conf")
	os.WriteFile(name, []byte("# comment\nmirror https://m.example/avdb\norigin o.example/avdb\npublisher p+1+x\nwitness w1+2+y\nwitness w2+3+z\nthreshold 2\nmax-age 48h\nstate /var/lib/x\ndelta no\nschedule 4h\njitter 30m\n"), 0o644)
	f, err := ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mirror != "https://m.example/avdb" || f.Origin != "o.example/avdb" || len(f.Publishers) != 1 || len(f.Witnesses) != 2 ||
		f.Threshold != 2 || f.MaxAge != 48*time.Hour || f.State != "/var/lib/x" || !f.NoDelta || f.Schedule != 4*time.Hour || f.Jitter != 30*time.Minute {
		t.Errorf("%+v", f)
	}
	for _, bad := range []string{"threshold two\n", "max-age 3 days\n", "delta maybe\n", "colour blue\n"} {
		os.WriteFile(name, []byte(bad), 0o644)
		if _, err := ReadFile(name); err == nil || !strings.Contains(err.Error(), ":1:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestDownloadRangeIgnored: a mirror that ignores Range (200 with the whole
// file) or cannot satisfy it (416) still yields the right file.
func TestDownloadRangeIgnored(t *testing.T) {
	p := newPublisher(t)
	p.release(1, files(1), false)
	full := p.read("bundles/1.tar")
	for _, tt := range []struct {
		name    string
		partial []byte
		handler http.HandlerFunc
	}{
		{"200 to a range request", full[:100], func(w http.ResponseWriter, r *http.Request) { w.Write(full) }},
		{"416 to a range request", full[:len(full)-1], func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") != "" {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			w.Write(full)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "1.tar")
			os.WriteFile(dst, tt.partial, 0o644)
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			m := newMirror(srv.URL, srv.Client())
			err := m.download(context.Background(), "bundles/1.tar", dst, int64(len(full)))
			got, _ := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, full) {
				t.Fatalf("%v; file equal: %v", err, bytes.Equal(got, full))
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		Schedule(ctx, 20*time.Millisecond, 10*time.Millisecond, func(context.Context) {
			if calls.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Schedule did not return after its context ended")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}
