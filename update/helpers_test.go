package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/translog"
)

const testOrigin = "glassav.test/avdb"

// publisher is an in-process publisher writing a real static tree, served
// over real HTTP on loopback by an httptest server whose responses a test
// can override per path (to truncate, extend or replace files).
type publisher struct {
	t        *testing.T
	state    string
	public   string
	skey     string
	vkey     string
	log      *translog.Log
	last     *bundle.Manifest
	srv      *httptest.Server
	mu       sync.Mutex
	override map[string]func(w http.ResponseWriter, r *http.Request)
}

func newPublisher(t *testing.T) *publisher {
	t.Helper()
	p := &publisher{t: t, state: t.TempDir(), public: t.TempDir(), override: map[string]func(http.ResponseWriter, *http.Request){}}
	var err error
	if p.skey, p.vkey, err = translog.GenerateKey("publisher"); err != nil {
		t.Fatal(err)
	}
	if p.log, err = translog.Create(p.state, p.public, testOrigin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.log.Close() })
	fs := http.FileServer(http.Dir(p.public))
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		h := p.override[r.URL.Path]
		p.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *publisher) setOverride(path string, h func(http.ResponseWriter, *http.Request)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h == nil {
		delete(p.override, path)
		return
	}
	p.override[path] = h
}

// files returns a distinct, compiling database set for version v.
func files(v int64) map[string][]byte {
	return map[string][]byte{
		"base.hdb":  []byte("44d88612fea8a8f36de82e1278abb02f:68:Glassav.Test.Base\n"),
		"test.ndb":  fmt.Appendf(nil, "Glassav.Test.V%d:0:*:%x\n", v, fmt.Sprintf("glassav-test-version-%d", v)),
		"rules.yar": fmt.Appendf(nil, "rule glassav_v%d { strings: $a = \"glassav-yara-%d\" condition: $a }\n", v, v),
	}
}

// release publishes files as version v (with a delta from the previous
// release when delta is set) without test-compiling them, as a hostile
// or broken publisher could, and signs the log.
func (p *publisher) release(v int64, fs map[string][]byte, delta bool) *translog.Release {
	p.t.Helper()
	full, m, err := bundle.Build(v, fs)
	if err != nil {
		p.t.Fatal(err)
	}
	sigs := 0
	if res, err := bundle.CheckFiles(context.Background(), fs); err == nil {
		sigs = res.Signatures
	}
	rel := &translog.Release{Version: v, SHA256: sha256.Sum256(full), Size: int64(len(full)),
		Manifest: sha256.Sum256(m.Format()), Files: len(m.Files), Signatures: sigs}
	if delta && p.last != nil {
		d, _, err := bundle.BuildDelta(p.last, v, fs)
		if err != nil {
			p.t.Fatal(err)
		}
		rel.Delta = &translog.Delta{From: p.last.Version, SHA256: sha256.Sum256(d), Size: int64(len(d))}
		p.write(fmt.Sprintf("bundles/%d-from-%d.tar", v, p.last.Version), d)
	}
	p.write(fmt.Sprintf("bundles/%d.tar", v), full)
	p.last = m
	p.append(rel.Leaf())
	return rel
}

func (p *publisher) append(leaves ...[]byte) {
	p.t.Helper()
	if _, err := p.log.Append(leaves...); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.log.Sign(p.skey, time.Now()); err != nil {
		p.t.Fatal(err)
	}
}

func (p *publisher) write(rel string, b []byte) {
	p.t.Helper()
	name := filepath.Join(p.public, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *publisher) read(rel string) []byte {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.public, filepath.FromSlash(rel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// config returns an installation's configuration pinned to p.
func (p *publisher) config(state string) *Config {
	return &Config{
		Mirror:     p.srv.URL,
		Policy:     translog.Policy{Origin: testOrigin, Publishers: []string{p.vkey}},
		StateDir:   state,
		HTTPClient: p.srv.Client(),
	}
}

// installed checks the state's current version and that its files are
// exactly version v's.
func installed(t *testing.T, state string, v int64) {
	t.Helper()
	cur, _, err := Installed(state)
	if err != nil || cur != v {
		t.Fatalf("current version %d (%v), want %d", cur, err, v)
	}
	want := files(v)
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(state, "current", name))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("current/%s: %v, content differs from version %d", name, err, v)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(state, "current"))
	if len(ents) != len(want)+1 { // + MANIFEST
		t.Fatalf("current holds %d entries, want %d", len(ents), len(want)+1)
	}
}

// versionsIn lists the entries of state/versions.
func versionsIn(t *testing.T, state string) string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(state, "versions"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
