package translog

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerify measures opening a checkpoint with a publisher
// signature and two witness cosignatures under a 2-of-3 policy.
func BenchmarkVerify(b *testing.B) {
	pub, w1, w2, w3 := newKey(b, "publisher.test"), newKey(b, "w1.test"), newKey(b, "w2.test"), newKey(b, "w3.test")
	l, _ := newLog(b, 10)
	if _, err := l.Sign(pub.skey, time.Now()); err != nil {
		b.Fatal(err)
	}
	msg := cosign(b, l, w1, w2)
	pol := testPolicy(pub, 2, w1, w2, w3)
	keys := NewKeyState(pol)
	b.ResetTimer()
	for b.Loop() {
		if _, err := pol.Verify(msg, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend measures one durable append (leaf, tiles and tree file
// synced).
func BenchmarkAppend(b *testing.B) {
	l, _ := newLog(b, 0)
	var n int64
	for b.Loop() {
		n++
		if _, err := l.Append(release(n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaves measures reading and checking 1000 leaves from a
// directory with a fresh client (no tile cache).
func BenchmarkLeaves(b *testing.B) {
	l, dir := newLog(b, 0)
	var batch [][]byte
	for i := int64(1); i <= 1000; i++ {
		batch = append(batch, release(i))
	}
	tree, err := l.Append(batch...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := NewClient(dir, nil).Leaves(ctx, tree, 0, tree.N); err != nil {
			b.Fatal(err)
		}
	}
}
