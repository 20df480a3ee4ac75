package update

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/translog"
)

func TestUpdateSteps(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	state := t.TempDir()
	cfg := p.config(state)
	var steps []string
	cfg.Hook = func(s string) { steps = append(steps, s) }

	// Nothing published yet: up to date with nothing.
	p.append() // sign the empty log
	res, err := Update(ctx, cfg)
	if err != nil || !res.UpToDate || res.To != 0 {
		t.Fatalf("empty log: %+v, %v", res, err)
	}

	p.release(1, files(1), true)
	steps = nil
	if res, err = Update(ctx, cfg); err != nil || res.To != 1 || res.Delta {
		t.Fatalf("v1: %+v, %v", res, err)
	}
	installed(t, state, 1)
	want := "fetch-checkpoint verify-checkpoint consistency replay-keys find-release inclusion download verify-hash unpack test-compile install switch save-checkpoint prune"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("steps:\n%s\nwant\n%s", got, want)
	}
	if res.Signatures != 3 {
		t.Errorf("%d signatures, want 3", res.Signatures)
	}

	p.release(2, files(2), true)
	if res, err = Update(ctx, cfg); err != nil || res.To != 2 || !res.Delta {
		t.Fatalf("v2: %+v, %v", res, err)
	}
	installed(t, state, 2)

	// Up to date: nothing downloaded.
	if res, err = Update(ctx, cfg); err != nil || !res.UpToDate || res.To != 2 {
		t.Fatalf("again: %+v, %v", res, err)
	}

	p.release(3, files(3), true)
	cfg.NoDelta = true
	if res, err = Update(ctx, cfg); err != nil || res.To != 3 || res.Delta {
		t.Fatalf("v3: %+v, %v", res, err)
	}
	installed(t, state, 3)
	if cur, prev, _ := Installed(state); cur != 3 || prev != 2 {
		t.Errorf("current %d previous %d", cur, prev)
	}
	if v := versionsIn(t, state); v != "2,3" {
		t.Errorf("versions %s after prune, want 2,3", v)
	}

	// Rollback, and the held version is not reinstalled.
	if from, to, err := Rollback(state); err != nil || from != 3 || to != 2 {
		t.Fatalf("rollback: %d→%d %v", from, to, err)
	}
	installed(t, state, 2)
	if res, err = Update(ctx, cfg); err != nil || !res.UpToDate || res.To != 2 {
		t.Fatalf("after rollback: %+v, %v", res, err)
	}
	p.release(4, files(4), true)
	cfg.NoDelta = false
	if res, err = Update(ctx, cfg); err != nil || res.To != 4 {
		t.Fatalf("v4: %+v, %v", res, err)
	}
	installed(t, state, 4)

	// A fresh installation goes from nothing to v4 directly.
	other := t.TempDir()
	if res, err = Update(ctx, p.config(other)); err != nil || res.To != 4 {
		t.Fatalf("fresh: %+v, %v", res, err)
	}
	installed(t, other, 4)
}

// TestUpdateOffline installs from a bundle and proof file with the mirror
// unreachable.
func TestUpdateOffline(t *testing.T) {
	ctx := context.Background()
	p := newPublisher(t)
	rel := p.release(1, files(1), false)
	proof, err := p.log.Proof(0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proofFile := filepath.Join(dir, "1.proof")
	os.WriteFile(proofFile, proof.Format(), 0o644)
	bundleFile := filepath.Join(p.public, "bundles", "1.tar")
	state := t.TempDir()
	cfg := p.config(state)
	cfg.Mirror = "http://192.0.2.1:9" // never contacted
	res, err := Offline(ctx, cfg, bundleFile, proofFile)
	if err != nil || res.To != rel.Version {
		t.Fatalf("offline: %+v %v", res, err)
	}
	installed(t, state, 1)

	// v2 offline, with the proof's consistency section from size 1.
	p.release(2, files(2), true)
	proof2, err := p.log.Proof(1)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(proofFile, proof2.Format(), 0o644)
	if res, err = Offline(ctx, cfg, filepath.Join(p.public, "bundles", "2-from-1.tar"), proofFile); err != nil || res.To != 2 || !res.Delta {
		t.Fatalf("offline delta: %+v %v", res, err)
	}
	installed(t, state, 2)

	// The old proof again is refused (not newer), and a tampered bundle
	// with a valid proof is refused.
	os.WriteFile(proofFile, proof.Format(), 0o644)
	if _, err := Offline(ctx, cfg, bundleFile, proofFile); err == nil {
		t.Error("an older proof was accepted")
	}
	p.release(3, files(3), false)
	proof3, _ := p.log.Proof(2)
	os.WriteFile(proofFile, proof3.Format(), 0o644)
	bad := filepath.Join(dir, "3.tar")
	b := p.read("bundles/3.tar")
	b[700] ^= 1
	os.WriteFile(bad, b, 0o644)
	if _, err := Offline(ctx, cfg, bad, proofFile); !errors.Is(err, ErrHash) {
		t.Errorf("tampered offline bundle: %v", err)
	}
	installed(t, state, 2)
}

// TestUpdateAttacks runs each attack against an installation at version
// 1 (2 for the rollback) and expects a clear error and the installed
// version, the versions directory and the saved checkpoint unchanged.
func TestUpdateAttacks(t *testing.T) {
	tests := []struct {
		name   string
		attack func(t *testing.T, p *publisher, cfg *Config)
		want   error
		text   string
	}{
		{"tampered bundle", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			b := p.read("bundles/2.tar")
			b[len(b)-1500] ^= 0x20
			p.write("bundles/2.tar", b)
		}, ErrHash, "SHA-256"},
		{"bundle replaced by another version's", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			p.write("bundles/2.tar", p.read("bundles/1.tar"))
		}, ErrHash, ""},
		{"truncated download", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			b := p.read("bundles/2.tar")
			p.setOverride("/bundles/2.tar", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "99999")
				w.Write(b[:len(b)/2])
			})
		}, ErrTruncated, ""},
		{"oversized download", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			b := p.read("bundles/2.tar")
			p.setOverride("/bundles/2.tar", func(w http.ResponseWriter, r *http.Request) {
				w.Write(b)
				w.Write(make([]byte, 1<<20))
			})
		}, ErrOversized, ""},
		{"rules that do not compile", func(t *testing.T, p *publisher, cfg *Config) {
			fs := files(2)
			fs["bad.ndb"] = []byte("Broken.Sig:0:*:zz\n")
			p.release(2, fs, false)
		}, ErrTestCompile, "bad.ndb"},
		{"YARA rules that do not compile", func(t *testing.T, p *publisher, cfg *Config) {
			fs := files(2)
			fs["rules.yar"] = []byte("rule broken { condition: $missing }\n")
			p.release(2, fs, false)
		}, ErrTestCompile, "rules.yar"},
		{"tampered checkpoint", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			cp := p.read("checkpoint")
			lines := strings.SplitN(string(cp), "\n", 3)
			lines[1] = "1" // claim a smaller tree under the same signature
			p.write("checkpoint", []byte(strings.Join(lines, "\n")))
		}, translog.ErrBadSignature, ""},
		{"unknown publisher key", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			other, _, _ := translog.GenerateKey("publisher")
			p.skey = other
			p.append()
		}, translog.ErrUntrusted, ""},
		{"too few witness cosignatures", func(t *testing.T, p *publisher, cfg *Config) {
			_, wv, _ := translog.GenerateKey("witness1")
			cfg.Policy.Witnesses = []string{wv}
			cfg.Policy.Threshold = 1
			p.release(2, files(2), false)
		}, translog.ErrWitnesses, ""},
		{"stale checkpoint", func(t *testing.T, p *publisher, cfg *Config) {
			p.release(2, files(2), false)
			cfg.Policy.MaxAge = time.Hour
			cfg.Policy.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
		}, translog.ErrStale, ""},
		{"rollback to an older checkpoint", func(t *testing.T, p *publisher, cfg *Config) {
			old := p.read("checkpoint") // size 1, verified by the installation
			p.release(2, files(2), false)
			if _, err := Update(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			p.write("checkpoint", old)
		}, translog.ErrRollback, ""},
		{"fork of the same size", func(t *testing.T, p *publisher, cfg *Config) {
			// A second log, signed by the same publisher key, whose leaf 0
			// is another version 1: a targeted release.
			q := newPublisher(t)
			q.skey, q.vkey = p.skey, p.vkey
			fs := files(1)
			fs["targeted.ndb"] = []byte("Glassav.Targeted:0:*:746172676574656421\n")
			q.release(1, fs, false)
			p.srv.Config.Handler = q.srv.Config.Handler
		}, translog.ErrFork, ""},
		{"fork of a larger size", func(t *testing.T, p *publisher, cfg *Config) {
			q := newPublisher(t)
			q.skey, q.vkey = p.skey, p.vkey
			fs := files(1)
			fs["targeted.ndb"] = []byte("Glassav.Targeted:0:*:746172676574656421\n")
			q.release(1, fs, false)
			q.release(2, files(2), false)
			p.srv.Config.Handler = q.srv.Config.Handler
		}, nil, "fork"},
		{"revoked publisher key", func(t *testing.T, p *publisher, cfg *Config) {
			newS, newV, _ := translog.GenerateKey("publisher2")
			oldS := p.skey
			p.append((&translog.KeyChange{Action: translog.ActionAdd, Role: translog.RolePublisher, Key: newV}).Leaf())
			if _, err := Update(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			p.skey = newS
			p.append((&translog.KeyChange{Action: translog.ActionRevoke, Role: translog.RolePublisher, Key: p.vkey}).Leaf())
			if _, err := Update(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			// The revoked key signs a new release on its own.
			p.skey = oldS
			p.release(2, files(2), false)
		}, translog.ErrRevoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := newPublisher(t)
			p.release(1, files(1), false)
			state := t.TempDir()
			cfg := p.config(state)
			if _, err := Update(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			tt.attack(t, p, cfg)
			before, _ := os.ReadFile(filepath.Join(state, "trust", "latest-checkpoint"))
			cur, _, _ := Installed(state)
			versions := versionsIn(t, state)
			res, err := Update(ctx, cfg)
			if err == nil {
				t.Fatalf("attack not detected: %+v", res)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
			t.Logf("refused: %v", err)
			installed(t, state, cur)
			if v := versionsIn(t, state); v != versions {
				t.Errorf("versions/ holds %s after a refused update, %s before", v, versions)
			}
			after, _ := os.ReadFile(filepath.Join(state, "trust", "latest-checkpoint"))
			if string(before) != string(after) {
				t.Error("the saved checkpoint changed on a refused update")
			}
		})
	}
}

// TestUpdateLocked: a second updater on the same state directory is
// refused while one runs.
func TestUpdateLocked(t *testing.T) {
	p := newPublisher(t)
	p.release(1, files(1), false)
	state := t.TempDir()
	cfg := p.config(state)
	started, release := make(chan struct{}), make(chan struct{})
	first := *cfg
	first.Hook = func(step string) {
		if step == "download" {
			close(started)
			<-release
		}
	}
	done := make(chan error)
	go func() { _, err := Update(context.Background(), &first); done <- err }()
	<-started
	if _, err := Update(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "another update is running") {
		t.Errorf("concurrent update: %v", err)
	}
	if _, _, err := Rollback(state); err == nil || !strings.Contains(err.Error(), "another update is running") {
		t.Errorf("concurrent rollback: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	installed(t, state, 1)
}
