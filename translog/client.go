package translog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/glassav/glassav/internal/atomicfile"
)

// Response size limits of the static tree.
const (
	maxHashTile = tileWidth * tlog.HashSize
	maxDataTile = tileWidth * (MaxLeafSize + 1)
)

// A Client reads a log's static tree from a web server or a directory.
// Nothing it reads is trusted: checkpoints are verified by a Policy, tiles
// against verified trees. A Client caches tiles for its lifetime and is
// safe for concurrent use.
type Client struct {
	base string // URL without trailing slash, or "" for a directory
	dir  string
	hc   *http.Client

	mu    sync.Mutex
	tiles map[string][]byte
}

// NewClient returns a client for the log at base: an http(s) URL of the
// directory holding "checkpoint" and "tile/", a file:// URL, or a plain
// directory path. hc nil means http.DefaultClient (which honours
// HTTP_PROXY via http.ProxyFromEnvironment).
func NewClient(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{hc: hc, tiles: map[string][]byte{}}
	switch {
	case strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://"):
		c.base = strings.TrimRight(base, "/")
	case strings.HasPrefix(base, "file://"):
		if u, err := url.Parse(base); err == nil {
			c.dir = filepath.FromSlash(u.Path)
		} else {
			c.dir = strings.TrimPrefix(base, "file://")
		}
	default:
		c.dir = base
	}
	return c
}

// ReadFile returns the file at path (slash-separated, relative to the
// log's base), at most max bytes. A missing file yields an error wrapping
// fs.ErrNotExist.
func (c *Client) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	if strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return nil, fmt.Errorf("translog: invalid path %q", path)
	}
	var r io.ReadCloser
	if c.base == "" {
		f, err := os.Open(filepath.Join(c.dir, filepath.FromSlash(path)))
		if err != nil {
			return nil, err
		}
		r = f
	} else {
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/"+path, nil)
		if err != nil {
			return nil, err
		}
		if path == "checkpoint" {
			req.Header.Set("Cache-Control", "no-cache")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("translog: fetch %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return nil, fmt.Errorf("translog: fetch %s/%s: %w", c.base, path, fs.ErrNotExist)
			}
			return nil, fmt.Errorf("translog: fetch %s/%s: %s", c.base, path, resp.Status)
		}
		r = resp.Body
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("translog: read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("translog: %s is larger than %d bytes", path, max)
	}
	return b, nil
}

// Checkpoint fetches the current signed checkpoint note (unverified).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.ReadFile(ctx, "checkpoint", MaxNoteSize)
}

// readTile fetches one tile. A partial tile the server no longer has is
// cut from the full tile, which starts with the same hashes or records.
func (c *Client) readTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	p := t.Path()
	c.mu.Lock()
	b, ok := c.tiles[p]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	max := int64(maxHashTile)
	if t.L == -1 {
		max = maxDataTile
	}
	b, err := c.ReadFile(ctx, p, max)
	if errors.Is(err, fs.ErrNotExist) && t.W < tileWidth {
		full := t
		full.W = tileWidth
		fb, ferr := c.ReadFile(ctx, full.Path(), max)
		if ferr == nil {
			b, err = cutTile(t, fb)
		}
	}
	if err != nil {
		return nil, err
	}
	if t.L >= 0 && len(b) != t.W*tlog.HashSize {
		return nil, fmt.Errorf("translog: tile %s has %d bytes, want %d", p, len(b), t.W*tlog.HashSize)
	}
	c.mu.Lock()
	if len(c.tiles) > 1<<14 {
		clear(c.tiles)
	}
	c.tiles[p] = b
	c.mu.Unlock()
	return b, nil
}

// cutTile returns the first t.W entries of a wider tile.
func cutTile(t tlog.Tile, b []byte) ([]byte, error) {
	if t.L >= 0 {
		if len(b) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("translog: tile %s: short full tile", t.Path())
		}
		return b[:t.W*tlog.HashSize], nil
	}
	recs, err := SplitRecords(b)
	if err != nil {
		return nil, err
	}
	if len(recs) < t.W {
		return nil, fmt.Errorf("translog: data tile %s: short full tile", t.Path())
	}
	var out []byte
	for _, r := range recs[:t.W] {
		out = appendRecord(out, r)
	}
	return out, nil
}

// tileReader adapts the client to tlog.TileReader for one context.
type tileReader struct {
	ctx context.Context
	c   *Client
}

func (r tileReader) Height() int { return TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.c.readTile(r.ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// hashReader returns a reader of stored hashes verified against tree.
func (c *Client) hashReader(ctx context.Context, tree tlog.Tree) tlog.HashReader {
	return tlog.TileHashReader(tree, tileReader{ctx, c})
}

// Consistency checks that tree new (verified by the caller) is an
// append-only extension of tree old (verified before), fetching tiles as
// needed. Inconsistent trees yield an *InconsistencyError matching
// ErrFork or ErrRollback; the caller keeps both signed notes as evidence.
func (c *Client) Consistency(ctx context.Context, old, new tlog.Tree) error {
	if err := simpleConsistency(old, new); err != errNeedProof {
		return err
	}
	proof, err := tlog.ProveTree(new.N, old.N, c.hashReader(ctx, new))
	if err != nil {
		return fmt.Errorf("translog: tiles for the tree of size %d: %w", new.N, err)
	}
	if err := tlog.CheckTree(proof, new.N, new.Hash, old.N, old.Hash); err != nil {
		return &InconsistencyError{Kind: ErrFork, Old: old, New: new, Err: err}
	}
	return nil
}

// Leaves returns leaves [from, to) of the log, each checked against tree.
func (c *Client) Leaves(ctx context.Context, tree tlog.Tree, from, to int64) ([][]byte, error) {
	if from < 0 || from > to || to > tree.N {
		return nil, fmt.Errorf("translog: leaves [%d, %d) outside the tree of size %d", from, to, tree.N)
	}
	hr := c.hashReader(ctx, tree)
	var out [][]byte
	for start := from; start < to; {
		t := tlog.Tile{H: TileHeight, L: -1, N: start / tileWidth, W: tileWidth}
		if end := (t.N + 1) * tileWidth; end > tree.N {
			t.W = int(tree.N - t.N*tileWidth)
		}
		data, err := c.readTile(ctx, t)
		if err != nil {
			return nil, err
		}
		recs, err := SplitRecords(data)
		if err != nil {
			return nil, fmt.Errorf("translog: data tile %s: %w", t.Path(), err)
		}
		if len(recs) != t.W {
			return nil, fmt.Errorf("translog: data tile %s has %d records, want %d", t.Path(), len(recs), t.W)
		}
		end := min(to, t.N*tileWidth+int64(t.W))
		idx := make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, i))
		}
		hashes, err := hr.ReadHashes(idx)
		if err != nil {
			return nil, fmt.Errorf("translog: tiles for the tree of size %d: %w", tree.N, err)
		}
		for i := start; i < end; i++ {
			rec := recs[i-t.N*tileWidth]
			if tlog.RecordHash(rec) != hashes[i-start] {
				return nil, fmt.Errorf("translog: leaf %d in %s does not match the signed tree (tampered data tile)", i, t.Path())
			}
			out = append(out, bytes.Clone(rec))
		}
		start = end
	}
	return out, nil
}

// Inclusion checks that leaf is leaf index of tree.
func (c *Client) Inclusion(ctx context.Context, tree tlog.Tree, index int64, leaf []byte) error {
	if index < 0 || index >= tree.N {
		return fmt.Errorf("translog: leaf %d outside the tree of size %d", index, tree.N)
	}
	proof, err := tlog.ProveRecord(tree.N, index, c.hashReader(ctx, tree))
	if err != nil {
		return fmt.Errorf("translog: tiles for the tree of size %d: %w", tree.N, err)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("translog: leaf %d is not in the signed tree of size %d: %w", index, tree.N, err)
	}
	return nil
}

// ConsistencyProof fetches tiles and returns the proof that tree n is a
// prefix of tree (for a witness client that is not the publisher).
func (c *Client) ConsistencyProof(ctx context.Context, tree tlog.Tree, n int64) (tlog.TreeProof, error) {
	if n <= 0 || n > tree.N {
		return nil, fmt.Errorf("translog: no consistency proof from %d to %d", n, tree.N)
	}
	return tlog.ProveTree(tree.N, n, c.hashReader(ctx, tree))
}

// SaveEvidence writes both signed notes of a detected fork or rollback
// into dir (created if needed) as <prefix>-old.checkpoint and
// <prefix>-new.checkpoint, and returns the paths written.
func SaveEvidence(dir, prefix string, oldNote, newNote []byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range []struct {
		suffix string
		b      []byte
	}{{"-old.checkpoint", oldNote}, {"-new.checkpoint", newNote}} {
		p := filepath.Join(dir, prefix+f.suffix)
		if err := atomicfile.WriteFile(p, f.b, 0o600); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}
