package clamd

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/glassav/glassav/report"
)

// nestedArchive returns a zip holding inner.tar.gz, a gzip of a tar
// holding a.txt with body, built with the standard library's writers.
func nestedArchive(t *testing.T, body string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "a.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(tb.Bytes())
	gw.Close()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("inner.tar.gz")
	w.Write(gb.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return zb.Bytes()
}

// TestContainersInstream checks that a detection inside containers is
// answered under the stream's name, and that the container limits and
// switches of the configuration apply.
func TestContainersInstream(t *testing.T) {
	// The marker deflated inside the tar: the bytes of the zip and of
	// the gzip do not show it; only unpacking finds it.
	body := strings.Repeat("filler text that deflates ", 100) + sigOne
	data := nestedArchive(t, body)
	if bytes.Contains(data, []byte(sigOne)) {
		t.Fatal("the marker shows in the archive's bytes")
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, "stream: " + nameOne + " FOUND"},
		{"ScanArchive no", func(c *Config) { c.ScanArchive = false }, "stream: OK"},
		{"MaxRecursion", func(c *Config) { c.MaxRecursion = 2 }, "stream: OK"},
		{"MaxRecursion alert", func(c *Config) { c.MaxRecursion = 2; c.AlertExceedsMax = true }, "stream: Heuristics.Limits.Exceeded.MaxRecursion FOUND"},
		{"MaxRecursion enough", func(c *Config) { c.MaxRecursion = 4; c.AlertExceedsMax = true }, "stream: " + nameOne + " FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.set(cfg)
			s := newTestServer(t, cfg, Options{})
			got, err := s.unix().Instream(bytes.NewReader(data), 1024)
			if err != nil || got != tc.want {
				t.Fatalf("INSTREAM: %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestContainersHTTP checks the HTTP API's report of a detection inside
// containers (the member path) and of a limit hit (JSON and metrics).
func TestContainersHTTP(t *testing.T) {
	f := getFixture(t)
	db, err := NewDatabase(context.Background(), EngineLoader([]string{f.db}, false))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxFiles = 3
	m := NewMetrics(db)
	s := NewServer(cfg, db, Options{Version: "test", Metrics: m})
	defer s.Close(context.Background())
	ts := httptest.NewServer(s.HTTPHandler(HTTPOptions{}))
	defer ts.Close()
	post := func(name string, body []byte) report.Object {
		t.Helper()
		resp, err := http.Post(ts.URL+"/v1/scan?name="+name, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var o report.Object
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatalf("reply %q: %v", b, err)
		}
		return o
	}
	o := post("mail.zip", nestedArchive(t, strings.Repeat("filler ", 50)+sigOne))
	if o.Status != report.StatusFound || len(o.Detections) != 1 || o.Path != "mail.zip" {
		t.Fatalf("nested: %+v", o)
	}
	if d := o.Detections[0]; !slices.Equal(d.ContainerPath, []string{"inner.tar.gz", "inner.tar"}) || !slices.Equal(d.ContainerVia, []string{"zip", "gzip"}) {
		t.Errorf("container path %q via %q", d.ContainerPath, d.ContainerVia)
	}
	if o.Members != 2 || o.Scanned <= o.Size {
		t.Errorf("members %d, scanned %d of %d", o.Members, o.Scanned, o.Size)
	}

	// Three members where MaxFiles is 3: the archive counts as one.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, n := range []string{"a", "b", "c"} {
		w, _ := zw.Create(n)
		w.Write([]byte("clean " + n))
	}
	zw.Close()
	o = post("three.zip", zb.Bytes())
	if o.Status != report.StatusOK || o.Limit != report.LimitMaxFiles || !slices.Equal(o.Limits, []string{"MaxFiles"}) {
		t.Errorf("limit: %+v", o)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `glassav_limit_hits_total{limit="MaxFiles"} 1`) {
		t.Errorf("metrics lack the limit hit:\n%s", b)
	}
}
