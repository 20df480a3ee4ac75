package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/translog"
	"github.com/glassav/glassav/witness"
)

// cpDir copies a directory tree, keeping links and modes.
func cpDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// unchanged checks that a refused update left the installation as it was.
func unchanged(t *testing.T, state string, v int64, versions string) {
	t.Helper()
	checkInstalled(t, state, v)
	if got := versionsIn(t, state); got != versions {
		t.Errorf("versions/ holds %s after a refused update, %s before", got, versions)
	}
}

// TestEndToEndAttacks runs the attacks against installations that are
// separate processes: each is refused with a clear error and nothing is
// installed.
func TestEndToEndAttacks(t *testing.T) {
	n := newNetwork(t)
	n.publish(1)
	snap1 := filepath.Join(n.dir, "snapshot-v1")
	cpDir(t, n.public, snap1)
	confA, stateA := n.install("installA", 2, n.mirror)
	confD, stateD := n.install("installD", 0, n.mirror) // pins the publisher only
	must(t, "update", "--config", confA)
	must(t, "update", "--config", confD)
	n.publish(2)

	bundle2 := filepath.Join(n.public, "bundles", "2.tar")
	good, err := os.ReadFile(bundle2)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := os.WriteFile(bundle2, good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	downloadAttacks := []struct {
		name, want string
		bad        []byte
	}{
		{"tampered bundle", "SHA-256", func() []byte { b := bytes.Clone(good); b[len(b)-2000] ^= 0x40; return b }()},
		{"truncated download", "truncated", good[:len(good)/2]},
		{"oversized download", "larger than the release says", append(bytes.Clone(good), make([]byte, 1<<20)...)},
	}
	for _, a := range downloadAttacks {
		t.Run(a.name, func(t *testing.T) {
			os.WriteFile(bundle2, a.bad, 0o644)
			defer restore()
			os.RemoveAll(filepath.Join(stateA, "download"))
			refused(t, a.want, "update", "--config", confA, "--no-delta")
			unchanged(t, stateA, 1, "1")
		})
	}
	must(t, "update", "--config", confA)
	must(t, "update", "--config", confD)
	checkInstalled(t, stateA, 2)

	t.Run("rules that do not compile", func(t *testing.T) {
		// A publisher that skips the test-compile (its own tool, or a
		// stolen key) logs and cosigns a bundle with a broken signature.
		fs := files(3)
		fs["broken.ndb"] = []byte("Broken.Sig:0:*:zz\n")
		full, m, err := bundle.Build(3, fs)
		if err != nil {
			t.Fatal(err)
		}
		rel := &translog.Release{Version: 3, SHA256: sha256.Sum256(full), Size: int64(len(full)),
			Manifest: sha256.Sum256(m.Format()), Files: len(m.Files), Signatures: 3}
		os.WriteFile(filepath.Join(n.public, "bundles", "3.tar"), full, 0o644)
		l, err := translog.Open(n.pubState, n.public)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.Append(rel.Leaf()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Sign(readTrim(t, n.pubKey), time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, w := range n.witnesses {
			lines, err := (&witness.Client{}).Cosign(context.Background(), w, l)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.AddSignatureLines(lines); err != nil {
				t.Fatal(err)
			}
		}
		refused(t, "do not compile", "update", "--config", confA)
		unchanged(t, stateA, 2, "1,2")
	})

	t.Run("rollback to an older checkpoint", func(t *testing.T) {
		conf, state := n.install("installA-rollback", 2, n.serve(snap1))
		cpDir(t, stateA, state)
		r := refused(t, "rollback", "update", "--config", conf)
		if !strings.Contains(r.stderr, "SECURITY") {
			t.Errorf("no SECURITY alert: %s", r.stderr)
		}
		unchanged(t, state, 2, "1,2")
		ev, _ := os.ReadDir(filepath.Join(state, "trust", "evidence"))
		if len(ev) != 2 {
			t.Errorf("%d evidence files, want both notes", len(ev))
		}
	})

	// A forked log: the same publisher key signs another history in
	// which version 1 carries a targeted signature.
	forkState, forkPublic := filepath.Join(n.dir, "fork-state"), filepath.Join(n.dir, "fork-public")
	forkSrc := writeSource(t, 1)
	os.WriteFile(filepath.Join(forkSrc, "targeted.ndb"), []byte("Glassav.Targeted:0:*:746172676574656421\n"), 0o644)
	must(t, "publish", "--init", "--origin", e2eOrigin, "--state", forkState, "--key", n.pubKey, "--source", forkSrc, forkPublic)
	for v := int64(2); v <= 3; v++ {
		must(t, "publish", "--state", forkState, "--key", n.pubKey, "--source", writeSource(t, v), forkPublic)
	}
	forkMirror := n.serve(forkPublic)

	t.Run("forked log", func(t *testing.T) {
		conf, state := n.install("installD-fork", 0, forkMirror)
		cpDir(t, stateD, state)
		r := refused(t, "fork", "update", "--config", conf)
		if !strings.Contains(r.stderr, "SECURITY") {
			t.Errorf("no SECURITY alert: %s", r.stderr)
		}
		unchanged(t, state, 2, "1,2")
	})
	t.Run("witness asked to cosign a fork", func(t *testing.T) {
		r := runBin(t, nil, "publish", "--state", forkState, "--key", n.pubKey, "--source", writeSource(t, 4), "--witness", n.witnesses[0], forkPublic)
		if r.code != 1 || !strings.Contains(r.stderr, "witness") {
			t.Fatalf("the witness cosigned a fork: %s", r)
		}
		t.Logf("witness refused: %s", strings.TrimSpace(r.stderr))
	})
	t.Run("too few witness cosignatures", func(t *testing.T) {
		conf, state := n.install("installE", 2, forkMirror)
		refused(t, "too few witness cosignatures", "update", "--config", conf)
		if cur, _, _ := Installed(state); cur != 0 {
			t.Errorf("installed %d", cur)
		}
	})

	// Checkpoint-level tampering, served from copies of the real tree.
	tamperedMirror := func(name string, edit func(cp string) string) string {
		dir := filepath.Join(n.dir, name)
		cpDir(t, n.public, dir)
		cp, _ := os.ReadFile(filepath.Join(dir, "checkpoint"))
		os.WriteFile(filepath.Join(dir, "checkpoint"), []byte(edit(string(cp))), 0o644)
		return n.serve(dir)
	}
	t.Run("tampered checkpoint", func(t *testing.T) {
		mirror := tamperedMirror("tampered-cp", func(cp string) string {
			lines := strings.SplitN(cp, "\n", 3)
			lines[1] = "2" // another tree size under the same signatures
			return strings.Join(lines, "\n")
		})
		conf, state := n.install("installA-tampered", 2, mirror)
		cpDir(t, stateA, state)
		refused(t, "signature", "update", "--config", conf)
		unchanged(t, state, 2, "1,2")
	})
	t.Run("forged witness cosignature", func(t *testing.T) {
		mirror := tamperedMirror("forged-cosig", func(cp string) string {
			lines := strings.Split(cp, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "— witness1 ") {
					// Change one character inside the base64 signature to
					// another base64 character, so the line still parses
					// and only the signature is wrong. (Flipping a bit could
					// turn '+' into '*', which the note parser rejects as
					// malformed before any signature is checked.)
					b := []byte(l)
					if b[len(b)-5] == 'A' {
						b[len(b)-5] = 'B'
					} else {
						b[len(b)-5] = 'A'
					}
					lines[i] = string(b)
				}
			}
			return strings.Join(lines, "\n")
		})
		conf, state := n.install("installA-forged", 2, mirror)
		cpDir(t, stateA, state)
		refused(t, "signature", "update", "--config", conf)
		unchanged(t, state, 2, "1,2")
	})
	t.Run("frozen checkpoint", func(t *testing.T) {
		conf, state := n.install("installA-stale", 2, n.mirror)
		cpDir(t, stateA, state)
		b, _ := os.ReadFile(conf)
		os.WriteFile(conf, bytes.Replace(b, []byte("max-age 1h"), []byte("max-age 1s"), 1), 0o644)
		time.Sleep(2 * time.Second)
		refused(t, "stale", "update", "--config", conf)
		unchanged(t, state, 2, "1,2")
	})

	t.Run("revoked publisher key", func(t *testing.T) {
		// The publisher rotates to a new key through the log, revokes the
		// old one, and the old key alone then signs a checkpoint.
		keys := filepath.Join(n.dir, "keys")
		must(t, "keygen", "publisher2", "-o", keys)
		newKey := filepath.Join(keys, "publisher2.key")
		// A fresh publisher log so the broken release above is not in the way.
		st, pb := filepath.Join(n.dir, "rot-state"), filepath.Join(n.dir, "rot-public")
		must(t, "publish", "--init", "--origin", e2eOrigin, "--state", st, "--key", n.pubKey, "--source", writeSource(t, 1), pb)
		conf, state := n.install("installR", 0, n.serve(pb))
		must(t, "update", "--config", conf)
		must(t, "publish", "--state", st, "--key", n.pubKey, "--add-publisher", filepath.Join(keys, "publisher2.pub"), pb)
		must(t, "update", "--config", conf)
		must(t, "publish", "--state", st, "--key", newKey, "--revoke-publisher", n.pubVKey, "--source", writeSource(t, 2), pb)
		r := must(t, "update", "--config", conf)
		if !strings.Contains(r.stdout, "installed version 2") {
			t.Fatalf("update after rotation: %s", r)
		}
		// The old, revoked key signs version 3 on its own.
		must(t, "publish", "--state", st, "--key", n.pubKey, "--source", writeSource(t, 3), pb)
		refused(t, "revoked", "update", "--config", conf)
		unchanged(t, state, 2, "1,2")
	})
}

// TestPublishPinnedWitness checks that publish refuses a witness whose
// cosignature does not verify with the key pinned for it: clients refuse a
// checkpoint with a bad signature by a key they know, so one wrong line
// would stop every installation.
func TestPublishPinnedWitness(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped with -short")
	}
	n := newNetwork(t)
	src := writeSource(t, 1)
	base := []string{"publish", "--init", "--origin", e2eOrigin, "--state", n.pubState, "--key", n.pubKey, "--source", src}
	// Witness 1 answers, but the key pinned for it is witness 2's.
	r := refused(t, "does not verify with the pinned key", append(base, "--witness", n.witnesses[0]+"="+n.wVKeys[1], n.public)...)
	if cp := readTrim(t, filepath.Join(n.public, "checkpoint")); strings.Count(cp, "\n\u2014 ") != 1 {
		t.Fatalf("checkpoint after a refused cosignature has %d signature lines, want the publisher's only:\n%s\n%s",
			strings.Count(cp, "\n\u2014 "), cp, r)
	}
	// Signing again with the right pin collects the cosignature.
	must(t, "publish", "--state", n.pubState, "--key", n.pubKey, "--witness", n.witnesses[0]+"="+n.wVKeys[0], n.public)
	if cp := readTrim(t, filepath.Join(n.public, "checkpoint")); strings.Count(cp, "\n\u2014 ") != 2 {
		t.Fatalf("checkpoint after the cosignature:\n%s", cp)
	}
}
