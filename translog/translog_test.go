package translog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "glassav.test/avdb"

// keyPair is a generated key in both forms.
type keyPair struct{ skey, vkey string }

func newKey(t testing.TB, name string) keyPair {
	t.Helper()
	s, v, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{s, v}
}

func release(v int64) []byte {
	r := &Release{Version: v, SHA256: sha256.Sum256(fmt.Appendf(nil, "bundle %d", v)), Size: 1000 + v,
		Manifest: sha256.Sum256(fmt.Appendf(nil, "manifest %d", v)), Files: 3, Signatures: int(10 * v)}
	return r.Leaf()
}

// newLog creates a log with n release leaves in fresh directories.
func newLog(t testing.TB, n int) (*Log, string) {
	t.Helper()
	dir := t.TempDir()
	pub := filepath.Join(dir, "public")
	l, err := Create(filepath.Join(dir, "state"), pub, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for i := 1; i <= n; i++ {
		if _, err := l.Append(release(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	return l, pub
}

// cosign adds cosignatures by the given witness keys to the log's
// checkpoint, as witnesses do.
func cosign(t testing.TB, l *Log, ws ...keyPair) []byte {
	t.Helper()
	msg, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := NoteText(msg)
	for _, w := range ws {
		s, err := NewCosigner(w.skey)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AddSignatureLines(signed[len(text)+1:]); err != nil {
			t.Fatal(err)
		}
	}
	msg, err = l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestCosignatureKeysMatchTorchwood(t *testing.T) {
	w := newKey(t, "witness1.test")
	s, err := NewCosigner(w.skey)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := CosignatureVKey(w.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Verifier().String(); got != cv {
		t.Fatalf("torchwood vkey %q, CosignatureVKey %q", got, cv)
	}
	if again, _ := CosignatureVKey(cv); again != cv {
		t.Fatalf("CosignatureVKey not idempotent: %q", again)
	}
	text := FormatCheckpoint(testOrigin, tlog.Tree{N: 1}, time.Unix(1700000000, 0))
	sig, err := s.Sign(text)
	if err != nil {
		t.Fatal(err)
	}
	v, err := newCosigVerifier(cv)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyHash() != s.KeyHash() || !v.Verify(text, sig) {
		t.Fatal("our cosignature verifier rejects torchwood's cosignature")
	}
	if !s.Verifier().Verify(text, sig) {
		t.Fatal("torchwood rejects its own cosignature")
	}
	bad := bytes.Clone(text)
	bad[len(bad)-2] ^= 1
	if v.Verify(bad, sig) {
		t.Fatal("cosignature verified over altered text")
	}
	if vk, err := VKeyFromSigner(w.skey); err != nil || vk != w.vkey {
		t.Fatalf("VKeyFromSigner = %q, %v; want %q", vk, err, w.vkey)
	}
}

func TestLeaves(t *testing.T) {
	r := &Release{Version: 7, Size: 12, Files: 2, Signatures: 5, Delta: &Delta{From: 6, Size: 3}}
	r.SHA256[0], r.Manifest[31] = 0xab, 0xcd
	got, err := ParseRelease(r.Leaf())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Leaf(), r.Leaf()) || got.Delta == nil || got.Delta.From != 6 {
		t.Fatalf("round trip: %+v", got)
	}
	good := string(release(3))
	bad := map[string]string{
		"uppercase hex":    strings.Replace(good, "sha256 ", "sha256 A", 1)[:len(good)],
		"leading zero":     strings.Replace(good, "version 3", "version 03", 1),
		"missing line":     strings.Replace(good, "files 3\n", "", 1),
		"extra line":       good + "extra 1\n",
		"blank line":       good + "\n",
		"no final newline": strings.TrimSuffix(good, "\n"),
		"zero version":     strings.Replace(good, "version 3", "version 0", 1),
		"delta not older":  strings.TrimSuffix(string(r.Leaf()), "\n") + "",
		"key leaf":         string((&KeyChange{ActionAdd, RolePublisher, newKey(t, "p").vkey}).Leaf()),
	}
	bad["delta not older"] = strings.Replace(string(r.Leaf()), "delta-from 6", "delta-from 7", 1)
	for name, leaf := range bad {
		if _, err := ParseRelease([]byte(leaf)); err == nil {
			t.Errorf("%s: ParseRelease accepted %q", name, leaf)
		}
	}
	k := &KeyChange{ActionRevoke, RoleWitness, newKey(t, "w").vkey}
	if kc, err := ParseKeyChange(k.Leaf()); err != nil || *kc != *k {
		t.Fatalf("key leaf round trip: %+v %v", kc, err)
	}
	for _, leaf := range []string{
		"glassav-key/v1\naction delete\nrole witness\nkey " + k.Key + "\n",
		"glassav-key/v1\naction add\nrole root\nkey " + k.Key + "\n",
		"glassav-key/v1\naction add\nrole witness\nkey nonsense\n",
	} {
		if _, err := ParseKeyChange([]byte(leaf)); err == nil {
			t.Errorf("ParseKeyChange accepted %q", leaf)
		}
	}
}

func TestSplitRecords(t *testing.T) {
	var data []byte
	want := [][]byte{release(1), []byte("x\n"), release(2)}
	for _, r := range want {
		data = appendRecord(data, r)
	}
	got, err := SplitRecords(data)
	if err != nil || len(got) != 3 || !bytes.Equal(got[1], want[1]) || !bytes.Equal(got[2], want[2]) {
		t.Fatalf("SplitRecords = %q, %v", got, err)
	}
	for _, bad := range []string{"a\n", "a\n\n\n", "\n\n", "a\nb"} {
		if _, err := SplitRecords([]byte(bad)); err == nil {
			t.Errorf("SplitRecords(%q) succeeded", bad)
		}
	}
}

// testPolicy returns a policy over the given keys with fixed time.
func testPolicy(pub keyPair, k int, ws ...keyPair) *Policy {
	p := &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Threshold: k}
	for _, w := range ws {
		p.Witnesses = append(p.Witnesses, w.vkey)
	}
	return p
}

func TestVerify(t *testing.T) {
	pub, other := newKey(t, "publisher.test"), newKey(t, "publisher.test")
	w1, w2, w3 := newKey(t, "w1.test"), newKey(t, "w2.test"), newKey(t, "w3.test")
	l, _ := newLog(t, 3)
	now := time.Now()
	if _, err := l.Sign(pub.skey, now); err != nil {
		t.Fatal(err)
	}
	good := cosign(t, l, w1, w2)

	// A forged cosignature: w3's key name and hash, a signature by another key.
	forger := newKey(t, "w3.test")
	text, _ := NoteText(good)
	fs, _ := NewCosigner(forger.skey)
	cv, _ := CosignatureVKey(w3.vkey)
	realW3, _ := newCosigVerifier(cv)
	fsig, _ := fs.Sign(text)
	forged := fmt.Appendf(bytes.Clone(good), "— w3.test %s\n", b64(append(be32(realW3.KeyHash()), fsig...)))

	tampered := bytes.Replace(good, []byte("\n3\n"), []byte("\n4\n"), 1)
	otherSigned, _ := note.Sign(&note.Note{Text: string(text)}, mustSigner(t, other.skey))

	tests := []struct {
		name string
		msg  []byte
		pol  *Policy
		want error
	}{
		{"publisher only", good, testPolicy(pub, 0), nil},
		{"2 of 3", good, testPolicy(pub, 2, w1, w2, w3), nil},
		{"witness keys in cosignature form", good, &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{mustCV(t, w1), mustCV(t, w2)}, Threshold: 2}, nil},
		{"3 of 3 with 2 cosignatures", good, testPolicy(pub, 3, w1, w2, w3), ErrWitnesses},
		{"tampered checkpoint", tampered, testPolicy(pub, 0), ErrBadSignature},
		{"forged cosignature", forged, testPolicy(pub, 2, w1, w2, w3), ErrBadSignature},
		{"unknown publisher", otherSigned, testPolicy(pub, 0), ErrUntrusted},
		{"wrong origin", good, &Policy{Origin: "other.test/avdb", Publishers: []string{pub.vkey}}, ErrOrigin},
		{"stale, no witnesses", good, &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, MaxAge: time.Hour,
			Now: func() time.Time { return now.Add(2 * time.Hour) }}, ErrStale},
		{"stale, witnessed", good, &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey, w2.vkey}, Threshold: 2,
			MaxAge: time.Hour, Now: func() time.Time { return now.Add(2 * time.Hour) }}, ErrStale},
		{"fresh", good, &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey}, Threshold: 1,
			MaxAge: time.Hour, Now: func() time.Time { return now.Add(30 * time.Minute) }}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := tt.pol.Verify(tt.msg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if cp.Tree.N != 3 || cp.Publisher != "publisher.test" || cp.Time.Unix() != now.Unix() {
					t.Fatalf("checkpoint %+v", cp)
				}
				if tt.pol.Threshold > 0 && len(cp.Witnessed) < tt.pol.Threshold {
					t.Fatalf("witnessed %v", cp.Witnessed)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestKeyRotationAndRevocation(t *testing.T) {
	old, nw := newKey(t, "publisher.test"), newKey(t, "publisher2.test")
	w := newKey(t, "w1.test")
	pol := testPolicy(old, 0)
	l, _ := newLog(t, 1)
	if _, err := l.Append((&KeyChange{ActionAdd, RolePublisher, nw.vkey}).Leaf()); err != nil {
		t.Fatal(err)
	}
	msg, err := l.Sign(nw.skey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := NewKeyState(pol)
	if _, err := pol.Verify(msg, keys); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("new key trusted before its leaf was replayed: %v", err)
	}
	for _, leaf := range l.Leaves() {
		if err := keys.Apply(leaf); err != nil {
			t.Fatal(err)
		}
		keys.Size++
	}
	if _, err := pol.Verify(msg, keys); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// During the transition both keys sign: a fresh client pinning either
	// accepts the checkpoint without replaying.
	both, err := l.SignWith(time.Now(), old.skey, nw.skey)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []keyPair{old, nw} {
		if _, err := testPolicy(k, 0).Verify(both, nil); err != nil {
			t.Fatalf("checkpoint signed by both keys, pinned %s: %v", k.vkey, err)
		}
	}

	// Revoke the old key, then a checkpoint signed only by it is refused
	// with its name.
	if _, err := l.Append((&KeyChange{ActionRevoke, RolePublisher, old.vkey}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if err := keys.Apply(mustLeaf(t, l, 2)); err != nil {
		t.Fatal(err)
	}
	msg, err = l.Sign(old.skey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = pol.Verify(msg, keys)
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "publisher.test") {
		t.Fatalf("revoked key: %v", err)
	}
	t.Log(err)
	if err := keys.Apply((&KeyChange{ActionAdd, RolePublisher, old.vkey}).Leaf()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("re-adding a revoked key: %v", err)
	}

	// A revoked witness no longer counts.
	pol2 := testPolicy(nw, 1, w)
	keys2 := NewKeyState(pol2)
	if _, err := l.Sign(nw.skey, time.Now()); err != nil {
		t.Fatal(err)
	}
	msg = cosign(t, l, w)
	if _, err := pol2.Verify(msg, keys2); err != nil {
		t.Fatal(err)
	}
	if err := keys2.Apply((&KeyChange{ActionRevoke, RoleWitness, w.vkey}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if _, err := pol2.Verify(msg, keys2); !errors.Is(err, ErrWitnesses) || !strings.Contains(err.Error(), "w1.test") {
		t.Fatalf("revoked witness: %v", err)
	}

	// The state survives a text round trip.
	b, _ := keys.MarshalText()
	var k2 KeyState
	if err := k2.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	b2, _ := k2.MarshalText()
	if !bytes.Equal(b, b2) || k2.Size != 2 || len(k2.Revoked()) != 1 || len(k2.Publishers()) != 1 {
		t.Fatalf("round trip:\n%s\n%s", b, b2)
	}
}

func mustLeaf(t testing.TB, l *Log, i int64) []byte {
	b, err := l.Leaf(i)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSigner(t testing.TB, skey string) note.Signer {
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCV(t testing.TB, k keyPair) string {
	s, err := CosignatureVKey(k.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClient reads a log of 600 leaves (two full tiles and a partial one)
// over HTTP and from the directory, checking leaves, inclusion and
// consistency between every signed size.
func TestClient(t *testing.T) {
	pub := newKey(t, "publisher.test")
	l, dir := newLog(t, 0)
	var trees []tlog.Tree
	for _, n := range []int{1, 5, 250, 256, 257, 600} {
		var batch [][]byte
		for i := l.Tree().N + 1; i <= int64(n); i++ {
			batch = append(batch, release(i))
		}
		if _, err := l.Append(batch...); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, l.Tree())
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	ctx := context.Background()
	for _, c := range []*Client{NewClient(srv.URL+"/", nil), NewClient(dir, nil), NewClient("file://"+dir, nil)} {
		last := trees[len(trees)-1]
		leaves, err := c.Leaves(ctx, last, 0, last.N)
		if err != nil {
			t.Fatal(err)
		}
		if len(leaves) != 600 || !bytes.Equal(leaves[599], release(600)) {
			t.Fatalf("got %d leaves", len(leaves))
		}
		// Partial trees read old partial tiles.
		for _, tr := range trees {
			got, err := c.Leaves(ctx, tr, tr.N-1, tr.N)
			if err != nil || !bytes.Equal(got[0], release(tr.N)) {
				t.Fatalf("leaf %d of tree %d: %v", tr.N-1, tr.N, err)
			}
			if err := c.Inclusion(ctx, last, tr.N-1, release(tr.N)); err != nil {
				t.Fatal(err)
			}
			if err := c.Consistency(ctx, tr, last); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Inclusion(ctx, last, 10, release(12)); err == nil {
			t.Fatal("wrong leaf included")
		}
		if err := c.Consistency(ctx, last, trees[2]); !errors.Is(err, ErrRollback) {
			t.Fatalf("rollback: %v", err)
		}
	}
	// Checkpoint round trip through the client.
	if _, err := l.Sign(pub.skey, time.Now()); err != nil {
		t.Fatal(err)
	}
	msg, err := NewClient(srv.URL, nil).Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := testPolicy(pub, 0).Verify(msg, nil)
	if err != nil || cp.Tree != trees[len(trees)-1] {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}

	// A missing partial tile is cut from the full one.
	os.Remove(filepath.Join(dir, "tile/8/0/000.p/5"))
	os.Remove(filepath.Join(dir, "tile/8/data/000.p/5"))
	c := NewClient(srv.URL, nil)
	if got, err := c.Leaves(ctx, trees[1], 0, 5); err != nil || len(got) != 5 {
		t.Fatalf("fallback to full tile: %v", err)
	}
	if err := c.Consistency(ctx, trees[0], trees[1]); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedDataTile(t *testing.T) {
	l, dir := newLog(t, 4)
	tile := filepath.Join(dir, "tile/8/data/000.p/4")
	b, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("signatures 20"), []byte("signatures 21"), 1)
	if err := os.WriteFile(tile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(dir, nil).Leaves(context.Background(), l.Tree(), 0, 4)
	if err == nil || !strings.Contains(err.Error(), "tampered data tile") {
		t.Fatalf("tampered data tile: %v", err)
	}
	t.Log(err)
}

// TestFork builds two logs with the same origin and key that diverge after
// two leaves: a client that verified one refuses the other.
func TestFork(t *testing.T) {
	pub := newKey(t, "publisher.test")
	a, _ := newLog(t, 3)
	b, bdir := newLog(t, 2)
	if _, err := b.Append([]byte("glassav-release/v1\nversion 3\nsha256 evil\n")); err != nil {
		t.Fatal(err)
	}
	msgA, _ := a.Sign(pub.skey, time.Now())
	msgB, _ := b.Sign(pub.skey, time.Now())
	pol := testPolicy(pub, 0)
	cpA, err := pol.Verify(msgA, nil)
	if err != nil {
		t.Fatal(err)
	}
	cpB, err := pol.Verify(msgB, nil)
	if err != nil {
		t.Fatal(err) // both are validly signed: that is the point
	}
	c := NewClient(bdir, nil)
	ctx := context.Background()
	err = c.Consistency(ctx, cpA.Tree, cpB.Tree)
	if !errors.Is(err, ErrFork) || !strings.Contains(err.Error(), "fork") {
		t.Fatalf("same-size fork: %v", err)
	}
	t.Log(err)
	for i := 0; i < 5; i++ {
		b.Append(release(int64(10 + i)))
	}
	msgB, _ = b.Sign(pub.skey, time.Now())
	cpB, _ = pol.Verify(msgB, nil)
	err = c.Consistency(ctx, cpA.Tree, cpB.Tree)
	var ie *InconsistencyError
	if !errors.Is(err, ErrFork) || !errors.As(err, &ie) || ie.Old != cpA.Tree {
		t.Fatalf("fork by proof: %v", err)
	}
	paths, err := SaveEvidence(filepath.Join(t.TempDir(), "evidence"), "fork", msgA, msgB)
	if err != nil || len(paths) != 2 {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(paths[1]); !bytes.Equal(got, msgB) {
		t.Fatal("evidence not saved")
	}
}

func TestProofFile(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	l, _ := newLog(t, 3)
	l.Sign(pub.skey, time.Now())
	old := l.Tree()
	for i := 4; i <= 9; i++ {
		l.Append(release(int64(i)))
	}
	l.Sign(pub.skey, time.Now())
	cosign(t, l, w)
	p, err := l.Proof(8)
	if err != nil {
		t.Fatal(err)
	}
	text := p.Format()
	p2, err := ParseProof(text)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p2.Format(), text) {
		t.Fatalf("format round trip:\n%s\n%s", text, p2.Format())
	}
	pol := testPolicy(pub, 1, w)
	cp, err := p2.Verify(pol, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ParseRelease(p2.Leaf); err != nil || r.Version != 9 {
		t.Fatalf("proof leaf: %v", err)
	}
	if err := p2.CheckConsistency(old, cp.Tree); err != nil {
		t.Fatal(err)
	}
	if err := p2.CheckConsistency(cp.Tree, old); !errors.Is(err, ErrRollback) {
		t.Fatalf("rollback: %v", err)
	}
	bogus := old
	bogus.Hash[0] ^= 1
	if err := p2.CheckConsistency(bogus, cp.Tree); !errors.Is(err, ErrFork) {
		t.Fatalf("fork: %v", err)
	}

	tampered := bytes.Replace(text, []byte("signatures 90"), []byte("signatures 91"), 1)
	p3, err := ParseProof(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p3.Verify(pol, nil); err == nil || !strings.Contains(err.Error(), "not in the signed tree") {
		t.Fatalf("tampered leaf: %v", err)
	}
	if _, err := p2.Verify(testPolicy(pub, 2, w, newKey(t, "w2.test")), nil); !errors.Is(err, ErrWitnesses) {
		t.Fatalf("proof with too few cosignatures: %v", err)
	}
}

// TestReopen checks that the log survives a restart and recovers from an
// append interrupted before its commit.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	state, pub := filepath.Join(dir, "state"), filepath.Join(dir, "public")
	l, err := Create(state, pub, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	var batch [][]byte
	for i := 1; i <= 300; i++ {
		batch = append(batch, release(int64(i)))
	}
	if _, err := l.Append(batch...); err != nil {
		t.Fatal(err)
	}
	want := l.Tree()
	if _, err := Open(state, pub); err == nil {
		t.Fatal("second Open of a locked log succeeded")
	}
	l.Close()
	// An interrupted append: leaves written, tree not committed.
	if err := appendFileSync(filepath.Join(state, stateLeaves), appendRecord(nil, release(301))); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(pub, "tile/8/1")) // lost tiles are rewritten
	l, err = Open(state, pub)
	if err != nil {
		t.Fatal(err)
	}
	if l.Tree() != want {
		t.Fatalf("reopened tree %+v, want %+v", l.Tree(), want)
	}
	if _, err := os.Stat(filepath.Join(pub, "tile/8/1/000.p/1")); err != nil {
		t.Fatal("missing tile not rewritten")
	}
	tr, err := l.Append(release(301))
	if err != nil || tr.N != 301 {
		t.Fatal(err)
	}
	if got, err := NewClient(pub, nil).Leaves(context.Background(), tr, 295, 301); err != nil || len(got) != 6 {
		t.Fatal(err)
	}
	l.Close()
	// A corrupted leaves file is detected.
	b, _ := os.ReadFile(filepath.Join(state, stateLeaves))
	os.WriteFile(filepath.Join(state, stateLeaves), bytes.Replace(b, []byte("version 7\n"), []byte("version 8\n"), 1), 0o600)
	if _, err := Open(state, pub); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt state: %v", err)
	}
	if _, err := Create(state, pub, testOrigin); err == nil {
		t.Fatal("Create over an existing log succeeded")
	}
}

// TestAppendFailure checks that a failed append leaves no trace: the next
// append and a reopen see only committed leaves.
func TestAppendFailure(t *testing.T) {
	dir := t.TempDir()
	state, pub := filepath.Join(dir, "state"), filepath.Join(dir, "public")
	l, err := Create(state, pub, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append(release(1))
	// A file where the data tile directory must go makes writing tiles fail.
	os.RemoveAll(filepath.Join(pub, "tile/8/data"))
	writeTestFile(t, filepath.Join(pub, "tile/8/data"), "blocker")
	if _, err := l.Append(release(2)); err == nil {
		t.Fatal("append succeeded without its tiles")
	}
	if l.Tree().N != 1 {
		t.Fatalf("failed append changed the tree: %d", l.Tree().N)
	}
	os.Remove(filepath.Join(pub, "tile/8/data"))
	if _, err := l.Append(release(3)); err != nil {
		t.Fatal(err)
	}
	want := l.Tree()
	l.Close()
	l2, err := Open(state, pub)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Tree() != want || !bytes.Equal(mustLeaf(t, l2, 1), release(3)) {
		t.Fatalf("reopened log differs: %+v", l2.Tree())
	}
	got, err := NewClient(pub, nil).Leaves(context.Background(), want, 0, 2)
	if err != nil || !bytes.Equal(got[1], release(3)) {
		t.Fatalf("client: %v", err)
	}
}

func writeTestFile(t *testing.T, name, data string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
