package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glassav/glassav/translog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "glassav.test/avdb"

type key struct{ skey, vkey string }

func newKey(t testing.TB, name string) key {
	t.Helper()
	s, v, err := translog.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return key{s, v}
}

func leaf(v int64) []byte {
	r := &translog.Release{Version: v, SHA256: sha256.Sum256(fmt.Appendf(nil, "%d", v)), Size: v, Files: 1, Signatures: 1}
	return r.Leaf()
}

// newLog returns a log with n leaves, signed by pub.
func newLog(t testing.TB, pub key, n int) *translog.Log {
	t.Helper()
	dir := t.TempDir()
	l, err := translog.Create(filepath.Join(dir, "state"), filepath.Join(dir, "public"), origin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	grow(t, l, pub, n)
	return l
}

// grow appends leaves up to n and signs.
func grow(t testing.TB, l *translog.Log, pub key, n int) {
	t.Helper()
	for l.Tree().N < int64(n) {
		if _, err := l.Append(leaf(l.Tree().N + 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Sign(pub.skey, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects the witness's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWitness runs a witness over HTTP on loopback with its state in dir.
func startWitness(t testing.TB, dir string, w, pub key) (*Server, string, *logBuffer) {
	t.Helper()
	lb := new(logBuffer)
	s, err := NewServer(dir, w.skey, map[string][]string{origin: {pub.vkey}}, slog.New(slog.NewTextHandler(lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, srv.URL, lb
}

func TestWitness(t *testing.T) {
	pub, w1, w2 := newKey(t, "publisher.test"), newKey(t, "w1.test"), newKey(t, "w2.test")
	l := newLog(t, pub, 3)
	dir1 := t.TempDir()
	s1, url1, _ := startWitness(t, dir1, w1, pub)
	_, url2, _ := startWitness(t, t.TempDir(), w2, pub)
	ctx := context.Background()
	var c Client
	pol := &translog.Policy{Origin: origin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey, s1.VKey()}, Threshold: 2}
	pol.Witnesses[1], _ = translog.CosignatureVKey(w2.vkey)

	cosignAll := func() *translog.Checkpoint {
		t.Helper()
		for _, u := range []string{url1, url2} {
			sigs, err := c.Cosign(ctx, u, l)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.AddSignatureLines(sigs); err != nil {
				t.Fatal(err)
			}
		}
		msg, _ := l.Checkpoint()
		cp, err := pol.Verify(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	if cp := cosignAll(); cp.Tree.N != 3 || len(cp.Witnesses) != 2 {
		t.Fatalf("%+v", cp)
	}
	grow(t, l, pub, 7)
	if cp := cosignAll(); cp.Tree.N != 7 {
		t.Fatalf("%+v", cp)
	}
	// Re-signing the same tree later is cosigned again (fresh timestamps).
	grow(t, l, pub, 7)
	cosignAll()

	// A restarted witness keeps its state: a stale old size gets 409 with
	// the stored size.
	s1.Close()
	_, url1b, _ := startWitness(t, dir1, w1, pub)
	msg, _ := l.Checkpoint()
	_, err := c.AddCheckpoint(ctx, url1b, 3, mustProof(t, l, 3, 7), msg)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Size != 7 {
		t.Fatalf("stale old size: %v", err)
	}
	grow(t, l, pub, 9)
	if _, err := c.Cosign(ctx, url1b, l); err != nil {
		t.Fatal(err)
	}
}

func mustProof(t testing.TB, l *translog.Log, n, m int64) tlog.TreeProof {
	p, err := l.ConsistencyProof(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWitnessRefuses covers the attacks a witness must refuse.
func TestWitnessRefuses(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	main := newLog(t, pub, 5)
	_, url, logs := startWitness(t, t.TempDir(), w, pub)
	ctx := context.Background()
	var c Client
	if _, err := c.Cosign(ctx, url, main); err != nil {
		t.Fatal(err)
	}

	// A fork: another log of the same origin and key, diverging at leaf 3.
	fork := newLog(t, pub, 2)
	fork.Append([]byte("glassav-release/v1\nversion 3\nevil\n"))
	grow(t, fork, pub, 8)
	fmsg, _ := fork.Checkpoint()
	_, err := c.AddCheckpoint(ctx, url, 5, mustProof(t, fork, 5, 8), fmsg)
	if !statusIs(err, http.StatusUnprocessableEntity) || !strings.Contains(err.Error(), "fork") {
		t.Fatalf("fork: %v", err)
	}
	if !strings.Contains(logs.String(), "refusing to cosign a fork") {
		t.Fatalf("fork not logged: %s", logs)
	}
	// Cosign negotiates the size, then the proof fails.
	if _, err := c.Cosign(ctx, url, fork); !statusIs(err, http.StatusUnprocessableEntity) {
		t.Fatalf("fork via Cosign: %v", err)
	}
	// Same size, different tree.
	fork5 := newLog(t, pub, 4)
	fork5.Append([]byte("glassav-release/v1\nversion 5\nevil\n"))
	grow(t, fork5, pub, 5)
	f5, _ := fork5.Checkpoint()
	if _, err := c.AddCheckpoint(ctx, url, 5, nil, f5); !statusIs(err, http.StatusUnprocessableEntity) {
		t.Fatalf("same-size fork: %v", err)
	}

	// A rollback: an older checkpoint of the main log.
	old := newLog(t, pub, 3)
	omsg, _ := old.Checkpoint()
	if _, err := c.AddCheckpoint(ctx, url, 5, nil, omsg); !statusIs(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "rollback") {
		t.Fatalf("rollback: %v", err)
	}
	if _, err := c.AddCheckpoint(ctx, url, 3, nil, omsg); !errors.As(err, new(*ConflictError)) {
		t.Fatalf("rollback claiming old size 3: %v", err)
	}
	if _, err := c.Cosign(ctx, url, old); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("rollback via Cosign: %v", err)
	}

	// Wrong publisher key, tampered checkpoint, unknown log.
	other := newKey(t, "publisher.test")
	grow(t, main, other, 6)
	m6, _ := main.Checkpoint()
	if _, err := c.AddCheckpoint(ctx, url, 5, mustProof(t, main, 5, 6), m6); !statusIs(err, http.StatusForbidden) {
		t.Fatalf("unknown publisher key: %v", err)
	}
	grow(t, main, pub, 6)
	m6, _ = main.Checkpoint()
	tampered := bytes.Replace(m6, []byte("\n6\n"), []byte("\n7\n"), 1)
	if _, err := c.AddCheckpoint(ctx, url, 5, mustProof(t, main, 5, 6), tampered); !statusIs(err, http.StatusForbidden) {
		t.Fatalf("tampered: %v", err)
	}
	dir := t.TempDir()
	ol, _ := translog.Create(filepath.Join(dir, "s"), filepath.Join(dir, "p"), "other.test/log")
	defer ol.Close()
	ol.Append(leaf(1))
	ol.Sign(pub.skey, time.Now())
	if _, err := c.Cosign(ctx, url, ol); !statusIs(err, http.StatusNotFound) {
		t.Fatalf("unknown log: %v", err)
	}
	// A bad proof for the right tree.
	bad := mustProof(t, main, 5, 6)
	bad[0][0] ^= 1
	if _, err := c.AddCheckpoint(ctx, url, 5, bad, m6); !statusIs(err, http.StatusUnprocessableEntity) {
		t.Fatalf("bad proof: %v", err)
	}
	// After all that, the honest next checkpoint is still cosigned.
	sigs, err := c.Cosign(ctx, url, main)
	if err != nil {
		t.Fatal(err)
	}
	main.AddSignatureLines(sigs)
	msg, _ := main.Checkpoint()
	pol := &translog.Policy{Origin: origin, Publishers: []string{pub.vkey}, Witnesses: []string{w.vkey}, Threshold: 1}
	if _, err := pol.Verify(msg, nil); err != nil {
		t.Fatal(err)
	}
}

func statusIs(err error, code int) bool {
	var we *Error
	return errors.As(err, &we) && we.Status == code
}

func TestStateLocked(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	dir := t.TempDir()
	s, err := NewServer(dir, w.skey, map[string][]string{origin: {pub.vkey}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := NewServer(dir, w.skey, map[string][]string{origin: {pub.vkey}}, nil); err == nil {
		t.Fatal("two witnesses share one state directory")
	}
}

func TestParseRequest(t *testing.T) {
	var h tlog.Hash
	h[0] = 1
	body := FormatRequest(5, tlog.TreeProof{h, h}, []byte("note\n\n— x y\n"))
	n, p, msg, err := ParseRequest(body)
	if err != nil || n != 5 || len(p) != 2 || string(msg) != "note\n\n— x y\n" {
		t.Fatalf("%d %v %q %v", n, p, msg, err)
	}
	for _, bad := range []string{"", "old -1\n\nx", "old 01\n\nx", "old 1\nnot-base64\n\nx", "old 1\n\n", "old 1\n"} {
		if _, _, _, err := ParseRequest([]byte(bad)); err == nil {
			t.Errorf("ParseRequest(%q) succeeded", bad)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	var h tlog.Hash
	f.Add(FormatRequest(3, tlog.TreeProof{h}, []byte("o\n3\nAAAA\n\n— k c2ln\n")))
	f.Add([]byte("old 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, p, msg, err := ParseRequest(b)
		if err != nil {
			return
		}
		if !bytes.Equal(FormatRequest(n, p, msg), b) {
			t.Fatalf("not canonical: %q", b)
		}
	})
}

// TestPlainCheckpoint checks that a checkpoint without glassav's time line
// (any c2sp.org/tlog-checkpoint) is witnessed too, and that the
// cosignature verifies with the witness's vkey.
func TestPlainCheckpoint(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	s, err := NewServer(t.TempDir(), w.skey, map[string][]string{origin: {pub.vkey}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLog(t, pub, 1)
	text := fmt.Sprintf("%s\n1\n%s\n", origin, l.Tree().Hash)
	signer, err := note.NewSigner(pub.skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := s.AddCheckpoint(0, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(pub.vkey)
	if err != nil {
		t.Fatal(err)
	}
	cv, _ := translog.CosignatureVKey(w.vkey)
	if cv != s.VKey() {
		t.Fatalf("VKey %q, want %q", s.VKey(), cv)
	}
	n, err := note.Open(append(msg, sigs...), note.VerifierList(v))
	if err != nil || len(n.UnverifiedSigs) != 1 || n.UnverifiedSigs[0].Name != "w1.test" {
		t.Fatalf("cosigned note: %v %+v", err, n)
	}
}
