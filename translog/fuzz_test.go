package translog

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(FormatCheckpoint(testOrigin, tlog.Tree{N: 3}, time.Unix(1700000000, 0)))
	f.Add([]byte("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 5\nx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		origin, tree, tm, err := ParseCheckpoint(b)
		if err != nil {
			return
		}
		if got := FormatCheckpoint(origin, tree, tm); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n%q\n%q", b, got)
		}
	})
}

// FuzzVerify feeds arbitrary notes to a policy with witnesses: it must
// never accept anything but a correctly signed note.
func FuzzVerify(f *testing.F) {
	pub, w := newKey(f, "publisher.test"), newKey(f, "w1.test")
	l, _ := newLog(f, 2)
	if _, err := l.Sign(pub.skey, time.Now()); err != nil {
		f.Fatal(err)
	}
	good := cosign(f, l, w)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte("\n2\n"), []byte("\n3\n"), 1))
	pol := testPolicy(pub, 1, w)
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := pol.Verify(b, nil)
		if err != nil {
			return
		}
		text, _ := NoteText(b)
		goodText, _ := NoteText(good)
		if !bytes.Equal(text, goodText) || cp.Tree.N != 2 {
			t.Fatalf("accepted a different checkpoint: %q", b)
		}
	})
}

func FuzzParseProof(f *testing.F) {
	pub := newKey(f, "publisher.test")
	l, _ := newLog(f, 5)
	l.Sign(pub.skey, time.Now())
	l.Append(release(6))
	l.Sign(pub.skey, time.Now())
	p, err := l.Proof(2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.Format())
	pol := testPolicy(pub, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Format(), b) {
			t.Fatalf("not canonical: %q", b)
		}
		if cp, err := p.Verify(pol, nil); err == nil {
			if leaf, _ := l.Leaf(p.Index); !bytes.Equal(leaf, p.Leaf) || cp.Tree.N != 6 {
				t.Fatalf("verified a leaf that is not in the log: %q", p.Leaf)
			}
		}
	})
}

func FuzzSplitRecords(f *testing.F) {
	f.Add(appendRecord(appendRecord(nil, release(1)), []byte("a\nb\n")))
	f.Add([]byte("a\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := SplitRecords(b)
		if err != nil {
			return
		}
		var out []byte
		for _, r := range recs {
			out = appendRecord(out, r)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("records do not rebuild the tile: %q", b)
		}
	})
}

func FuzzParseLeaf(f *testing.F) {
	f.Add(release(4))
	r := &Release{Version: 9, Delta: &Delta{From: 8}}
	f.Add(r.Leaf())
	f.Add((&KeyChange{ActionAdd, RoleWitness, newKey(f, "w").vkey}).Leaf())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRelease(b); err == nil && !bytes.Equal(r.Leaf(), b) {
			t.Fatalf("release not canonical: %q", b)
		}
		if k, err := ParseKeyChange(b); err == nil {
			if !bytes.Equal(k.Leaf(), b) {
				t.Fatalf("key leaf not canonical: %q", b)
			}
			ks := NewKeyState(&Policy{})
			if err := ks.Apply(b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzKeyState(f *testing.F) {
	ks := NewKeyState(testPolicy(newKey(f, "p"), 0, newKey(f, "w")))
	b, _ := ks.MarshalText()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var k KeyState
		if k.UnmarshalText(b) != nil {
			return
		}
		out, _ := k.MarshalText()
		var k2 KeyState
		if err := k2.UnmarshalText(out); err != nil {
			t.Fatal(err)
		}
		if out2, _ := k2.MarshalText(); !bytes.Equal(out, out2) {
			t.Fatalf("unstable: %q %q", out, out2)
		}
	})
}
