package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/glassav/glassav/internal/atomicfile"
)

// Bundle is a read and hash-checked bundle.
type Bundle struct {
	Manifest *Manifest
	// Files holds the members read, by name: all files of a full bundle,
	// the new and changed ones of a delta.
	Files map[string][]byte
}

// IsDelta reports whether the bundle lacks some of its manifest's files.
func (b *Bundle) IsDelta() bool { return len(b.Files) < len(b.Manifest.Files) }

// Read reads a bundle into memory, checking it against lim and every
// member against the manifest.
func Read(r io.Reader, lim Limits) (*Bundle, error) {
	b := &Bundle{Files: make(map[string][]byte)}
	m, err := walk(r, lim, func(f *File, body io.Reader) error {
		data, err := io.ReadAll(body)
		b.Files[f.Name] = data
		return err
	})
	if err != nil {
		return nil, err
	}
	b.Manifest = m
	return b, nil
}

// Unpack writes the files of a bundle read from r into dir, which must
// exist and be empty. For a delta, the files it lacks are copied from
// prevDir (the installed older version); every file written is checked
// against the manifest and synced, and dir is synced last. On error dir
// may hold a partial result, for the caller to remove.
func Unpack(r io.Reader, dir, prevDir string, lim Limits) (*Manifest, error) {
	written := make(map[string]bool)
	m, err := walk(r, lim, func(f *File, body io.Reader) error {
		written[f.Name] = true
		return writeFile(filepath.Join(dir, filepath.FromSlash(f.Name)), body)
	})
	if err != nil {
		return nil, err
	}
	for i := range m.Files {
		f := &m.Files[i]
		if written[f.Name] {
			continue
		}
		if prevDir == "" {
			return nil, fmt.Errorf("bundle: delta for version %d lacks %q and there is no previous version to take it from", m.Version, f.Name)
		}
		src, err := os.Open(filepath.Join(prevDir, filepath.FromSlash(f.Name)))
		if err != nil {
			return nil, fmt.Errorf("bundle: delta for version %d: file %q from the previous version: %w", m.Version, f.Name, err)
		}
		err = writeFile(filepath.Join(dir, filepath.FromSlash(f.Name)), checked(f, src))
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("bundle: delta for version %d: previous version's %w", m.Version, err)
		}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// writeFile creates name (and its parent directories) with the content of
// r and syncs it.
func writeFile(name string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hashReader checks, at EOF, that what was read matches a manifest entry.
type hashReader struct {
	f    *File
	r    io.Reader
	n    int64
	sum  func() []byte
	wr   io.Writer
	done bool
}

// checked wraps r so that reading it to the end fails unless its content
// is exactly f's.
func checked(f *File, r io.Reader) io.Reader {
	h := sha256.New()
	return &hashReader{f: f, r: io.LimitReader(r, f.Size+1), sum: func() []byte { return h.Sum(nil) }, wr: h}
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.wr.Write(p[:n])
	h.n += int64(n)
	if h.n > h.f.Size {
		return n, fmt.Errorf("file %q: longer than the manifest's %d bytes", h.f.Name, h.f.Size)
	}
	if err == io.EOF && !h.done {
		h.done = true
		if h.n != h.f.Size {
			return n, fmt.Errorf("file %q: %d bytes, manifest says %d", h.f.Name, h.n, h.f.Size)
		}
		if !bytes.Equal(h.sum(), h.f.SHA256[:]) {
			return n, fmt.Errorf("file %q: SHA-256 differs from the manifest", h.f.Name)
		}
	}
	return n, err
}

// walk reads the archive, checks its shape and the manifest, and calls fn
// for every member after the manifest with a reader that fails unless the
// member's content matches its manifest entry. fn must read to EOF.
func walk(r io.Reader, lim Limits, fn func(f *File, body io.Reader) error) (*Manifest, error) {
	tr := tar.NewReader(r)
	var m *Manifest
	var last string
	var total int64
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle: member %d: %w", i+1, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("bundle: member %q: type %q is not a regular file", hdr.Name, hdr.Typeflag)
		}
		if hdr.Size < 0 || hdr.Size > lim.MaxFileSize {
			return nil, fmt.Errorf("bundle: member %q: size %d not in 0..%d", hdr.Name, hdr.Size, lim.MaxFileSize)
		}
		if total += hdr.Size; total > lim.MaxTotalSize {
			return nil, fmt.Errorf("bundle: members total more than the limit of %d bytes", lim.MaxTotalSize)
		}
		if i == 0 {
			if hdr.Name != ManifestName {
				return nil, fmt.Errorf("bundle: first member is %q, not %s", hdr.Name, ManifestName)
			}
			if hdr.Size > lim.maxManifestSize() {
				return nil, fmt.Errorf("bundle: %s is %d bytes, more than %d", ManifestName, hdr.Size, lim.maxManifestSize())
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("bundle: %s: %w", ManifestName, err)
			}
			if m, err = ParseManifest(b, lim); err != nil {
				return nil, fmt.Errorf("bundle: %w", err)
			}
			continue
		}
		if i > 1 && hdr.Name <= last {
			return nil, fmt.Errorf("bundle: member %q: names not sorted or not unique", hdr.Name)
		}
		last = hdr.Name
		f := m.Lookup(hdr.Name)
		if f == nil {
			return nil, fmt.Errorf("bundle: member %q is not in the manifest", hdr.Name)
		}
		if hdr.Size != f.Size {
			return nil, fmt.Errorf("bundle: member %q: %d bytes, manifest says %d", hdr.Name, hdr.Size, f.Size)
		}
		body := checked(f, tr)
		if err := fn(f, body); err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		// fn must have read to EOF, which ran the hash check; make sure.
		if n, err := io.Copy(io.Discard, body); err != nil || n != 0 {
			if err == nil {
				err = errors.New("not read to the end")
			}
			return nil, fmt.Errorf("bundle: member %q: %w", hdr.Name, err)
		}
	}
	if m == nil {
		return nil, fmt.Errorf("bundle: empty archive, no %s", ManifestName)
	}
	return m, nil
}
