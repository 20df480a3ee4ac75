package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/glassav/glassav/translog"
)

// Offline installs a bundle carried to the machine with its proof file
// (an air-gapped installation). The proof's checkpoint is verified against
// the pinned keys and the key leaves this installation has replayed, and
// the release leaf's inclusion in it; the checkpoint must not be older
// than, nor a different tree of the same size as, the last one verified.
// The bundle may be the release's full bundle or its delta from the
// installed version.
func Offline(ctx context.Context, cfg *Config, bundlePath, proofPath string) (*Result, error) {
	r, err := newRun(cfg)
	if err != nil {
		return nil, err
	}
	defer r.unlock()
	r.step("fetch-checkpoint")
	pb, err := readProof(proofPath)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	proof, err := translog.ParseProof(pb)
	if err != nil {
		return nil, fmt.Errorf("update: %s: %w", proofPath, err)
	}

	r.step("verify-checkpoint")
	cp, err := proof.Verify(&cfg.Policy, r.keys)
	if err != nil {
		return nil, fmt.Errorf("update: %s: %w", proofPath, err)
	}
	r.res.TreeSize = cp.Tree.N

	r.step("consistency")
	old, err := r.oldTree()
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if err := proof.CheckConsistency(old, cp.Tree); err != nil {
		if errors.Is(err, translog.ErrFork) || errors.Is(err, translog.ErrRollback) {
			err = fmt.Errorf("SECURITY: %w; evidence in %s", err, r.st.saveEvidence("offline", r.trust.checkpoint, cp.Raw))
		}
		return nil, fmt.Errorf("update: %s: %w", proofPath, err)
	}

	r.step("find-release")
	rel, err := translog.ParseRelease(proof.Leaf)
	if err != nil {
		return nil, fmt.Errorf("update: %s: %w", proofPath, err)
	}
	if r.trust.release != nil {
		last, err := translog.ParseRelease(r.trust.release)
		if err != nil {
			return nil, fmt.Errorf("update: saved release: %w", err)
		}
		if rel.Version < last.Version || (rel.Version == last.Version && proof.Index != r.trust.releaseIdx) {
			return nil, fmt.Errorf("update: %w: proof for version %d at leaf %d, but version %d at leaf %d was already verified", ErrLog, rel.Version, proof.Index, last.Version, r.trust.releaseIdx)
		}
	}
	if rel.Version <= r.current {
		return nil, fmt.Errorf("update: version %d is not newer than the installed version %d", rel.Version, r.current)
	}
	r.trust.checkpoint = cp.Raw
	r.trust.release, r.trust.releaseIdx = proof.Leaf, proof.Index

	r.step("inclusion") // checked by proof.Verify
	if _, err := os.Stat(bundlePath); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	return r.install(ctx, rel, func(context.Context, string, string, int64) error {
		return errors.New("offline: nothing to fetch")
	}, bundlePath)
}

// readProof reads a proof file, at most one byte more than a proof may be
// (ParseProof refuses that), whatever the file is.
func readProof(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, translog.MaxProofSize+1))
}
