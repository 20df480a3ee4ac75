package clamd

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/report"
)

func TestHTTPAPI(t *testing.T) {
	f := getFixture(t)
	db, err := NewDatabase(context.Background(), EngineLoader([]string{f.db}, false))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	m := NewMetrics(db)
	s := NewServer(cfg, db, Options{Version: "test", Metrics: m, CacheEntries: 16})
	defer s.Close(context.Background())
	ts := httptest.NewServer(s.HTTPHandler(HTTPOptions{Token: "sekrit"}))
	defer ts.Close()

	do := func(method, path, body, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	scan := func(body string) report.Object {
		t.Helper()
		resp, b := do("POST", "/v1/scan?name=mail.eml", body, "sekrit")
		if resp.StatusCode != 200 {
			t.Fatalf("scan: %d %s", resp.StatusCode, b)
		}
		var o report.Object
		if err := json.Unmarshal([]byte(b), &o); err != nil {
			t.Fatalf("scan reply %q: %v", b, err)
		}
		return o
	}
	o := scan("xx " + sigOne)
	if o.Status != report.StatusFound || len(o.Detections) != 1 || o.Detections[0].Name != nameOne || o.Path != "mail.eml" || o.Record != "object" {
		t.Errorf("infected: %+v", o)
	}
	if o2 := scan("xx " + sigOne); o2.Status != report.StatusFound || o2.Detections[0].Name != nameOne {
		t.Errorf("infected again (cached): %+v", o2)
	}
	if o := scan("clean"); o.Status != report.StatusOK || len(o.Detections) != 0 || o.Size != 5 {
		t.Errorf("clean: %+v", o)
	}
	if resp, _ := do("POST", "/v1/scan", strings.Repeat("x", streamMax+1), "sekrit"); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %d, want 413", resp.StatusCode)
	}
	if resp, _ := do("POST", "/v1/scan", "x", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	if resp, _ := do("POST", "/v1/scan", "x", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	if resp, b := do("GET", "/healthz", "", ""); resp.StatusCode != 200 || b != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, b)
	}
	resp, b := do("GET", "/v1/version", "", "sekrit")
	var v VersionInfo
	if err := json.Unmarshal([]byte(b), &v); err != nil || resp.StatusCode != 200 || v.Version != "test" || v.Signatures != 2 || v.Generation != 1 || v.Clamd != "glassav test" {
		t.Errorf("version: %d %s %+v", resp.StatusCode, b, v)
	}
	resp, b = do("GET", "/metrics", "", "sekrit")
	for _, want := range []string{
		`glassav_scans_total{source="http"} 3`,
		"glassav_detections_total 2",
		"glassav_verdict_cache_hits_total 1",
		`glassav_limit_hits_total{limit="StreamMaxLength"} 1`,
		"glassav_scan_duration_seconds_bucket",
		"glassav_rules_signatures 2",
		"glassav_rules_generation 1",
		"glassav_rules_age_seconds",
		"glassav_scanned_bytes_total",
		"glassav_scan_errors_total 0",
	} {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestHTTPAllowList(t *testing.T) {
	db, _ := NewDatabase(context.Background(), func(context.Context) (Rules, Info, error) { return fakeRules{}, Info{}, nil })
	s := NewServer(testConfig(), db, Options{Version: "test"})
	defer s.Close(context.Background())
	for _, tc := range []struct {
		allow string
		code  int
	}{{"10.0.0.0/8", http.StatusForbidden}, {"127.0.0.0/8", 200}, {"::1/128", http.StatusForbidden}} {
		ts := httptest.NewServer(s.HTTPHandler(HTTPOptions{Allow: []netip.Prefix{netip.MustParsePrefix(tc.allow)}}))
		resp, err := http.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("allow %s: %d, want %d", tc.allow, resp.StatusCode, tc.code)
		}
		ts.Close()
	}
}

func TestVersionFormat(t *testing.T) {
	built := time.Date(2026, 11, 29, 17, 38, 37, 0, time.Local)
	db, _ := NewDatabase(context.Background(), func(context.Context) (Rules, Info, error) {
		return fakeRules{}, Info{Version: 27900, Built: built}, nil
	})
	s := NewServer(testConfig(), db, Options{Version: "1.2.3"})
	if got, want := s.Version(), "glassav 1.2.3/27900/Sun Nov 29 17:38:37 2026"; got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
}

// TestHTTPSlowBody: an upload that stalls for ReadTimeout is dropped, and
// the server keeps serving.
func TestHTTPSlowBody(t *testing.T) {
	db, _ := NewDatabase(context.Background(), func(context.Context) (Rules, Info, error) { return fakeRules{}, Info{}, nil })
	cfg := testConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	s := NewServer(cfg, db, Options{Version: "test"})
	defer s.Close(context.Background())
	ts := httptest.NewServer(s.HTTPHandler(HTTPOptions{}))
	defer ts.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("partial"))
	start := time.Now()
	resp, err := http.Post(ts.URL+"/v1/scan", "application/octet-stream", pr)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("stalled upload answered 200")
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stalled upload held for %v", d)
	}
	resp, err = http.Post(ts.URL+"/v1/scan", "application/octet-stream", strings.NewReader(sigOne))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a stalled upload: %v %v", resp, err)
	}
	resp.Body.Close()
}
