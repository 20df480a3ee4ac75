package witness

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentForks: two forks of one size, both extending what the
// witness cosigned, posted concurrently many times. The witness must
// cosign exactly one request: every other one sees the state the first
// one stored (409 with the new size, or 422 for the other fork).
func TestConcurrentForks(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	base := newLog(t, pub, 5)
	_, url, _ := startWitness(t, t.TempDir(), w, pub)
	ctx := context.Background()
	var c Client
	if _, err := c.Cosign(ctx, url, base); err != nil {
		t.Fatal(err)
	}
	a := newLog(t, pub, 5)
	grow(t, a, pub, 8)
	b := newLog(t, pub, 5)
	b.Append([]byte("glassav-release/v1\nversion 6\nevil\n"))
	grow(t, b, pub, 8)
	if a.Tree() == b.Tree() {
		t.Fatal("forks are the same tree")
	}
	am, _ := a.Checkpoint()
	bm, _ := b.Checkpoint()
	ap, bp := mustProof(t, a, 5, 8), mustProof(t, b, 5, 8)

	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, msg, proof := "a", am, ap
			if i%2 == 1 {
				name, msg, proof = "b", bm, bp
			}
			_, err := c.AddCheckpoint(ctx, url, 5, proof, msg)
			var ce *ConflictError
			switch {
			case err == nil:
				mu.Lock()
				won[name]++
				mu.Unlock()
			case errors.As(err, &ce) && ce.Size == 8, statusIs(err, http.StatusUnprocessableEntity):
			default:
				t.Errorf("fork %s: unexpected %v", name, err)
			}
		}()
	}
	wg.Wait()
	if won["a"]+won["b"] != 1 {
		t.Fatalf("cosigned %v: want exactly one cosignature over both forks", won)
	}
}

// TestCorruptState: a witness whose stored checkpoint is unreadable must
// refuse to cosign (it cannot check consistency), not start over at size 0.
func TestCorruptState(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	l := newLog(t, pub, 3)
	dir := t.TempDir()
	s, url, _ := startWitness(t, dir, w, pub)
	ctx := context.Background()
	var c Client
	if _, err := c.Cosign(ctx, url, l); err != nil {
		t.Fatal(err)
	}
	state, err := filepath.Glob(filepath.Join(dir, "log-*.checkpoint"))
	if err != nil || len(state) != 1 {
		t.Fatalf("state files %v %v", state, err)
	}
	for _, junk := range []string{"", "garbage\n", "glassav.test/avdb\n3\n"} {
		if err := os.WriteFile(state[0], []byte(junk), 0o600); err != nil {
			t.Fatal(err)
		}
		grow(t, l, pub, int(l.Tree().N)+1)
		msg, _ := l.Checkpoint()
		for _, old := range []int64{0, 3} {
			if _, err := s.AddCheckpoint(old, nil, msg); !statusIs(err, http.StatusInternalServerError) {
				t.Fatalf("state %q, old %d: %v", junk, old, err)
			}
		}
	}
}
