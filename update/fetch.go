package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Download errors; test with errors.Is.
var (
	ErrTruncated = errors.New("download truncated")
	ErrOversized = errors.New("download larger than the release says")
)

// mirror reads files of the published tree: over HTTP(S), or from a
// directory when the base is a path or a file:// URL.
type mirror struct {
	base string // URL without a trailing slash, or a directory
	dir  bool
	hc   *http.Client
}

func newMirror(base string, hc *http.Client) *mirror {
	if p, ok := strings.CutPrefix(base, "file://"); ok {
		return &mirror{base: p, dir: true}
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return &mirror{base: base, dir: true}
	}
	return &mirror{base: strings.TrimRight(base, "/"), hc: hc}
}

func (m *mirror) String() string { return m.base }

// open returns the content of rel from byte offset on, or from 0 when
// the mirror ignores the range; start says which.
func (m *mirror) open(ctx context.Context, rel string, offset int64) (body io.ReadCloser, start int64, err error) {
	if m.dir {
		f, err := os.Open(filepath.Join(m.base, filepath.FromSlash(rel)))
		if err != nil {
			return nil, 0, err
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, offset, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/"+rel, nil)
	if err != nil {
		return nil, 0, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, 0, nil
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(offset, 10)+"-") {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("GET %s: Content-Range %q does not start at %d", req.URL, resp.Header.Get("Content-Range"), offset)
		}
		return resp.Body, offset, nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		resp.Body.Close()
		// The partial file is as long as the server's, or longer: start over.
		return m.open(ctx, rel, 0)
	}
	resp.Body.Close()
	return nil, 0, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
}

// download fetches rel into the file dst, resuming a partial dst with a
// range request, and never writes more than size bytes: a longer response
// fails with ErrOversized (and the partial file is removed), a shorter one
// with ErrTruncated (kept, to resume next time).
func (m *mirror) download(ctx context.Context, rel, dst string, size int64) error {
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have > size {
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
	}
	if have == size && size > 0 {
		return nil // complete from an earlier run; the hash check decides
	}
	body, start, err := m.open(ctx, rel, have)
	if err != nil {
		return fmt.Errorf("download %s: %w", rel, err)
	}
	defer body.Close()
	if start != have {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
	}
	n, err := io.Copy(f, io.LimitReader(body, size-have+1))
	if err != nil {
		f.Sync()
		return fmt.Errorf("download %s: after %d of %d bytes: %w: %v", rel, have+n, size, ErrTruncated, err)
	}
	if have+n > size {
		f.Close()
		os.Remove(dst)
		return fmt.Errorf("download %s: %w (%d bytes)", rel, ErrOversized, size)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if have+n < size {
		return fmt.Errorf("download %s: %d of %d bytes: %w", rel, have+n, size, ErrTruncated)
	}
	return nil
}
