package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/glassav/glassav/internal/atomicfile"
)

// TileHeight is the height of every tile the log writes: 256 hashes per
// full tile, as in the Go checksum database.
const TileHeight = 8

const tileWidth = 1 << TileHeight

// Files of the publisher's state directory. The tree file is the commit
// point of an append: leaves beyond its size are the remains of an
// interrupted append and are dropped on Open.
const (
	stateOrigin     = "origin"
	stateLeaves     = "leaves"
	stateTree       = "tree"
	stateCheckpoint = "checkpoint"
	stateSigned     = "signed"
	stateLock       = "lock"
)

// A Log is the publisher's side of the log: leaves and tree in a private
// state directory, and the static tree (tiles, checkpoint) that clients
// read written into a public directory. A Log holds an exclusive lock on
// its state directory until Close.
type Log struct {
	mu        sync.Mutex
	stateDir  string
	publicDir string
	origin    string
	leaves    [][]byte
	leafBytes int64       // committed length of the leaves file
	hashes    []tlog.Hash // stored hashes, tlog.StoredHashIndex order
	signed    []tlog.Tree // trees signed so far, oldest first
	unlock    func()
}

// Create makes a new empty log with the given origin line.
func Create(stateDir, publicDir, origin string) (*Log, error) {
	if origin == "" || !validText(origin) || strings.TrimSpace(origin) != origin {
		return nil, fmt.Errorf("translog: invalid origin %q", origin)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(publicDir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(stateDir, stateOrigin)); err == nil {
		return nil, fmt.Errorf("translog: %s already holds a log", stateDir)
	}
	unlock, err := lockDir(filepath.Join(stateDir, stateLock))
	if err != nil {
		return nil, err
	}
	l := &Log{stateDir: stateDir, publicDir: publicDir, origin: origin, unlock: unlock}
	for _, f := range []struct{ name, data string }{
		{stateLeaves, ""},
		{stateSigned, ""},
		{stateTree, formatTree(tlog.Tree{})},
		{stateOrigin, origin + "\n"},
	} {
		if err := atomicfile.WriteFile(filepath.Join(stateDir, f.name), []byte(f.data), 0o600); err != nil {
			unlock()
			return nil, err
		}
	}
	return l, nil
}

// Open opens the log in stateDir, writing tiles into publicDir. It
// recovers from an interrupted Append and rewrites any tile of the
// current tree missing from publicDir.
func Open(stateDir, publicDir string) (*Log, error) {
	unlock, err := lockDir(filepath.Join(stateDir, stateLock))
	if err != nil {
		return nil, err
	}
	l, err := open(stateDir, publicDir)
	if err != nil {
		unlock()
		return nil, err
	}
	l.unlock = unlock
	return l, nil
}

func open(stateDir, publicDir string) (*Log, error) {
	o, err := os.ReadFile(filepath.Join(stateDir, stateOrigin))
	if err != nil {
		return nil, fmt.Errorf("translog: not a log state directory: %w", err)
	}
	l := &Log{stateDir: stateDir, publicDir: publicDir, origin: strings.TrimSuffix(string(o), "\n")}
	tb, err := os.ReadFile(filepath.Join(stateDir, stateTree))
	if err != nil {
		return nil, err
	}
	tree, err := parseTree(tb)
	if err != nil {
		return nil, fmt.Errorf("translog: %s: %w", stateTree, err)
	}
	data, err := os.ReadFile(filepath.Join(stateDir, stateLeaves))
	if err != nil {
		return nil, err
	}
	// The leaves file may end with a partial or extra record after a
	// crash; keep exactly tree.N records.
	var leaves [][]byte
	rest := data
	for int64(len(leaves)) < tree.N {
		i := bytes.Index(rest, []byte("\n\n"))
		if i < 0 {
			return nil, fmt.Errorf("translog: %s holds %d leaves, tree has %d", stateLeaves, len(leaves), tree.N)
		}
		leaves = append(leaves, rest[:i+1])
		rest = rest[i+2:]
	}
	if len(rest) > 0 {
		if err := os.Truncate(filepath.Join(stateDir, stateLeaves), int64(len(data)-len(rest))); err != nil {
			return nil, err
		}
	}
	for _, leaf := range leaves {
		if err := l.appendHashes(leaf); err != nil {
			return nil, err
		}
		l.leaves = append(l.leaves, leaf)
	}
	l.leafBytes = int64(len(data) - len(rest))
	if h, err := tlog.TreeHash(tree.N, l.reader()); err != nil || h != tree.Hash {
		return nil, fmt.Errorf("translog: state directory is corrupt: leaves do not hash to the recorded tree of size %d", tree.N)
	}
	sb, err := os.ReadFile(filepath.Join(stateDir, stateSigned))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, line := range strings.SplitAfter(string(sb), "\n") {
		if line == "" {
			continue
		}
		t, err := parseTree([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("translog: %s: %w", stateSigned, err)
		}
		l.signed = append(l.signed, t)
	}
	if err := l.writeTiles(0, tree.N, true); err != nil {
		return nil, err
	}
	return l, nil
}

// Close releases the state directory.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlock != nil {
		l.unlock()
		l.unlock = nil
	}
	return nil
}

// Origin returns the log's origin line.
func (l *Log) Origin() string { return l.origin }

// PublicDir returns the directory the static tree is written to.
func (l *Log) PublicDir() string { return l.publicDir }

// Tree returns the current tree (including leaves not yet signed).
func (l *Log) Tree() tlog.Tree {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree()
}

func (l *Log) tree() tlog.Tree {
	n := int64(len(l.leaves))
	h, err := tlog.TreeHash(n, l.reader())
	if err != nil {
		panic(err) // all stored hashes are in memory
	}
	return tlog.Tree{N: n, Hash: h}
}

// Leaf returns leaf i.
func (l *Log) Leaf(i int64) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 0 || i >= int64(len(l.leaves)) {
		return nil, fmt.Errorf("translog: no leaf %d in a log of %d", i, len(l.leaves))
	}
	return bytes.Clone(l.leaves[i]), nil
}

// Leaves returns all leaves.
func (l *Log) Leaves() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([][]byte, len(l.leaves))
	for i, b := range l.leaves {
		out[i] = bytes.Clone(b)
	}
	return out
}

func (l *Log) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(l.hashes)) {
				return nil, fmt.Errorf("translog: stored hash %d not in the log", x)
			}
			out[i] = l.hashes[x]
		}
		return out, nil
	})
}

func (l *Log) appendHashes(leaf []byte) error {
	hs, err := tlog.StoredHashes(int64(len(l.leaves)), leaf, l.reader())
	if err != nil {
		return err
	}
	l.hashes = append(l.hashes, hs...)
	return nil
}

// Append adds leaves to the log and writes the new tiles into the public
// directory (each file by rename). The checkpoint is not changed: call
// Sign to publish the new tree.
func (l *Log) Append(leaves ...[]byte) (tlog.Tree, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, leaf := range leaves {
		if err := CheckLeaf(leaf); err != nil {
			return tlog.Tree{}, fmt.Errorf("translog: leaf %d: %w", i, err)
		}
	}
	old := int64(len(l.leaves))
	var rec []byte
	for _, leaf := range leaves {
		rec = appendRecord(rec, leaf)
	}
	// Leaves first, then tiles, then the tree file that commits them.
	leavesFile := filepath.Join(l.stateDir, stateLeaves)
	fail := func(err error) (tlog.Tree, error) {
		// Forget the uncommitted leaves, in memory and on disk, so that
		// the next Append starts from the committed tree.
		l.leaves = l.leaves[:old]
		l.hashes = l.hashes[:tlog.StoredHashCount(old)]
		os.Truncate(leavesFile, l.leafBytes)
		return tlog.Tree{}, err
	}
	if err := appendFileSync(leavesFile, rec); err != nil {
		return fail(err)
	}
	for _, leaf := range leaves {
		if err := l.appendHashes(leaf); err != nil {
			return fail(err)
		}
		l.leaves = append(l.leaves, bytes.Clone(leaf))
	}
	tree := l.tree()
	if err := l.writeTiles(old, tree.N, false); err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(l.stateDir, stateTree), []byte(formatTree(tree)), 0o600); err != nil {
		return fail(err)
	}
	l.leafBytes += int64(len(rec))
	return tree, nil
}

// writeTiles writes the hash and data tiles that change from tree size
// old to n. With onlyMissing, files already present are left alone.
func (l *Log) writeTiles(old, n int64, onlyMissing bool) error {
	for _, t := range tlog.NewTiles(TileHeight, old, n) {
		paths := []string{t.Path()}
		if t.L == 0 {
			dt := t
			dt.L = -1
			paths = append(paths, dt.Path())
		}
		for _, p := range paths {
			full := filepath.Join(l.publicDir, filepath.FromSlash(p))
			if onlyMissing {
				if _, err := os.Stat(full); err == nil {
					continue
				}
			}
			var data []byte
			if strings.Contains(p, "/data/") {
				for i := t.N * tileWidth; i < t.N*tileWidth+int64(t.W); i++ {
					data = appendRecord(data, l.leaves[i])
				}
			} else {
				var err error
				if data, err = tlog.ReadTileData(t, l.reader()); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(full, data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sign signs the current tree with the publisher's signer key at time now
// and publishes it as DIR/checkpoint. It returns the signed note.
func (l *Log) Sign(signerKey string, now time.Time) ([]byte, error) {
	return l.SignWith(now, signerKey)
}

// SignWith is Sign with several publisher keys: during a key rotation the
// old and the new key both sign, so that clients which have not replayed
// the rotation yet (fresh installations pinning either key) accept the
// checkpoint.
func (l *Log) SignWith(now time.Time, signerKeys ...string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(signerKeys) == 0 {
		return nil, errors.New("translog: no signer key")
	}
	var signers []note.Signer
	for _, k := range signerKeys {
		s, err := note.NewSigner(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("translog: signer key: %w", err)
		}
		signers = append(signers, s)
	}
	tree := l.tree()
	msg, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(l.origin, tree, now))}, signers...)
	if err != nil {
		return nil, err
	}
	if len(l.signed) == 0 || l.signed[len(l.signed)-1] != tree {
		if err := appendFileSync(filepath.Join(l.stateDir, stateSigned), []byte(formatTree(tree))); err != nil {
			return nil, err
		}
		l.signed = append(l.signed, tree)
	}
	if err := l.publish(msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func (l *Log) publish(msg []byte) error {
	if err := atomicfile.WriteFile(filepath.Join(l.stateDir, stateCheckpoint), msg, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(l.publicDir, "checkpoint"), msg, 0o644)
}

// Checkpoint returns the current signed checkpoint note, with the
// cosignatures added so far.
func (l *Log) Checkpoint() ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.checkpoint()
}

func (l *Log) checkpoint() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(l.stateDir, stateCheckpoint))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("translog: the log has not been signed yet")
	}
	return b, err
}

// AddCosignatures merges the signature lines of a note over the same
// checkpoint text (for example what witnesses returned, or a note with
// their lines appended) into DIR/checkpoint. Signatures are not checked
// here; clients check every signature by a key they know.
func (l *Log) AddCosignatures(msg []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.checkpoint()
	if err != nil {
		return err
	}
	merged, err := MergeSignatures(cur, msg)
	if err != nil {
		return err
	}
	return l.publish(merged)
}

// AddSignatureLines appends bare signature lines (as a witness returns
// them) to DIR/checkpoint.
func (l *Log) AddSignatureLines(lines []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.checkpoint()
	if err != nil {
		return err
	}
	merged, err := AppendSignatureLines(cur, lines)
	if err != nil {
		return err
	}
	return l.publish(merged)
}

// ConsistencyProof proves that the tree of size n is a prefix of the tree
// of size t (0 < n <= t <= log size).
func (l *Log) ConsistencyProof(n, t int64) (tlog.TreeProof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= 0 || n > t || t > int64(len(l.leaves)) {
		return nil, fmt.Errorf("translog: no consistency proof from %d to %d in a log of %d", n, t, len(l.leaves))
	}
	return tlog.ProveTree(t, n, l.reader())
}

// maxProofConsistency bounds how many earlier signed trees a proof file
// carries consistency proofs from.
const maxProofConsistency = 64

// Proof returns the offline proof of leaf index against the current
// signed checkpoint, with consistency proofs from the most recent
// earlier signed trees so an offline client can check the new checkpoint
// extends the last one it saw.
func (l *Log) Proof(index int64) (*Proof, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg, err := l.checkpoint()
	if err != nil {
		return nil, err
	}
	_, tree, _, err := ParseUnverified(msg)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= tree.N {
		return nil, fmt.Errorf("translog: leaf %d is not in the signed tree of size %d", index, tree.N)
	}
	rp, err := tlog.ProveRecord(tree.N, index, l.reader())
	if err != nil {
		return nil, err
	}
	p := &Proof{Index: index, Leaf: bytes.Clone(l.leaves[index]), Hashes: rp, Checkpoint: msg}
	seen := map[int64]bool{}
	for i := len(l.signed) - 1; i >= 0 && len(p.Consistency) < maxProofConsistency; i-- {
		n := l.signed[i].N
		if n <= 0 || n >= tree.N || seen[n] {
			continue
		}
		seen[n] = true
		tp, err := tlog.ProveTree(tree.N, n, l.reader())
		if err != nil {
			return nil, err
		}
		p.Consistency = append(p.Consistency, ConsistencyProof{Size: n, Hashes: tp})
	}
	return p, nil
}

func formatTree(t tlog.Tree) string {
	return fmt.Sprintf("%d %s\n", t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

func parseTree(b []byte) (tlog.Tree, error) {
	s, h, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	n, err := strconv.ParseInt(s, 10, 64)
	hash, err2 := tlog.ParseHash(h)
	if !ok || err != nil || err2 != nil || n < 0 {
		return tlog.Tree{}, fmt.Errorf("malformed tree %q", b)
	}
	return tlog.Tree{N: n, Hash: hash}, nil
}
