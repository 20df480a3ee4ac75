package update

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/glassav/glassav/translog"
)

// TestUpdateRevokedInReplayedLeaves: an installation that has not seen a
// revocation yet (it last verified the log before it) is offered a
// checkpoint that covers the revocation leaf but is signed only by the
// revoked key — what the thief of that key publishes. The checkpoint
// verifies under the keys the installation trusted before replaying, so
// the signer must be checked again after the key leaves are replayed.
func TestUpdateRevokedInReplayedLeaves(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	if _, err := Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	// The publisher rotates: adds a new key, then revokes the old one,
	// signing with both during the transition. The installation sleeps.
	stolen := p.skey
	newS, newV, err := translog.GenerateKey("publisher2")
	if err != nil {
		t.Fatal(err)
	}
	add := (&translog.KeyChange{Action: translog.ActionAdd, Role: translog.RolePublisher, Key: newV}).Leaf()
	revoke := (&translog.KeyChange{Action: translog.ActionRevoke, Role: translog.RolePublisher, Key: p.vkey}).Leaf()
	if _, err := p.log.Append(add, revoke); err != nil {
		t.Fatal(err)
	}
	if _, err := p.log.SignWith(time.Now(), stolen, newS); err != nil {
		t.Fatal(err)
	}

	// The thief appends a release and signs with the revoked key alone.
	p.skey = stolen
	p.release(2, files(2), false)

	before, _ := os.ReadFile(filepath.Join(state, "trust", "latest-checkpoint"))
	res, err := Update(ctx, cfg)
	if !errors.Is(err, translog.ErrRevoked) {
		t.Fatalf("checkpoint signed only by a key revoked inside it: %+v, %v", res, err)
	}
	t.Log(err)
	installed(t, state, 1)
	if after, _ := os.ReadFile(filepath.Join(state, "trust", "latest-checkpoint")); string(after) != string(before) {
		t.Fatal("the saved checkpoint changed on a refused update")
	}

	// The honest publisher signs the same tree with both keys, as during
	// the whole transition: accepted, since the new key is trusted once
	// the leaves are replayed.
	if _, err := p.log.SignWith(time.Now(), stolen, newS); err != nil {
		t.Fatal(err)
	}
	if res, err := Update(ctx, cfg); err != nil || res.To != 2 {
		t.Fatalf("after rotation: %+v %v", res, err)
	}
}

// TestUpdateCrashInsideSaveTrust: saveTrust writes keys, then the release,
// then the checkpoint. A crash between them leaves key leaves or the
// release leaf of a tree newer than the saved checkpoint; the next run
// replays those leaves again and must not take them for a misbehaving log
// (a release "not newer" than itself, a revoked key added again).
func TestUpdateCrashInsideSaveTrust(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restore []string // trust files put back as they were before the update
	}{
		{"after keys and release", []string{"latest-checkpoint"}},
		{"after keys", []string{"latest-checkpoint", "latest-release"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := newPublisher(t)
			p.release(1, files(1), false)
			state := t.TempDir()
			cfg := p.config(state)
			if _, err := Update(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			saved := map[string][]byte{}
			for _, f := range tc.restore {
				b, err := os.ReadFile(filepath.Join(state, "trust", f))
				if err != nil {
					t.Fatal(err)
				}
				saved[f] = b
			}
			// A witness key added and revoked again, and release 2.
			_, wv, _ := translog.GenerateKey("witness-x")
			p.append((&translog.KeyChange{Action: translog.ActionAdd, Role: translog.RoleWitness, Key: wv}).Leaf(),
				(&translog.KeyChange{Action: translog.ActionRevoke, Role: translog.RoleWitness, Key: wv}).Leaf())
			p.release(2, files(2), false)
			if res, err := Update(ctx, cfg); err != nil || res.To != 2 {
				t.Fatalf("%+v %v", res, err)
			}
			for f, b := range saved {
				if err := os.WriteFile(filepath.Join(state, "trust", f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Update(ctx, cfg)
			if err != nil || res.To != 2 {
				t.Fatalf("next run after the crash: %+v %v", res, err)
			}
			installed(t, state, 2)
			p.release(3, files(3), false)
			if res, err := Update(ctx, cfg); err != nil || res.To != 3 {
				t.Fatalf("release after the crash: %+v %v", res, err)
			}
			// The replayed key leaves are kept once, not once per replay.
			keys, _ := os.ReadFile(filepath.Join(state, "trust", "keys"))
			if n := strings.Count(string(keys), "glassav-key/v1"); n != 2 {
				t.Fatalf("trust/keys holds %d key leaves, want 2:\n%s", n, keys)
			}
		})
	}
}

// TestUpdateStalledMirror: a mirror that sends headers and then nothing
// (or stalls in the middle of a body) must not hang the updater, which
// holds the state lock and, when scheduled, would never run again.
func TestUpdateStalledMirror(t *testing.T) {
	for _, path := range []string{"/checkpoint", "/bundles/1.tar"} {
		t.Run(path, func(t *testing.T) {
			p := newPublisher(t)
			p.release(1, files(1), false)
			body := p.read(strings.TrimPrefix(path, "/"))
			stop := make(chan struct{})
			p.setOverride(path, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", itoa(len(body)))
				w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				select {
				case <-stop:
				case <-r.Context().Done():
				}
			})
			defer close(stop)
			cfg := p.config(t.TempDir())
			hc, err := newHTTPClient("", 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			cfg.HTTPClient = hc
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err = Update(ctx, cfg)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("stalled mirror: err %v after %v (context %v)", err, time.Since(start), ctx.Err())
			}
			if !strings.Contains(err.Error(), "no data") {
				t.Errorf("error %q does not say the mirror stalled", err)
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

// TestDownloadRangeNotSatisfiableLoop: a mirror answering every request
// with 416 must not make the downloader ask again forever.
func TestDownloadRangeNotSatisfiableLoop(t *testing.T) {
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "download"), 0o755)
	if err := os.WriteFile(filepath.Join(state, "download", "1.tar"), p.read("bundles/1.tar")[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	p.setOverride("/bundles/1.tar", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Update(ctx, p.config(state))
	if err == nil || ctx.Err() != nil || requests.Load() > 2 {
		t.Fatalf("416 to every request: %v after %d requests (context %v)", err, requests.Load(), ctx.Err())
	}
	t.Log(err)
}

// TestUpdateVersionNotIncreasing: a release leaf whose version is not
// greater than the one before it (a replayed or rewritten release) makes
// the log misbehave, whether both leaves arrive in one run or in two.
func TestUpdateVersionNotIncreasing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		between  bool // update between the two releases
		versions []int64
	}{
		{"same version in one range", false, []int64{2, 2}},
		{"older version in one range", false, []int64{3, 2}},
		{"same version across runs", true, []int64{2, 2}},
		{"older version across runs", true, []int64{3, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := newPublisher(t)
			p.release(1, files(1), false)
			state := t.TempDir()
			cfg := p.config(state)
			if _, err := Update(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			p.release(tc.versions[0], files(tc.versions[0]), false)
			want := int64(1)
			if tc.between {
				if _, err := Update(ctx, cfg); err != nil {
					t.Fatal(err)
				}
				want = tc.versions[0]
			}
			fs := files(tc.versions[1])
			fs["targeted.ndb"] = []byte("Glassav.Targeted:0:*:746172676574656421\n")
			p.release(tc.versions[1], fs, false)
			_, err := Update(ctx, cfg)
			if !errors.Is(err, ErrLog) {
				t.Fatalf("release %d after %d: %v", tc.versions[1], tc.versions[0], err)
			}
			t.Log(err)
			installed(t, state, want)
		})
	}
}

// TestOfflineProofReadBounded: the proof file comes from removable media
// or a share; reading it must stop past translog.MaxProofSize instead of
// reading whatever is there to the end (a huge file, a device, a pipe).
func TestOfflineProofReadBounded(t *testing.T) {
	p := newPublisher(t)
	p.release(1, files(1), false)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "1.proof")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.Write(make([]byte, translog.MaxProofSize+1))
		<-done // never EOF while the test runs
	}()
	errc := make(chan error, 1)
	go func() {
		_, err := Offline(context.Background(), p.config(t.TempDir()), filepath.Join(p.public, "bundles", "1.tar"), fifo)
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("oversized proof: %v", err)
		}
		t.Log(err)
	case <-time.After(10 * time.Second):
		t.Fatal("Offline still reading a proof file larger than translog.MaxProofSize")
	}
}

// TestOfflineThenOnlineReplaysKeys: an offline update advances the saved
// checkpoint without reading the leaves in between (a proof file carries
// none). The next online update must still replay the key leaves from
// where the installation last replayed them, or a revocation published
// in that gap is never applied and the revoked key stays trusted.
func TestOfflineThenOnlineReplaysKeys(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	if _, err := Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	// Rotation (both keys sign) and release 2, carried over offline.
	stolen := p.skey
	newS, newV, _ := translog.GenerateKey("publisher2")
	add := (&translog.KeyChange{Action: translog.ActionAdd, Role: translog.RolePublisher, Key: newV}).Leaf()
	revoke := (&translog.KeyChange{Action: translog.ActionRevoke, Role: translog.RolePublisher, Key: p.vkey}).Leaf()
	if _, err := p.log.Append(add, revoke); err != nil {
		t.Fatal(err)
	}
	p.skey = newS
	p.release(2, files(2), false)
	if _, err := p.log.SignWith(time.Now(), stolen, newS); err != nil {
		t.Fatal(err)
	}
	proof, err := p.log.Proof(3)
	if err != nil {
		t.Fatal(err)
	}
	proofFile := filepath.Join(t.TempDir(), "2.proof")
	os.WriteFile(proofFile, proof.Format(), 0o644)
	if res, err := Offline(ctx, cfg, filepath.Join(p.public, "bundles", "2.tar"), proofFile); err != nil || res.To != 2 {
		t.Fatalf("offline: %+v %v", res, err)
	}

	// The thief signs release 3 with the revoked key alone.
	p.skey = stolen
	p.release(3, files(3), false)
	if _, err := Update(ctx, cfg); !errors.Is(err, translog.ErrRevoked) {
		t.Fatalf("online update after an offline one, checkpoint signed by a key revoked in between: %v", err)
	}
	installed(t, state, 2)

	// Signed by both keys, the same tree installs, and the key leaves are
	// kept once.
	if _, err := p.log.SignWith(time.Now(), stolen, newS); err != nil {
		t.Fatal(err)
	}
	if res, err := Update(ctx, cfg); err != nil || res.To != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	keys, _ := os.ReadFile(filepath.Join(state, "trust", "keys"))
	if n := strings.Count(string(keys), "glassav-key/v1"); n != 2 {
		t.Fatalf("trust/keys holds %d key leaves, want 2", n)
	}
}
