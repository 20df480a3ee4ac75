package translog

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLeafSize bounds one log entry. Release and key leaves are a few
// hundred bytes.
const MaxLeafSize = 16 << 10

// Leaf kinds: the first line of a leaf.
const (
	releaseHeader = "glassav-release/v1"
	keyHeader     = "glassav-key/v1"
)

// CheckLeaf reports whether b can be a log entry: non-empty text of at
// most MaxLeafSize bytes, ending in exactly one "\n", with no empty line.
// The record framing of data tiles depends on the last two rules.
func CheckLeaf(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("translog: empty leaf")
	case len(b) > MaxLeafSize:
		return fmt.Errorf("translog: leaf of %d bytes exceeds %d", len(b), MaxLeafSize)
	case b[len(b)-1] != '\n':
		return errors.New("translog: leaf does not end in a newline")
	case b[0] == '\n' || bytes.Contains(b, []byte("\n\n")):
		return errors.New("translog: leaf contains an empty line")
	}
	return nil
}

// appendRecord appends the data-tile framing of one leaf: the leaf
// followed by "\n", so that records are separated by an empty line.
func appendRecord(dst, leaf []byte) []byte {
	dst = append(dst, leaf...)
	return append(dst, '\n')
}

// SplitRecords splits data-tile bytes into leaves (each ending in "\n").
// It fails on any framing other than what appendRecord writes.
func SplitRecords(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.Index(data, []byte("\n\n"))
		if i < 0 {
			return nil, errors.New("translog: data tile: record not terminated by an empty line")
		}
		rec := data[:i+1]
		if err := CheckLeaf(rec); err != nil {
			return nil, fmt.Errorf("translog: data tile record %d: %w", len(out), err)
		}
		out = append(out, rec)
		data = data[i+2:]
	}
	return out, nil
}

// A Release is a glassav-release/v1 leaf: one published database bundle.
type Release struct {
	Version    int64
	SHA256     [32]byte // of the bundle .tar
	Size       int64    // of the bundle .tar
	Manifest   [32]byte // SHA-256 of the bundle's MANIFEST file
	Files      int
	Signatures int
	Delta      *Delta // optional delta bundle from an older version
}

// A Delta describes a delta bundle that upgrades From to the release.
type Delta struct {
	From   int64
	SHA256 [32]byte
	Size   int64
}

// Leaf returns the canonical leaf text of r.
func (r *Release) Leaf() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nversion %d\nsha256 %x\nsize %d\nmanifest %x\nfiles %d\nsignatures %d\n",
		releaseHeader, r.Version, r.SHA256, r.Size, r.Manifest, r.Files, r.Signatures)
	if r.Delta != nil {
		fmt.Fprintf(&b, "delta-from %d %x %d\n", r.Delta.From, r.Delta.SHA256, r.Delta.Size)
	}
	return b.Bytes()
}

// IsRelease reports whether leaf is a release leaf (by its first line).
func IsRelease(leaf []byte) bool { return bytes.HasPrefix(leaf, []byte(releaseHeader+"\n")) }

// IsKeyChange reports whether leaf is a key leaf (by its first line).
func IsKeyChange(leaf []byte) bool { return bytes.HasPrefix(leaf, []byte(keyHeader+"\n")) }

// ParseRelease parses a release leaf. Only the canonical form Leaf
// writes is accepted, so one release has exactly one leaf text.
func ParseRelease(leaf []byte) (*Release, error) {
	if err := CheckLeaf(leaf); err != nil {
		return nil, err
	}
	if !IsRelease(leaf) {
		return nil, errors.New("translog: not a release leaf")
	}
	lines := strings.Split(strings.TrimSuffix(string(leaf), "\n"), "\n")[1:]
	if len(lines) != 6 && len(lines) != 7 {
		return nil, fmt.Errorf("translog: release leaf has %d lines, want 7 or 8", len(lines)+1)
	}
	r := new(Release)
	var err error
	field := func(i int, key string) string {
		v, ok := strings.CutPrefix(lines[i], key+" ")
		if !ok && err == nil {
			err = fmt.Errorf("translog: release leaf line %d: want %q", i+2, key)
		}
		return v
	}
	r.Version = parseNum(field(0, "version"), &err)
	parseHash(field(1, "sha256"), &r.SHA256, &err)
	r.Size = parseNum(field(2, "size"), &err)
	parseHash(field(3, "manifest"), &r.Manifest, &err)
	r.Files = int(parseNum(field(4, "files"), &err))
	r.Signatures = int(parseNum(field(5, "signatures"), &err))
	if len(lines) == 7 {
		f := strings.Split(field(6, "delta-from"), " ")
		if len(f) != 3 && err == nil {
			err = errors.New("translog: release leaf: malformed delta-from line")
		}
		if err == nil {
			d := &Delta{From: parseNum(f[0], &err), Size: parseNum(f[2], &err)}
			parseHash(f[1], &d.SHA256, &err)
			r.Delta = d
		}
	}
	if err != nil {
		return nil, err
	}
	if r.Version <= 0 {
		return nil, errors.New("translog: release version must be positive")
	}
	if r.Delta != nil && r.Delta.From >= r.Version {
		return nil, errors.New("translog: delta-from version not older than the release")
	}
	if !bytes.Equal(r.Leaf(), leaf) {
		return nil, errors.New("translog: release leaf is not in canonical form")
	}
	return r, nil
}

// parseNum parses a canonical non-negative decimal below 2^53.
func parseNum(s string, err *error) int64 {
	n, e := strconv.ParseInt(s, 10, 64)
	if (e != nil || n < 0 || n >= 1<<53 || strconv.FormatInt(n, 10) != s) && *err == nil {
		*err = fmt.Errorf("translog: malformed number %q", s)
	}
	return n
}

func parseHash(s string, h *[32]byte, err *error) {
	b, e := hex.DecodeString(s)
	if (e != nil || len(b) != 32 || s != strings.ToLower(s)) && *err == nil {
		*err = fmt.Errorf("translog: malformed sha256 %q", s)
		return
	}
	copy(h[:], b)
}

// Key roles and actions of glassav-key/v1 leaves.
const (
	RolePublisher = "publisher"
	RoleWitness   = "witness"
	ActionAdd     = "add"
	ActionRevoke  = "revoke"
)

// A KeyChange is a glassav-key/v1 leaf: a publisher or witness key added
// to or revoked from the trusted set.
type KeyChange struct {
	Action string // ActionAdd or ActionRevoke
	Role   string // RolePublisher or RoleWitness
	Key    string // verifier key
}

// Leaf returns the canonical leaf text of k.
func (k *KeyChange) Leaf() []byte {
	return fmt.Appendf(nil, "%s\naction %s\nrole %s\nkey %s\n", keyHeader, k.Action, k.Role, k.Key)
}

// ParseKeyChange parses a key leaf (canonical form only).
func ParseKeyChange(leaf []byte) (*KeyChange, error) {
	if err := CheckLeaf(leaf); err != nil {
		return nil, err
	}
	if !IsKeyChange(leaf) {
		return nil, errors.New("translog: not a key leaf")
	}
	lines := strings.Split(strings.TrimSuffix(string(leaf), "\n"), "\n")
	if len(lines) != 4 {
		return nil, fmt.Errorf("translog: key leaf has %d lines, want 4", len(lines))
	}
	var k KeyChange
	var ok1, ok2, ok3 bool
	k.Action, ok1 = strings.CutPrefix(lines[1], "action ")
	k.Role, ok2 = strings.CutPrefix(lines[2], "role ")
	k.Key, ok3 = strings.CutPrefix(lines[3], "key ")
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("translog: malformed key leaf")
	}
	if k.Action != ActionAdd && k.Action != ActionRevoke {
		return nil, fmt.Errorf("translog: key leaf: unknown action %q", k.Action)
	}
	if k.Role != RolePublisher && k.Role != RoleWitness {
		return nil, fmt.Errorf("translog: key leaf: unknown role %q", k.Role)
	}
	if _, err := parseVKey(k.Key); err != nil {
		return nil, fmt.Errorf("translog: key leaf: %w", err)
	}
	return &k, nil
}
