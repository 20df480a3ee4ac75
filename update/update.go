package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/internal/atomicfile"
	"github.com/glassav/glassav/translog"
)

// Errors that classify a refused update; test with errors.Is. Errors from
// package translog (translog.ErrFork, translog.ErrRollback, ...) and the
// download errors of this package are wrapped as they are.
var (
	ErrHash        = errors.New("bundle does not match the release in the log")
	ErrTestCompile = errors.New("databases do not compile")
	ErrLog         = errors.New("log misbehaves")
)

// Result describes what an update did.
type Result struct {
	From, To   int64 // installed version before and after (equal when up to date)
	UpToDate   bool
	Delta      bool  // installed from a delta bundle
	TreeSize   int64 // size of the verified tree
	Signatures int   // signatures of the installed databases
	Warnings   []string
}

// run is one update attempt.
type run struct {
	cfg     *Config
	st      state
	trust   *trust
	keys    *translog.KeyState
	current int64
	res     *Result
	unlock  func()
}

func newRun(cfg *Config) (*run, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("update: no state directory")
	}
	if err := cfg.Policy.Check(); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	r := &run{cfg: cfg, st: state{cfg.StateDir}}
	if err := r.st.init(); err != nil {
		return nil, fmt.Errorf("update: state directory: %w", err)
	}
	var err error
	if r.unlock, err = lock(r.st.path(trustDir, lockFile)); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	fail := func(err error) (*run, error) {
		r.unlock()
		return nil, fmt.Errorf("update: %w", err)
	}
	if r.trust, err = r.st.loadTrust(); err != nil {
		return fail(err)
	}
	if r.keys, err = r.trust.keyState(&cfg.Policy); err != nil {
		return fail(err)
	}
	if r.current, _, err = Installed(cfg.StateDir); err != nil {
		return fail(err)
	}
	r.res = &Result{From: r.current, To: r.current}
	return r, nil
}

func (r *run) step(name string) {
	r.cfg.logf("update: %s", name)
	if r.cfg.Hook != nil {
		r.cfg.Hook(name)
	}
}

// oldTree returns the tree of the last verified checkpoint (size 0 when
// there is none).
func (r *run) oldTree() (tlog.Tree, error) {
	if r.trust.checkpoint == nil {
		return tlog.Tree{}, nil
	}
	_, t, _, err := translog.ParseUnverified(r.trust.checkpoint)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("saved checkpoint: %w", err)
	}
	return t, nil
}

// sameOrOlder refuses a checkpoint older than the last one verified, or a
// different tree of the same size, keeping both notes as evidence.
func (r *run) sameOrOlder(old tlog.Tree, cp *translog.Checkpoint) error {
	if r.trust.checkpoint == nil {
		return nil
	}
	switch {
	case cp.Tree.N < old.N:
		dir := r.st.saveEvidence("rollback", r.trust.checkpoint, cp.Raw)
		return fmt.Errorf("SECURITY: %w: checkpoint of size %d is older than the size %d already verified; evidence in %s", translog.ErrRollback, cp.Tree.N, old.N, dir)
	case cp.Tree.N == old.N && cp.Tree.Hash != old.Hash:
		dir := r.st.saveEvidence("fork", r.trust.checkpoint, cp.Raw)
		return fmt.Errorf("SECURITY: %w: two different trees of size %d; evidence in %s", translog.ErrFork, old.N, dir)
	}
	return nil
}

// Update brings the installation in cfg.StateDir to the newest release of
// the log at cfg.Mirror, verifying everything first.
func Update(ctx context.Context, cfg *Config) (*Result, error) {
	r, err := newRun(cfg)
	if err != nil {
		return nil, err
	}
	defer r.unlock()
	hc := cfg.HTTPClient
	if hc == nil {
		if hc, err = NewHTTPClient(""); err != nil {
			return nil, err
		}
	}
	client := translog.NewClient(cfg.Mirror, hc)
	m := newMirror(cfg.Mirror, hc)

	r.step("fetch-checkpoint")
	note, err := client.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("update: fetch checkpoint from %s: %w", cfg.Mirror, err)
	}

	r.step("verify-checkpoint")
	cp, err := cfg.Policy.Verify(note, r.keys)
	if err != nil {
		return nil, fmt.Errorf("update: checkpoint from %s: %w", cfg.Mirror, err)
	}
	r.res.TreeSize = cp.Tree.N

	r.step("consistency")
	old, err := r.oldTree()
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if err := r.sameOrOlder(old, cp); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if old.N > 0 && old.N < cp.Tree.N {
		if err := client.Consistency(ctx, old, cp.Tree); err != nil {
			dir := r.st.saveEvidence("inconsistent", r.trust.checkpoint, cp.Raw)
			return nil, fmt.Errorf("update: SECURITY: checkpoint of size %d is not consistent with the size %d already verified (evidence in %s): %w", cp.Tree.N, old.N, dir, err)
		}
	}

	r.step("replay-keys")
	// Leaves are read from where keys were last replayed: an offline
	// update advances the checkpoint without reading the leaves between.
	from := min(old.N, r.trust.replayed)
	var leaves [][]byte
	if cp.Tree.N > from {
		if leaves, err = client.Leaves(ctx, cp.Tree, from, cp.Tree.N); err != nil {
			return nil, fmt.Errorf("update: reading leaves %d..%d: %w", from, cp.Tree.N, err)
		}
		if int64(len(leaves)) != cp.Tree.N-from {
			return nil, fmt.Errorf("update: %w: %d leaves for %d..%d", ErrLog, len(leaves), from, cp.Tree.N)
		}
	}
	keyLeaves := false
	for i, leaf := range leaves {
		if !translog.IsKeyChange(leaf) {
			continue
		}
		keyLeaves = true
		// A run that crashed inside saveTrust may have saved the key
		// leaves of this range already (and an offline update may have
		// moved the checkpoint past replayed ones): replaying one again
		// changes nothing, but re-adding a key it revoked would be refused.
		if slices.ContainsFunc(r.trust.keyLeaves, func(k []byte) bool { return bytes.Equal(k, leaf) }) {
			continue
		}
		if err := r.keys.Apply(leaf); err != nil {
			return nil, fmt.Errorf("update: key leaf %d: %w", from+int64(i), err)
		}
		r.trust.keyLeaves = append(r.trust.keyLeaves, leaf)
	}
	if keyLeaves {
		// The checkpoint was verified with the keys trusted before its
		// leaves; one of them may revoke the key that signed it (a stolen
		// key signing past its own revocation) or a witness counted.
		if _, err := cfg.Policy.Verify(note, r.keys); err != nil {
			return nil, fmt.Errorf("update: checkpoint of size %d under the keys after replaying its key leaves: %w", cp.Tree.N, err)
		}
	}

	r.step("find-release")
	var lastVersion int64
	if r.trust.release != nil {
		rel, err := translog.ParseRelease(r.trust.release)
		if err != nil {
			return nil, fmt.Errorf("update: saved release: %w", err)
		}
		lastVersion = rel.Version
	}
	for i, leaf := range leaves {
		if !translog.IsRelease(leaf) {
			continue
		}
		if idx := from + int64(i); r.trust.release != nil && idx <= r.trust.releaseIdx {
			// Seen already: by an offline update, or by a run that crashed
			// after saving the release leaf but before the checkpoint.
			if idx == r.trust.releaseIdx && !bytes.Equal(leaf, r.trust.release) {
				return nil, fmt.Errorf("update: %w: leaf %d is not the release leaf verified there before", ErrLog, idx)
			}
			continue
		}
		rel, err := translog.ParseRelease(leaf)
		if err != nil {
			return nil, fmt.Errorf("update: %w: leaf %d: %v", ErrLog, from+int64(i), err)
		}
		if rel.Version <= lastVersion {
			return nil, fmt.Errorf("update: %w: leaf %d releases version %d after version %d", ErrLog, from+int64(i), rel.Version, lastVersion)
		}
		lastVersion = rel.Version
		r.trust.release, r.trust.releaseIdx = leaf, from+int64(i)
	}
	r.trust.checkpoint, r.trust.replayed = cp.Raw, cp.Tree.N
	if r.trust.release == nil {
		r.cfg.logf("update: the log holds no release yet")
		return r.finishUpToDate()
	}
	rel, err := translog.ParseRelease(r.trust.release)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if hold := r.held(); rel.Version <= r.current || rel.Version <= hold {
		if rel.Version > r.current {
			r.cfg.logf("update: version %d is held back by a rollback; a newer release will install", rel.Version)
		}
		return r.finishUpToDate()
	}

	r.step("inclusion")
	if err := client.Inclusion(ctx, cp.Tree, r.trust.releaseIdx, r.trust.release); err != nil {
		return nil, fmt.Errorf("update: release %d (leaf %d) is not in the verified tree: %w", rel.Version, r.trust.releaseIdx, err)
	}

	fetch := func(ctx context.Context, rel string, dst string, size int64) error {
		return m.download(ctx, rel, dst, size)
	}
	return r.install(ctx, rel, fetch, "")
}

// finishUpToDate saves the newly verified trust state when nothing is to
// be installed.
func (r *run) finishUpToDate() (*Result, error) {
	r.res.UpToDate = true
	r.step("save-checkpoint")
	if err := r.st.saveTrust(r.trust); err != nil {
		return nil, fmt.Errorf("update: save checkpoint: %w", err)
	}
	return r.res, nil
}

// held returns the version a Rollback moved away from: releases up to it
// are not installed again.
func (r *run) held() int64 {
	b, err := os.ReadFile(r.st.path(trustDir, holdFile))
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

const holdFile = "hold"

// fetchFunc fetches the published file rel (such as "bundles/3.tar") into
// dst, at most size bytes.
type fetchFunc func(ctx context.Context, rel, dst string, size int64) error

// install runs the steps from download to prune for rel. local, when set,
// is a bundle file already at hand (offline), used instead of fetch.
func (r *run) install(ctx context.Context, rel *translog.Release, fetch fetchFunc, local string) (*Result, error) {
	useDelta := !r.cfg.NoDelta && rel.Delta != nil && r.current != 0 && rel.Delta.From == r.current
	if local != "" {
		// Offline: the file decides which of the two hashes it must match.
		useDelta = false
		if rel.Delta != nil && rel.Delta.From == r.current && r.current != 0 {
			if ok, _ := fileMatches(local, rel.Delta.SHA256, rel.Delta.Size); ok {
				useDelta = true
			}
		}
	}
	if useDelta {
		res, err := r.installFrom(ctx, rel, true, fetch, local)
		if err == nil || local != "" || errors.Is(err, ErrTestCompile) || ctx.Err() != nil {
			return res, err
		}
		r.cfg.logf("update: delta bundle failed (%v); trying the full bundle", err)
	}
	return r.installFrom(ctx, rel, false, fetch, local)
}

func (r *run) installFrom(ctx context.Context, rel *translog.Release, delta bool, fetch fetchFunc, local string) (*Result, error) {
	remote := fmt.Sprintf("bundles/%d.tar", rel.Version)
	sum, size := rel.SHA256, rel.Size
	if delta {
		remote = fmt.Sprintf("bundles/%d-from-%d.tar", rel.Version, rel.Delta.From)
		sum, size = rel.Delta.SHA256, rel.Delta.Size
	}
	lim := r.cfg.limits()
	if size > lim.MaxTotalSize+int64(lim.MaxFiles+1)*1024+1<<20 {
		return nil, fmt.Errorf("update: release %d: bundle of %d bytes exceeds the limits", rel.Version, size)
	}

	r.step("download")
	file := local
	if file == "" {
		file = r.st.path(downloadDir, filepath.Base(remote))
		if err := fetch(ctx, remote, file, size); err != nil {
			return nil, fmt.Errorf("update: release %d: %w", rel.Version, err)
		}
	}

	r.step("verify-hash")
	if ok, err := fileMatches(file, sum, size); err != nil || !ok {
		if local == "" {
			os.Remove(file)
		}
		if err == nil {
			err = fmt.Errorf("%w: %s has another SHA-256 or size (want %d bytes)", ErrHash, remote, size)
		}
		return nil, fmt.Errorf("update: release %d: %w", rel.Version, err)
	}

	r.step("unpack")
	tmp := r.st.path(versionsDir, fmt.Sprintf(".tmp-%d-%s", rel.Version, randSuffix()))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	prevDir := ""
	if delta {
		prevDir = r.st.path(versionsDir, strconv.FormatInt(r.current, 10))
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	man, err := bundle.Unpack(f, tmp, prevDir, lim)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("update: release %d: %w", rel.Version, err)
	}
	manText := man.Format()
	if man.Version != rel.Version || sha256.Sum256(manText) != rel.Manifest || len(man.Files) != rel.Files {
		return nil, fmt.Errorf("update: release %d: %w: its MANIFEST (version %d, %d files) differs from the log's", rel.Version, ErrHash, man.Version, len(man.Files))
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, bundle.ManifestName), manText, 0o644); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}

	r.step("test-compile")
	var yaraFiles []string
	for _, mf := range man.Files {
		if ext := strings.ToLower(filepath.Ext(mf.Name)); ext == ".yar" || ext == ".yara" {
			yaraFiles = append(yaraFiles, mf.Name)
		}
	}
	if yaraFiles == nil {
		yaraFiles = []string{}
	}
	check, err := bundle.CheckDir(ctx, tmp, yaraFiles)
	if err != nil {
		return nil, fmt.Errorf("update: release %d: %w: %v", rel.Version, ErrTestCompile, err)
	}
	r.res.Signatures = check.Signatures
	r.res.Warnings = check.Warnings
	if check.Signatures != rel.Signatures {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("release %d: %d signatures loaded, the log says %d", rel.Version, check.Signatures, rel.Signatures))
	}

	r.step("install")
	final := r.st.path(versionsDir, strconv.FormatInt(rel.Version, 10))
	if err := os.RemoveAll(final); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	ok = true
	if err := atomicfile.SyncDir(r.st.path(versionsDir)); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}

	r.step("switch")
	if r.current != 0 {
		if err := r.st.setLink(previousLink, r.current); err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
	}
	if err := r.st.setLink(currentLink, rel.Version); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	os.Remove(r.st.path(trustDir, holdFile))
	r.res.To, r.res.Delta = rel.Version, delta

	r.step("save-checkpoint")
	if err := r.st.saveTrust(r.trust); err != nil {
		return nil, fmt.Errorf("update: save checkpoint: %w", err)
	}

	r.step("prune")
	if err := r.st.prune(rel.Version, r.current); err != nil {
		r.res.Warnings = append(r.res.Warnings, "prune: "+err.Error())
	}
	return r.res, nil
}

// fileMatches reports whether the file has the given size and SHA-256.
func fileMatches(name string, sum [32]byte, size int64) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, size+1))
	if err != nil {
		return false, err
	}
	return n == size && bytes.Equal(h.Sum(nil), sum[:]), nil
}
