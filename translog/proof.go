package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Limits of a proof file: a log of 2^63 leaves needs 63 hashes per proof.
const (
	maxProofHashes = 64
	MaxProofSize   = 256 << 10
)

// A Proof is an offline proof that a leaf is in the log: the leaf, its
// inclusion proof against a signed checkpoint, the checkpoint, and
// consistency proofs from earlier signed trees to the checkpoint's tree.
type Proof struct {
	Index       int64
	Leaf        []byte
	Hashes      []tlog.Hash // tlog.RecordProof of Leaf at Index in the checkpoint's tree
	Consistency []ConsistencyProof
	Checkpoint  []byte // the full signed note
}

// A ConsistencyProof proves that the tree of Size leaves is a prefix of
// the proof's checkpoint tree.
type ConsistencyProof struct {
	Size   int64
	Hashes []tlog.Hash // tlog.TreeProof
}

const proofHeader = "glassav-proof/v1\n"

// Format returns the proof file text:
//
//	glassav-proof/v1
//	index <leaf index>
//	leaf <n>
//	<n bytes: the leaf, which ends in "\n">
//	h <base64 hash>            (inclusion proof, zero or more)
//	consistency <old size>     (zero or more sections)
//	h <base64 hash>            (consistency proof from old size)
//	checkpoint
//	<the signed checkpoint note, to the end of the file>
func (p *Proof) Format() []byte {
	var b bytes.Buffer
	b.WriteString(proofHeader)
	fmt.Fprintf(&b, "index %d\nleaf %d\n", p.Index, len(p.Leaf))
	b.Write(p.Leaf)
	for _, h := range p.Hashes {
		fmt.Fprintf(&b, "h %s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	for _, c := range p.Consistency {
		fmt.Fprintf(&b, "consistency %d\n", c.Size)
		for _, h := range c.Hashes {
			fmt.Fprintf(&b, "h %s\n", base64.StdEncoding.EncodeToString(h[:]))
		}
	}
	b.WriteString("checkpoint\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof parses a proof file. It checks the framing only; Verify
// checks the contents.
func ParseProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("translog: proof file larger than %d bytes", MaxProofSize)
	}
	rest, ok := bytes.CutPrefix(b, []byte(proofHeader))
	if !ok {
		return nil, errors.New("translog: not a glassav-proof/v1 file")
	}
	line := func() (string, error) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", errors.New("translog: proof file truncated")
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, nil
	}
	num := func(l, key string) (int64, error) {
		v, ok := strings.CutPrefix(l, key+" ")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
			return 0, fmt.Errorf("translog: proof file: malformed %q line", key)
		}
		return n, nil
	}
	p := new(Proof)
	l, err := line()
	if err != nil {
		return nil, err
	}
	if p.Index, err = num(l, "index"); err != nil {
		return nil, err
	}
	if l, err = line(); err != nil {
		return nil, err
	}
	n, err := num(l, "leaf")
	if err != nil {
		return nil, err
	}
	if n > int64(len(rest)) || n > MaxLeafSize {
		return nil, errors.New("translog: proof file: leaf length out of range")
	}
	p.Leaf, rest = bytes.Clone(rest[:n]), rest[n:]
	if err := CheckLeaf(p.Leaf); err != nil {
		return nil, fmt.Errorf("translog: proof file: %w", err)
	}
	cur := &p.Hashes
	for {
		if l, err = line(); err != nil {
			return nil, err
		}
		switch {
		case l == "checkpoint":
			if len(rest) == 0 {
				return nil, errors.New("translog: proof file: no checkpoint")
			}
			p.Checkpoint = bytes.Clone(rest)
			return p, nil
		case strings.HasPrefix(l, "h "):
			h, err := tlog.ParseHash(l[2:])
			if err != nil || base64.StdEncoding.EncodeToString(h[:]) != l[2:] {
				return nil, errors.New("translog: proof file: malformed hash line")
			}
			if len(*cur) >= maxProofHashes {
				return nil, errors.New("translog: proof file: too many hashes")
			}
			*cur = append(*cur, h)
		case strings.HasPrefix(l, "consistency "):
			size, err := num(l, "consistency")
			if err != nil {
				return nil, err
			}
			if len(p.Consistency) >= maxProofConsistency {
				return nil, errors.New("translog: proof file: too many consistency proofs")
			}
			p.Consistency = append(p.Consistency, ConsistencyProof{Size: size})
			cur = &p.Consistency[len(p.Consistency)-1].Hashes
		default:
			return nil, fmt.Errorf("translog: proof file: unexpected line %q", l)
		}
	}
}

// Verify verifies the proof's checkpoint under the policy and key state,
// then the leaf's inclusion in the checkpoint's tree. It returns the
// verified checkpoint.
func (p *Proof) Verify(pol *Policy, keys *KeyState) (*Checkpoint, error) {
	cp, err := pol.Verify(p.Checkpoint, keys)
	if err != nil {
		return nil, err
	}
	if err := CheckLeaf(p.Leaf); err != nil {
		return nil, err
	}
	if p.Index < 0 || p.Index >= cp.Tree.N {
		return nil, fmt.Errorf("translog: proof: leaf index %d outside the tree of size %d", p.Index, cp.Tree.N)
	}
	if err := tlog.CheckRecord(p.Hashes, cp.Tree.N, cp.Tree.Hash, p.Index, tlog.RecordHash(p.Leaf)); err != nil {
		return nil, fmt.Errorf("translog: proof: leaf %d is not in the signed tree of size %d (tampered leaf or proof): %w", p.Index, cp.Tree.N, err)
	}
	return cp, nil
}

// CheckConsistency checks that tree new (the proof's verified checkpoint
// tree) extends old, the last tree the client verified, using the
// proof's consistency sections. An older new tree is a rollback, a
// different tree of the same size or a failed proof a fork.
func (p *Proof) CheckConsistency(old, new tlog.Tree) error {
	if err := simpleConsistency(old, new); err != errNeedProof {
		return err
	}
	for _, c := range p.Consistency {
		if c.Size != old.N {
			continue
		}
		if err := tlog.CheckTree(c.Hashes, new.N, new.Hash, old.N, old.Hash); err != nil {
			return &InconsistencyError{Kind: ErrFork, Old: old, New: new, Err: err}
		}
		return nil
	}
	return fmt.Errorf("translog: proof file has no consistency proof from the last verified size %d to %d; verify online or bring a proof made for that size", old.N, new.N)
}

var errNeedProof = errors.New("need proof")

// simpleConsistency decides the cases that need no proof.
func simpleConsistency(old, new tlog.Tree) error {
	switch {
	case old.N == 0:
		return nil
	case old.N > new.N:
		return &InconsistencyError{Kind: ErrRollback, Old: old, New: new}
	case old.N == new.N && old.Hash == new.Hash:
		return nil
	case old.N == new.N:
		return &InconsistencyError{Kind: ErrFork, Old: old, New: new}
	}
	return errNeedProof
}

// An InconsistencyError reports two trees that cannot both be views of
// one append-only log. Kind is ErrFork or ErrRollback (errors.Is works
// with either). Keep both signed notes as evidence: a fork signed by the
// publisher proves misbehaviour.
type InconsistencyError struct {
	Kind     error
	Old, New tlog.Tree
	Err      error // the failed proof check, if any
}

func (e *InconsistencyError) Error() string {
	if e.Kind == ErrRollback {
		return fmt.Sprintf("translog: rollback: the log offers a tree of size %d, older than the size %d already verified", e.New.N, e.Old.N)
	}
	s := fmt.Sprintf("translog: fork detected (SECURITY ERROR): tree of size %d (%s) is not consistent with the tree of size %d (%s) verified before",
		e.New.N, e.New.Hash, e.Old.N, e.Old.Hash)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *InconsistencyError) Is(target error) bool { return target == e.Kind }
func (e *InconsistencyError) Unwrap() error        { return e.Err }
