package translog

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// cosigLine returns a cosignature/v1 line over text made with the private
// key of w under the key name name, dated ts: what a witness (or one that
// stole a witness key) can produce for any name and any time.
func cosigLine(t testing.TB, w keyPair, name string, text []byte, ts int64) string {
	t.Helper()
	_, priv, err := parseSignerKey(w.skey)
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{algCosignature}, priv.Public().(ed25519.PublicKey)...)
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, text)
	sig := append(binary.BigEndian.AppendUint64(nil, uint64(ts)), ed25519.Sign(priv, m)...)
	return fmt.Sprintf("— %s %s\n", name, b64(append(be32(keyHash(name, key)), sig...)))
}

// alias returns w's public key under another key name, in cosignature form.
func alias(t testing.TB, w keyPair, name string) string {
	t.Helper()
	v, err := parseVKey(w.vkey)
	if err != nil {
		t.Fatal(err)
	}
	v.name = name
	return v.as(algCosignature)
}

// TestVerifyWitnessCountedOnce: one witness key known under two names (a
// configuration mistake, or a key leaf adding an existing witness again
// under a new name) must count as one witness, or a single compromised
// witness satisfies k=2 alone.
func TestVerifyWitnessCountedOnce(t *testing.T) {
	pub, w1, w2 := newKey(t, "publisher.test"), newKey(t, "w1.test"), newKey(t, "w2.test")
	l, _ := newLog(t, 2)
	now := time.Now()
	msg, err := l.Sign(pub.skey, now)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := NoteText(msg)
	twice := fmt.Appendf(append([]byte(nil), msg...), "%s%s",
		cosigLine(t, w1, "w1.test", text, now.Unix()),
		cosigLine(t, w1, "w1-again.test", text, now.Unix()))

	pinned := &Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey, alias(t, w1, "w1-again.test"), w2.vkey}, Threshold: 2}
	if _, err := pinned.Verify(twice, nil); !errors.Is(err, ErrWitnesses) {
		t.Fatalf("one witness key under two pinned names counted twice: %v", err)
	}

	replayed := testPolicy(pub, 2, w1, w2)
	keys := NewKeyState(replayed)
	if err := keys.Apply((&KeyChange{ActionAdd, RoleWitness, alias(t, w1, "w1-again.test")}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if _, err := replayed.Verify(twice, keys); !errors.Is(err, ErrWitnesses) {
		t.Fatalf("one witness key added again under a new name counted twice: %v", err)
	}

	// Two distinct witnesses still make k=2.
	both := fmt.Appendf(append([]byte(nil), msg...), "%s%s",
		cosigLine(t, w1, "w1.test", text, now.Unix()), cosigLine(t, w2, "w2.test", text, now.Unix()))
	if _, err := pinned.Verify(both, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFutureTimes: a cosignature or publisher time line far in the
// future says nothing about the present; counting it as fresh would let a
// mirror replay that checkpoint forever past MaxAge (freeze attack).
func TestVerifyFutureTimes(t *testing.T) {
	pub, w1, w2 := newKey(t, "publisher.test"), newKey(t, "w1.test"), newKey(t, "w2.test")
	now := time.Now()
	l, _ := newLog(t, 2)
	msg, err := l.Sign(pub.skey, now)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := NoteText(msg)
	withCosig := func(ts ...time.Time) []byte {
		out := append([]byte(nil), msg...)
		for i, t1 := range ts {
			w, name := w1, "w1.test"
			if i == 1 {
				w, name = w2, "w2.test"
			}
			out = append(out, cosigLine(t, w, name, text, t1.Unix())...)
		}
		return out
	}
	later := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	futureL, _ := newLog(t, 2)
	future, err := futureL.Sign(pub.skey, now.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slightly, _ := futureL.Sign(pub.skey, now.Add(time.Minute))

	tests := []struct {
		name string
		msg  []byte
		pol  *Policy
		want error
	}{
		{"cosigned a year ahead", withCosig(now.Add(365 * 24 * time.Hour)),
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey}, Threshold: 1, MaxAge: time.Hour, Now: later(0)}, ErrStale},
		{"cosigned a year ahead, replayed 11 months later", withCosig(now.Add(365 * 24 * time.Hour)),
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey}, Threshold: 1, MaxAge: time.Hour, Now: later(330 * 24 * time.Hour)}, ErrStale},
		{"one future cosignature, k=2", withCosig(now.Add(-2*time.Hour), now.Add(365*24*time.Hour)),
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey, w2.vkey}, Threshold: 2, MaxAge: time.Hour, Now: later(0)}, ErrStale},
		{"published a year ahead, k=0", future,
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, MaxAge: time.Hour, Now: later(0)}, ErrStale},
		{"clock skew of a minute", withCosig(now.Add(time.Minute)),
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey}, Threshold: 1, MaxAge: time.Hour, Now: later(0)}, nil},
		{"published a minute ahead, k=0", slightly,
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, MaxAge: time.Hour, Now: later(0)}, nil},
		{"future time without max age", withCosig(now.Add(365 * 24 * time.Hour)),
			&Policy{Origin: testOrigin, Publishers: []string{pub.vkey}, Witnesses: []string{w1.vkey}, Threshold: 1, Now: later(0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.pol.Verify(tt.msg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "future") {
				t.Fatalf("err = %v, want %v naming the future time", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestParseCheckpointEdges: one checkpoint has one spelling; anything else
// is refused before a signature is even looked at.
func TestParseCheckpointEdges(t *testing.T) {
	h := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	good := "glassav.test/avdb\n3\n" + h + "\ntime 1700000000\n"
	if _, tree, tm, err := ParseCheckpoint([]byte(good)); err != nil || tree.N != 3 || tm.Unix() != 1700000000 {
		t.Fatalf("good checkpoint: %v", err)
	}
	if _, tree, _, err := ParseCheckpoint([]byte("o\n9223372036854775807\n" + h + "\ntime 1\n")); err != nil || tree.N != 1<<63-1 {
		t.Fatalf("largest size: %v", err)
	}
	for _, bad := range []string{
		strings.ReplaceAll(good, "\n", "\r\n"),
		"glassav.test/avdb\r\n3\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n3\r\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 1700000000\r\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 1700000000\nextra line\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 1700000000\ntime 1700000001\n",
		"glassav.test/avdb\n3\n" + h + "\nextra line\ntime 1700000000\n",
		"glassav.test/avdb\n3\n" + h + "\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 01700000000\n",
		"glassav.test/avdb\n3\n" + h + "\ntime -1\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 99999999999999999999\n",
		"glassav.test/avdb\n3\n" + h + "\ntime  1700000000\n",
		"glassav.test/avdb\n3\n" + h + "\ntime 1700000000",
		"glassav.test/avdb\n03\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n+3\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n-3\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n9223372036854775808\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n3\n" + h[:len(h)-1] + "\ntime 1700000000\n",
		"glassav.test/avdb\n3\nAAAA\ntime 1700000000\n",
		"\n3\n" + h + "\ntime 1700000000\n",
		"glassav.test/\x00avdb\n3\n" + h + "\ntime 1700000000\n",
		"glassav.test/avdb\n\n3\n" + h + "\ntime 1700000000\n",
	} {
		if _, _, _, err := ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("ParseCheckpoint(%q) accepted", bad)
		}
	}
}

// TestRevokeByPublicKey: a key is its public key. A revocation leaf that
// names the key differently from the pin (or from the leaf that added it)
// must still revoke it, and the key must not come back under a new name.
func TestRevokeByPublicKey(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	l, _ := newLog(t, 1)
	msg, err := l.Sign(pub.skey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	renamed := func(k keyPair, name string) string {
		v, err := parseVKey(k.vkey)
		if err != nil {
			t.Fatal(err)
		}
		v.name = name
		return v.as(algEd25519)
	}
	pol := testPolicy(pub, 0)
	keys := NewKeyState(pol)
	if err := keys.Apply((&KeyChange{ActionRevoke, RolePublisher, renamed(pub, "publisher-old.test")}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Verify(msg, keys); err == nil {
		t.Fatal("publisher key revoked under another name still trusted")
	}
	if err := keys.Apply((&KeyChange{ActionAdd, RolePublisher, renamed(pub, "publisher-new.test")}).Leaf()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked public key added again under a new name: %v", err)
	}

	// The same for a witness, revoked in note form under another name.
	msg = cosign(t, l, w)
	wpol := testPolicy(pub, 1, w)
	wkeys := NewKeyState(wpol)
	if err := wkeys.Apply((&KeyChange{ActionRevoke, RoleWitness, renamed(w, "w1-old.test")}).Leaf()); err != nil {
		t.Fatal(err)
	}
	if _, err := wpol.Verify(msg, wkeys); !errors.Is(err, ErrWitnesses) {
		t.Fatalf("witness revoked under another name still counted: %v", err)
	}

	// The state survives a text round trip with the revocation in force.
	b, _ := keys.MarshalText()
	var k2 KeyState
	if err := k2.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Verify(msg, &k2); err == nil {
		t.Fatal("revocation lost in the text round trip")
	}
}

// TestVerifyCosignatureOfAnotherCheckpoint: a witness's genuine
// cosignature of another tree, or of the same tree under another origin,
// copied under this checkpoint must not count (it signs other text).
func TestVerifyCosignatureOfAnotherCheckpoint(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	now := time.Now()
	l, _ := newLog(t, 2)
	msg, err := l.Sign(pub.skey, now)
	if err != nil {
		t.Fatal(err)
	}
	pol := testPolicy(pub, 1, w)
	for _, other := range [][]byte{
		FormatCheckpoint(testOrigin, tlog.Tree{N: 1, Hash: l.Tree().Hash}, now),
		FormatCheckpoint("other.test/avdb", l.Tree(), now),
		FormatCheckpoint(testOrigin, l.Tree(), now.Add(time.Second)),
	} {
		forged := append(append([]byte(nil), msg...), cosigLine(t, w, "w1.test", other, now.Unix())...)
		if _, err := pol.Verify(forged, nil); !errors.Is(err, ErrBadSignature) {
			t.Errorf("cosignature of %q accepted for another checkpoint: %v", other, err)
		}
	}
}

// TestVerifyPublisherIsNoWitness: the publisher's own key listed (or
// added by a key leaf) as a witness must not count as one, or whoever
// holds the publisher key alone meets k=1 and the witnesses protect
// against nothing.
func TestVerifyPublisherIsNoWitness(t *testing.T) {
	pub := newKey(t, "publisher.test")
	l, _ := newLog(t, 2)
	now := time.Now()
	msg, err := l.Sign(pub.skey, now)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := NoteText(msg)
	self := append(append([]byte(nil), msg...), cosigLine(t, pub, "publisher.test", text, now.Unix())...)
	pol := testPolicy(pub, 1, pub)
	if _, err := pol.Verify(self, nil); !errors.Is(err, ErrWitnesses) {
		t.Fatalf("publisher cosigning its own checkpoint counted as a witness: %v", err)
	}
	pol = testPolicy(pub, 0)
	keys := NewKeyState(pol)
	if err := keys.Apply((&KeyChange{ActionAdd, RoleWitness, alias(t, pub, "totally-independent.test")}).Leaf()); err != nil {
		t.Fatal(err)
	}
	self = append(append([]byte(nil), msg...), cosigLine(t, pub, "totally-independent.test", text, now.Unix())...)
	if cp, err := pol.Verify(self, keys); err != nil || len(cp.Witnesses) != 0 {
		t.Fatalf("publisher key added as a witness under another name counted: %v %v", cp, err)
	}
}

// TestRecosignReplacesOldLine: a witness asked again to cosign the same
// checkpoint (to keep it fresh without re-signing) returns a newer line.
// Appending it after the old one would leave the old one in force (a note
// verifier keeps one signature per key, the first) and grow the note
// toward the 100-signature limit past which no client opens it.
func TestRecosignReplacesOldLine(t *testing.T) {
	pub, w := newKey(t, "publisher.test"), newKey(t, "w1.test")
	l, _ := newLog(t, 2)
	start := time.Now()
	msg, err := l.Sign(pub.skey, start)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := NoteText(msg)
	for i := range 120 {
		line := cosigLine(t, w, "w1.test", text, start.Add(time.Duration(i)*time.Hour).Unix())
		if err := l.AddSignatureLines([]byte(line)); err != nil {
			t.Fatalf("cosignature %d: %v", i, err)
		}
	}
	// An older cosignature merged later does not replace the newer one.
	if err := l.AddSignatureLines([]byte(cosigLine(t, w, "w1.test", text, start.Unix()))); err != nil {
		t.Fatal(err)
	}
	msg, err = l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	pol := testPolicy(pub, 1, w)
	pol.MaxAge = 2 * time.Hour
	pol.Now = func() time.Time { return start.Add(120 * time.Hour) }
	cp, err := pol.Verify(msg, nil)
	if err != nil {
		t.Fatalf("re-cosigned checkpoint: %v (%d bytes)", err, len(msg))
	}
	if got := cp.Witnessed[0]; !got.Equal(start.Add(119 * time.Hour).Truncate(time.Second)) {
		t.Fatalf("witnessed at %v, want the newest cosignature", got)
	}
}
