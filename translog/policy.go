package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

// Errors that classify a refused checkpoint or log; test with errors.Is.
// The returned error's text names the key, sizes or times involved.
var (
	ErrBadSignature = errors.New("invalid signature")              // tampered checkpoint or forged (co)signature
	ErrUntrusted    = errors.New("no trusted publisher signature") // signed by unknown keys only
	ErrRevoked      = errors.New("key revoked")                    // signed only by a revoked key
	ErrWitnesses    = errors.New("too few witness cosignatures")
	ErrStale        = errors.New("stale checkpoint")
	ErrOrigin       = errors.New("wrong log origin")
	ErrFork         = errors.New("fork")     // two different trees disagree: split view or rewritten log
	ErrRollback     = errors.New("rollback") // an older tree than one already seen
)

// A Policy is what a client pins: the log it follows, the keys it trusts
// and how fresh and how witnessed a checkpoint must be.
type Policy struct {
	Origin     string
	Publishers []string         // trusted publisher vkeys (pinned)
	Witnesses  []string         // witness vkeys, in either note or cosignature form
	Threshold  int              // k: witness cosignatures required
	MaxAge     time.Duration    // 0: no limit; else refuse checkpoints older than this (freeze attacks)
	Now        func() time.Time // nil: time.Now
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Check reports whether the policy itself is usable.
func (p *Policy) Check() error {
	if p.Origin == "" || !validText(p.Origin) {
		return errors.New("translog: policy: no log origin")
	}
	if len(p.Publishers) == 0 {
		return errors.New("translog: policy: no publisher key")
	}
	for _, k := range p.Publishers {
		if _, err := publisherVKey(k); err != nil {
			return fmt.Errorf("translog: policy: %w", err)
		}
	}
	for _, k := range p.Witnesses {
		if _, err := parseVKey(k); err != nil {
			return fmt.Errorf("translog: policy: %w", err)
		}
	}
	if p.Threshold < 0 || p.Threshold > len(p.Witnesses) {
		return fmt.Errorf("translog: policy: threshold %d with %d witness keys", p.Threshold, len(p.Witnesses))
	}
	if p.MaxAge < 0 {
		return errors.New("translog: policy: negative max age")
	}
	return nil
}

// KeyState is the set of trusted and revoked keys: the policy's pinned
// keys changed by the glassav-key/v1 leaves replayed from the log. A key
// leaf takes effect for checkpoints verified after it was replayed, so a
// checkpoint can never vouch for the keys that sign it.
//
// Keys are identified by name and public key, whatever their note
// algorithm, so revoking a witness's note vkey also revokes its
// cosignature vkey. Revocation goes by public key alone: it removes the
// key under every name, and the key cannot be added again under another.
type KeyState struct {
	// Size is the number of log leaves replayed into the state. Apply does
	// not advance it; the caller that replays leaves does.
	Size int64

	publishers map[string]string // identity → note vkey
	witnesses  map[string]string // identity → cosignature vkey
	revoked    map[string]string // identity → vkey as revoked
}

// NewKeyState returns the key state of a client that has replayed nothing:
// the policy's pinned keys. Malformed keys are left out (Policy.Check
// reports them).
func NewKeyState(p *Policy) *KeyState {
	k := &KeyState{publishers: map[string]string{}, witnesses: map[string]string{}, revoked: map[string]string{}}
	for _, s := range p.Publishers {
		if v, err := parseVKey(s); err == nil && v.alg == algEd25519 {
			k.publishers[identity(v)] = s
		}
	}
	for _, s := range p.Witnesses {
		if v, err := parseVKey(s); err == nil {
			k.witnesses[identity(v)] = v.as(algCosignature)
		}
	}
	return k
}

func identity(v vkey) string { return v.name + "+" + base64.StdEncoding.EncodeToString(v.pub) }

// Clone returns an independent copy of k.
func (k *KeyState) Clone() *KeyState {
	c := &KeyState{Size: k.Size, publishers: map[string]string{}, witnesses: map[string]string{}, revoked: map[string]string{}}
	for id, s := range k.publishers {
		c.publishers[id] = s
	}
	for id, s := range k.witnesses {
		c.witnesses[id] = s
	}
	for id, s := range k.revoked {
		c.revoked[id] = s
	}
	return c
}

// Publishers, Witnesses and Revoked list the keys, sorted.
func (k *KeyState) Publishers() []string { return sortedValues(k.publishers) }
func (k *KeyState) Witnesses() []string  { return sortedValues(k.witnesses) }
func (k *KeyState) Revoked() []string    { return sortedValues(k.revoked) }

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Apply replays one log leaf. Leaves other than glassav-key/v1 are
// ignored. Revocation is permanent: adding a revoked key is an error.
func (k *KeyState) Apply(leaf []byte) error {
	if !IsKeyChange(leaf) {
		return nil
	}
	kc, err := ParseKeyChange(leaf)
	if err != nil {
		return err
	}
	v, err := parseVKey(kc.Key)
	if err != nil {
		return err
	}
	id := identity(v)
	switch kc.Action {
	case ActionAdd:
		if samePub(k.revoked, v.pub) != nil {
			return fmt.Errorf("translog: key leaf adds %s key %q, which was revoked: %w", kc.Role, v.name, ErrRevoked)
		}
		if kc.Role == RolePublisher {
			k.publishers[id] = v.as(algEd25519)
		} else {
			k.witnesses[id] = v.as(algCosignature)
		}
	case ActionRevoke:
		// A key is its public key: the revocation removes it under every
		// name it is trusted by, not only the one the leaf spells.
		for _, m := range []map[string]string{k.publishers, k.witnesses} {
			for _, id := range samePub(m, v.pub) {
				delete(m, id)
			}
		}
		k.revoked[id] = kc.Key
	}
	return nil
}

// samePub returns the identities in m whose key is pub.
func samePub(m map[string]string, pub []byte) []string {
	var ids []string
	for id, s := range m {
		if v, err := parseVKey(s); err == nil && bytes.Equal(v.pub, pub) {
			ids = append(ids, id)
		}
	}
	return ids
}

// MarshalText returns the state as text, one key per line.
func (k *KeyState) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "glassav-keys/v1\nsize %d\n", k.Size)
	for _, s := range k.Publishers() {
		fmt.Fprintf(&b, "publisher %s\n", s)
	}
	for _, s := range k.Witnesses() {
		fmt.Fprintf(&b, "witness %s\n", s)
	}
	for _, s := range k.Revoked() {
		fmt.Fprintf(&b, "revoked %s\n", s)
	}
	return b.Bytes(), nil
}

// UnmarshalText replaces k with the state MarshalText wrote.
func (k *KeyState) UnmarshalText(b []byte) error {
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 || lines[0] != "glassav-keys/v1" || lines[len(lines)-1] != "" {
		return errors.New("translog: malformed key state")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "size "), 10, 64)
	if err != nil || n < 0 || !strings.HasPrefix(lines[1], "size ") {
		return errors.New("translog: malformed key state size")
	}
	s := &KeyState{Size: n, publishers: map[string]string{}, witnesses: map[string]string{}, revoked: map[string]string{}}
	for _, line := range lines[2 : len(lines)-1] {
		kind, key, _ := strings.Cut(line, " ")
		v, err := parseVKey(key)
		if err != nil {
			return fmt.Errorf("translog: key state: %w", err)
		}
		switch kind {
		case "publisher":
			s.publishers[identity(v)] = v.as(algEd25519)
		case "witness":
			s.witnesses[identity(v)] = v.as(algCosignature)
		case "revoked":
			s.revoked[identity(v)] = key
		default:
			return fmt.Errorf("translog: key state: unknown line %q", line)
		}
	}
	*k = *s
	return nil
}

// sigRole is what a known signature key means to the verifier.
type sigRole struct {
	name    string
	pub     string // the Ed25519 public key: one witness, whatever its key names
	witness bool
	revoked bool
}

// MaxClockSkew is how far in the future a publisher time line or a
// cosignature timestamp may lie and still vouch for freshness. A time
// beyond it is a broken or lying clock: counting it would make the
// checkpoint look fresh until long after MaxAge, which is exactly what a
// freeze attack needs.
const MaxClockSkew = 10 * time.Minute

// Verify opens a signed checkpoint note under the policy and the key
// state (nil: the policy's pinned keys). It requires the origin, a valid
// signature by a trusted, unrevoked publisher key, at least Threshold
// valid cosignatures by distinct trusted witnesses, and, with MaxAge set,
// freshness: the publisher's time line when no witness is required, else
// the Threshold-th newest cosignature time, must be within MaxAge of now,
// and times more than MaxClockSkew ahead of now do not count as fresh.
// Witnesses are counted by public key, so one key known under two names
// is one witness, and a trusted publisher key is no witness at all.
// Any signature by a known key that does not verify is an error, so a
// forged cosignature is reported rather than ignored.
func (p *Policy) Verify(msg []byte, keys *KeyState) (*Checkpoint, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if keys == nil {
		keys = NewKeyState(p)
	}
	text, _, err := splitNote(msg)
	if err != nil {
		return nil, err
	}
	origin, tree, t, err := ParseCheckpoint(text)
	if err != nil {
		return nil, err
	}
	if origin != p.Origin {
		return nil, fmt.Errorf("translog: checkpoint is for log %q, want %q: %w", origin, p.Origin, ErrOrigin)
	}

	// Every key the verifier knows, trusted or revoked, so that a
	// signature by a revoked key is named rather than "unknown".
	var verifiers []note.Verifier
	roles := map[string]sigRole{}     // name+hash
	publisherPub := map[string]bool{} // a publisher key never counts as a witness
	add := func(v note.Verifier, r sigRole) {
		id := fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
		if _, dup := roles[id]; dup {
			return
		}
		roles[id] = r
		verifiers = append(verifiers, v)
	}
	for _, s := range keys.publishers {
		v, err := note.NewVerifier(s)
		if err != nil {
			return nil, fmt.Errorf("translog: publisher key: %w", err)
		}
		k, err := parseVKey(s)
		if err != nil {
			return nil, err
		}
		add(v, sigRole{name: v.Name(), pub: string(k.pub)})
		publisherPub[string(k.pub)] = true
	}
	for _, s := range keys.witnesses {
		v, err := newCosigVerifier(s)
		if err != nil {
			return nil, err
		}
		add(v, sigRole{name: v.Name(), pub: string(v.pub), witness: true})
	}
	for _, s := range keys.revoked {
		k, err := parseVKey(s)
		if err != nil {
			continue
		}
		if v, err := note.NewVerifier(k.as(algEd25519)); err == nil {
			add(v, sigRole{name: v.Name(), pub: string(k.pub), revoked: true})
		}
		if v, err := newCosigVerifier(s); err == nil {
			add(v, sigRole{name: v.Name(), pub: string(k.pub), witness: true, revoked: true})
		}
	}

	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		var inv *note.InvalidSignatureError
		var unv *note.UnverifiedNoteError
		switch {
		case errors.As(err, &inv):
			r := roles[fmt.Sprintf("%s+%08x", inv.Name, inv.Hash)]
			what := "publisher signature"
			if r.witness {
				what = "witness cosignature"
			}
			return nil, fmt.Errorf("translog: checkpoint %s size %d: %s by key %q does not verify (tampered checkpoint or forged signature): %w",
				origin, tree.N, what, inv.Name, ErrBadSignature)
		case errors.As(err, &unv):
			var names []string
			for _, s := range unv.Note.UnverifiedSigs {
				names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return nil, fmt.Errorf("translog: checkpoint %s size %d is signed only by unknown keys %q: %w", origin, tree.N, names, ErrUntrusted)
		}
		return nil, fmt.Errorf("translog: checkpoint: %w", err)
	}

	cp := &Checkpoint{Origin: origin, Tree: tree, Time: t, Raw: bytes.Clone(msg)}
	var revokedNames []string
	witnessed := map[string]bool{} // public keys counted: a witness is its key, not its key names
	for _, s := range n.Sigs {
		r := roles[fmt.Sprintf("%s+%08x", s.Name, s.Hash)]
		switch {
		case r.revoked:
			revokedNames = append(revokedNames, s.Name)
		case r.witness:
			ts, err := torchwood.CosignatureTimestamp(s)
			if err != nil {
				return nil, fmt.Errorf("translog: witness %q: %w", s.Name, err)
			}
			if witnessed[r.pub] || publisherPub[r.pub] {
				continue
			}
			witnessed[r.pub] = true
			cp.Witnesses = append(cp.Witnesses, s.Name)
			cp.Witnessed = append(cp.Witnessed, time.Unix(ts, 0).UTC())
		case cp.Publisher == "":
			cp.Publisher = s.Name
		}
	}
	if cp.Publisher == "" {
		if len(revokedNames) > 0 {
			return nil, fmt.Errorf("translog: checkpoint %s size %d is signed by revoked key %q and no trusted publisher key: %w",
				origin, tree.N, revokedNames, ErrRevoked)
		}
		return nil, fmt.Errorf("translog: checkpoint %s size %d has only witness cosignatures, no trusted publisher signature: %w",
			origin, tree.N, ErrUntrusted)
	}
	if len(cp.Witnesses) < p.Threshold {
		msg := fmt.Sprintf("translog: checkpoint %s size %d has %d valid witness cosignatures %q, policy requires %d",
			origin, tree.N, len(cp.Witnesses), cp.Witnesses, p.Threshold)
		if len(revokedNames) > 0 {
			msg += fmt.Sprintf(" (ignored signatures by revoked keys %q)", revokedNames)
		}
		return nil, fmt.Errorf("%s: %w", msg, ErrWitnesses)
	}
	if p.MaxAge > 0 {
		now := p.now()
		fresh, by := cp.Time, "published"
		if p.Threshold > 0 {
			// Only times up to now+MaxClockSkew vouch for freshness.
			var ws []time.Time
			for _, w := range cp.Witnessed {
				if !w.After(now.Add(MaxClockSkew)) {
					ws = append(ws, w)
				}
			}
			if len(ws) < p.Threshold {
				return nil, fmt.Errorf("translog: checkpoint %s size %d: only %d of its witness cosignatures are dated before %s, policy requires %d (cosignatures dated in the future: %v): %w",
					origin, tree.N, len(ws), now.Add(MaxClockSkew).Format(time.RFC3339), p.Threshold, cp.Witnessed, ErrStale)
			}
			slices.SortFunc(ws, func(a, b time.Time) int { return b.Compare(a) })
			fresh, by = ws[p.Threshold-1], fmt.Sprintf("cosigned by %d witnesses", p.Threshold)
		} else if fresh.After(now.Add(MaxClockSkew)) {
			return nil, fmt.Errorf("translog: checkpoint %s size %d is dated %s, in the future (more than %s ahead of %s): %w",
				origin, tree.N, fresh.Format(time.RFC3339), MaxClockSkew, now.Format(time.RFC3339), ErrStale)
		}
		if age := now.Sub(fresh); age > p.MaxAge {
			return nil, fmt.Errorf("translog: checkpoint %s size %d was last %s at %s, %s ago, beyond the maximum age %s (frozen feed?): %w",
				origin, tree.N, by, fresh.Format(time.RFC3339), age.Round(time.Second), p.MaxAge, ErrStale)
		}
	}
	return cp, nil
}
