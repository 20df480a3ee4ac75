package unpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// The limit names, as clamscan spells them in Heuristics.Limits.Exceeded.<Name>.
const (
	LimitRecursion = "MaxRecursion"
	LimitFiles     = "MaxFiles"
	LimitScanSize  = "MaxScanSize"
	LimitFileSize  = "MaxFileSize"
	LimitScanTime  = "MaxScanTime"
	LimitRatio     = "MaxRatio" // compression ratio (glassav's own limit)
)

// Limits bound the unpacking of one top-level object. Zero fields take
// ClamAV's defaults (recursion 17, files 10,000, scan size 400 MiB, file
// size 100 MiB, scan time 120 s); Ratio defaults to 1,000 and applies to
// members larger than RatioFloor (default 1 MiB).
type Limits struct {
	MaxRecursion int
	MaxFiles     int
	MaxScanSize  int64
	MaxFileSize  int64
	MaxScanTime  time.Duration
	MaxRatio     int64
	RatioFloor   int64
}

// Defaults returns l with zero fields set to the defaults.
func (l Limits) Defaults() Limits {
	if l.MaxRecursion == 0 {
		l.MaxRecursion = 17
	}
	if l.MaxFiles == 0 {
		l.MaxFiles = 10000
	}
	if l.MaxScanSize == 0 {
		l.MaxScanSize = 400 << 20
	}
	if l.MaxFileSize == 0 {
		l.MaxFileSize = 100 << 20
	}
	if l.MaxScanTime == 0 {
		l.MaxScanTime = 120 * time.Second
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = 1000
	}
	if l.RatioFloor == 0 {
		l.RatioFloor = 1 << 20
	}
	return l
}

// LimitError reports that a limit stopped unpacking.
type LimitError struct {
	Limit string // one of the Limit* names
	Value int64  // the configured limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("limit %s (%d) exceeded", e.Limit, e.Value)
}

// IsLimit reports whether err is or wraps a *LimitError, and returns it.
func IsLimit(err error) (*LimitError, bool) {
	var le *LimitError
	ok := errors.As(err, &le)
	return le, ok
}

// Budget is the account of one top-level object's unpacking, shared by
// every container under it and safe for concurrent use: the bytes and
// files its members use, and the deadline.
type Budget struct {
	l        Limits
	deadline time.Time

	mu    sync.Mutex
	bytes int64
	files int
	hit   []*LimitError

	workers int // see SetWorkers
}

// SetWorkers lets formats whose members decode independently (zip) decode
// up to n of them side by side; 0 or 1 decodes one at a time. The engine
// sets it to its member workers before unpacking.
func (b *Budget) SetWorkers(n int) { b.workers = n }

// Workers returns the number set by SetWorkers.
func (b *Budget) Workers() int { return b.workers }

// NewBudget starts an account under l (defaults applied).
func NewBudget(l Limits) *Budget {
	l = l.Defaults()
	return &Budget{l: l, deadline: time.Now().Add(l.MaxScanTime)}
}

// Limits returns the limits in force.
func (b *Budget) Limits() Limits { return b.l }

// Hit returns the limits that were exceeded so far, each once.
func (b *Budget) Hit() []*LimitError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*LimitError(nil), b.hit...)
}

func (b *Budget) fail(name string, v int64) *LimitError {
	for _, e := range b.hit {
		if e.Limit == name {
			return e
		}
	}
	e := &LimitError{Limit: name, Value: v}
	b.hit = append(b.hit, e)
	return e
}

// Fail records a limit hit found by the caller (e.g. recursion depth) and
// returns its error.
func (b *Budget) Fail(name string, v int64) *LimitError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fail(name, v)
}

// File accounts for one more member.
func (b *Budget) File() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.files >= b.l.MaxFiles {
		return b.fail(LimitFiles, int64(b.l.MaxFiles))
	}
	b.files++
	return nil
}

// Take accounts for n more bytes of member data.
func (b *Budget) Take(n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bytes+n > b.l.MaxScanSize {
		return b.fail(LimitScanSize, b.l.MaxScanSize)
	}
	b.bytes += n
	return nil
}

// Check returns an error if ctx is done or the scan time is over.
func (b *Budget) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if time.Now().After(b.deadline) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.fail(LimitScanTime, int64(b.l.MaxScanTime/time.Second))
	}
	return nil
}

// Read reads one member from r, which decompresses packed bytes of the
// container: it stops with a *LimitError when the member would exceed
// MaxFileSize, the remaining scan size, or MaxRatio times packed (packed <
// 0: unknown), and accounts for the file and its bytes. A read error after
// some data returns the data read so far with the error, so a truncated
// member is still scanned.
func (b *Budget) Read(ctx context.Context, r io.Reader, packed int64) ([]byte, error) {
	return b.ReadSized(ctx, r, packed, -1)
}

// ReadSized is Read for a member whose container states its size (size <
// 0: unknown). The size is not trusted: it only sizes the buffer, within
// the limits, so an honest member is read into one allocation of its size
// rather than a buffer grown by doubling.
func (b *Budget) ReadSized(ctx context.Context, r io.Reader, packed, size int64) ([]byte, error) {
	if err := b.Check(ctx); err != nil {
		return nil, err
	}
	if err := b.File(); err != nil {
		return nil, err
	}
	limit, name, v := b.l.MaxFileSize, LimitFileSize, b.l.MaxFileSize
	if packed >= 0 && packed*b.l.MaxRatio > b.l.RatioFloor {
		if rmax := packed * b.l.MaxRatio; rmax < limit {
			limit, name, v = rmax, LimitRatio, b.l.MaxRatio
		}
	}
	const chunk = 1 << 20
	// The buffer never grows past limit+1 bytes: one byte over the limit
	// says the member is larger.
	ceiling := limit + 1
	initial := int64(64 << 10)
	if size >= 0 {
		// A stated size larger than the packed bytes could hold at the
		// ratio limit is a lie: it must not buy a large allocation.
		initial = size + 1
		if packed >= 0 {
			initial = min(initial, max(packed*b.l.MaxRatio, chunk))
		}
	}
	buf := make([]byte, 0, min(initial, ceiling))
	for {
		if err := b.Check(ctx); err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max(2*int64(cap(buf)), chunk), ceiling))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), len(buf)+chunk)])
		if n > 0 {
			if terr := b.Take(int64(n)); terr != nil {
				return buf, terr
			}
			buf = buf[:len(buf)+n]
		}
		if int64(len(buf)) > limit {
			return buf[:limit], b.Fail(name, v)
		}
		if err != nil {
			if cap(buf) > 2*len(buf)+chunk {
				// Do not keep a buffer sized by a false stated size.
				buf = append([]byte(nil), buf...)
			}
			if err == io.EOF {
				err = nil
			}
			return buf, err
		}
	}
}

// Stored accounts for a member whose bytes are sliced from the container
// as they are (no decompression): one file and len(data) bytes, with the
// per-file size limit.
func (b *Budget) Stored(data []byte) ([]byte, error) {
	if err := b.File(); err != nil {
		return nil, err
	}
	if int64(len(data)) > b.l.MaxFileSize {
		return data[:b.l.MaxFileSize], b.Fail(LimitFileSize, b.l.MaxFileSize)
	}
	if err := b.Take(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}
