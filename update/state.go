package update

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/glassav/glassav/internal/atomicfile"
	"github.com/glassav/glassav/translog"
)

// Names inside the state directory.
const (
	versionsDir   = "versions"
	currentLink   = "current"
	previousLink  = "previous"
	trustDir      = "trust"
	downloadDir   = "download"
	latestCPFile  = "latest-checkpoint"
	latestRelFile = "latest-release"
	replayedFile  = "replayed"
	keysFile      = "keys"
	evidenceDir   = "evidence"
	lockFile      = "lock"
)

// state is an installation's state directory.
type state struct{ dir string }

func (s state) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func (s state) init() error {
	for _, d := range []string{versionsDir, trustDir, downloadDir, filepath.Join(trustDir, evidenceDir)} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// linked returns the version a link (current or previous) points to, or 0
// when there is none.
func (s state) linked(name string) (int64, error) {
	target, err := os.Readlink(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	dir, base := filepath.Split(target)
	v, err := strconv.ParseInt(base, 10, 64)
	if filepath.Clean(dir) != versionsDir || err != nil || v < 1 {
		return 0, fmt.Errorf("%s: link to %q, not to %s/<version>", s.path(name), target, versionsDir)
	}
	return v, nil
}

// Installed returns the version the current link of stateDir points to
// (0: none) and the previous one kept for rollback.
func Installed(stateDir string) (current, previous int64, err error) {
	s := state{stateDir}
	if current, err = s.linked(currentLink); err != nil {
		return 0, 0, err
	}
	previous, err = s.linked(previousLink)
	return current, previous, err
}

// setLink points name at versions/<v> by creating a temporary link and
// renaming it over name, so that readers see the old or the new target.
func (s state) setLink(name string, v int64) error {
	tmp := s.path("." + name + ".tmp-" + randSuffix())
	if err := os.Symlink(filepath.Join(versionsDir, strconv.FormatInt(v, 10)), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path(name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return atomicfile.SyncDir(s.dir)
}

func randSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// trust is what an installation has verified so far.
type trust struct {
	checkpoint []byte // the last verified checkpoint note, nil at first
	release    []byte // the newest release leaf seen, nil if none
	releaseIdx int64
	keyLeaves  [][]byte // key leaves replayed so far, in log order
	// replayed is the number of log leaves whose key leaves are in
	// keyLeaves. An offline update moves the checkpoint past it (a proof
	// carries no leaves); the next online update replays from here.
	replayed int64
}

func (s state) loadTrust() (*trust, error) {
	t := &trust{}
	var err error
	t.checkpoint, err = os.ReadFile(s.path(trustDir, latestCPFile))
	if errors.Is(err, fs.ErrNotExist) {
		t.checkpoint, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	rel, err := os.ReadFile(s.path(trustDir, latestRelFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		line, leaf, ok := bytes.Cut(rel, []byte("\n"))
		idx, perr := strconv.ParseInt(strings.TrimPrefix(string(line), "index "), 10, 64)
		if !ok || perr != nil || !bytes.HasPrefix(line, []byte("index ")) {
			return nil, fmt.Errorf("%s: malformed", s.path(trustDir, latestRelFile))
		}
		t.release, t.releaseIdx = leaf, idx
	}
	b, err := os.ReadFile(s.path(trustDir, replayedFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Before this file existed every update was online: the keys
		// were replayed up to the saved checkpoint.
		if t.checkpoint != nil {
			_, tree, _, err := translog.ParseUnverified(t.checkpoint)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.path(trustDir, latestCPFile), err)
			}
			t.replayed = tree.N
		}
	case err != nil:
		return nil, err
	default:
		n, err := strconv.ParseInt(strings.TrimSuffix(string(b), "\n"), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: malformed", s.path(trustDir, replayedFile))
		}
		t.replayed = n
	}
	keys, err := os.ReadFile(s.path(trustDir, keysFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if t.keyLeaves, err = translog.SplitRecords(keys); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path(trustDir, keysFile), err)
		}
	}
	return t, nil
}

// save writes the trust state: keys and release first, the checkpoint
// last, so that a crash in between leaves the old checkpoint, whose
// successor the next run verifies again.
func (s state) saveTrust(t *trust) error {
	var keys []byte
	for _, l := range t.keyLeaves {
		keys = append(append(keys, l...), '\n')
	}
	if err := atomicfile.WriteFile(s.path(trustDir, keysFile), keys, 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path(trustDir, replayedFile), append(strconv.AppendInt(nil, t.replayed, 10), '\n'), 0o644); err != nil {
		return err
	}
	if t.release != nil {
		rel := append([]byte(fmt.Sprintf("index %d\n", t.releaseIdx)), t.release...)
		if err := atomicfile.WriteFile(s.path(trustDir, latestRelFile), rel, 0o644); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(s.path(trustDir, latestCPFile), t.checkpoint, 0o644)
}

// keyState rebuilds the key state from the pinned policy and the replayed
// key leaves.
func (t *trust) keyState(p *translog.Policy) (*translog.KeyState, error) {
	ks := translog.NewKeyState(p)
	for _, l := range t.keyLeaves {
		if err := ks.Apply(l); err != nil {
			return nil, fmt.Errorf("replaying saved key leaves: %w", err)
		}
	}
	return ks, nil
}

// saveEvidence keeps two conflicting signed notes in trust/evidence and
// returns a description of where.
func (s state) saveEvidence(kind string, old, new []byte) string {
	prefix := time.Now().UTC().Format("20060102T150405Z") + "-" + kind + "-" + randSuffix()
	paths, err := translog.SaveEvidence(s.path(trustDir, evidenceDir), prefix, old, new)
	if err != nil {
		return fmt.Sprintf("(not saved: %v)", err)
	}
	return strings.Join(paths, " and ")
}

// Rollback switches current back to the previous version and makes the
// version it leaves the new previous, so that a second Rollback undoes the
// first. Updates then skip releases up to the version rolled away from
// until a newer one is published. It returns the versions switched from
// and to.
func Rollback(stateDir string) (from, to int64, err error) {
	s := state{stateDir}
	if err := os.MkdirAll(s.path(trustDir), 0o755); err != nil {
		return 0, 0, err
	}
	unlock, err := lock(s.path(trustDir, lockFile))
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	cur, prev, err := Installed(stateDir)
	if err != nil {
		return 0, 0, err
	}
	if prev == 0 {
		return 0, 0, errors.New("no previous version to roll back to")
	}
	if _, err := os.Stat(s.path(versionsDir, strconv.FormatInt(prev, 10))); err != nil {
		return 0, 0, fmt.Errorf("previous version: %w", err)
	}
	if err := s.setLink(currentLink, prev); err != nil {
		return 0, 0, err
	}
	if cur != 0 {
		if err := s.setLink(previousLink, cur); err != nil {
			return 0, 0, err
		}
		// Hold the version rolled away from: updates install only a newer
		// release, not the same one again.
		if err := atomicfile.WriteFile(s.path(trustDir, holdFile), []byte(strconv.FormatInt(cur, 10)+"\n"), 0o644); err != nil {
			return 0, 0, err
		}
	}
	return cur, prev, nil
}

// prune removes installed versions other than current and previous,
// leftovers of interrupted unpacks, and downloads no longer needed.
func (s state) prune(keep ...int64) error {
	ents, err := os.ReadDir(s.path(versionsDir))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		v, perr := strconv.ParseInt(e.Name(), 10, 64)
		keepIt := false
		for _, k := range keep {
			keepIt = keepIt || (perr == nil && k == v)
		}
		if !keepIt {
			errs = append(errs, os.RemoveAll(s.path(versionsDir, e.Name())))
		}
	}
	dl, err := os.ReadDir(s.path(downloadDir))
	if err == nil {
		for _, e := range dl {
			v, perr := strconv.ParseInt(strings.SplitN(strings.TrimSuffix(e.Name(), ".tar"), "-", 2)[0], 10, 64)
			if perr != nil || v <= keep[0] {
				errs = append(errs, os.Remove(s.path(downloadDir, e.Name())))
			}
		}
	}
	return errors.Join(errs...)
}

// DatabaseAge returns how long ago the last checkpoint this installation
// verified was published: how stale its view of the databases may be. It
// is zero with ok false when nothing was verified yet.
func DatabaseAge(stateDir string, now time.Time) (age time.Duration, ok bool) {
	b, err := os.ReadFile(filepath.Join(stateDir, trustDir, latestCPFile))
	if err != nil {
		return 0, false
	}
	_, _, t, err := translog.ParseUnverified(b)
	if err != nil {
		return 0, false
	}
	return now.Sub(t), true
}
