package unpack

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fuzzLimits are small so a fuzz input that expands cannot eat the
// fuzzer's memory or time: a hit limit is a valid outcome.
var fuzzLimits = Limits{
	MaxRecursion: 4,
	MaxFiles:     200,
	MaxScanSize:  8 << 20,
	MaxFileSize:  2 << 20,
	MaxScanTime:  fuzzScanTime,
	MaxRatio:     200,
	RatioFloor:   64 << 10,
}

// fuzzFormat is the body of every FuzzUnpack<Name> target: it seeds the
// corpus, then checks on any input that fm.Unpack does not panic, keeps
// within the budget, and ends in nil, a *FormatError, a *LimitError or
// the context's error — never a bare error from a reader below it, so
// every failure names the format and where it happened.
func fuzzFormat(f *testing.F, fm *Format, seeds ...[]byte) {
	f.Helper()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A decoder stuck inside one Read never reaches the budget's
		// checks: the watchdog turns such a hang into a failure, which
		// the fuzzer keeps as a regression input.
		done := make(chan struct{})
		go func() {
			defer close(done)
			checkUnpack(t, fm, data, fuzzLimits)
		}()
		select {
		case <-done:
		case <-time.After(fuzzHang):
			t.Fatalf("%s: unpacking %d bytes still runs after %v", fm.Name, len(data), fuzzHang)
		}
	})
}

// fuzzHang is how long one fuzz input may take: the scan time limit, with
// room for a slow machine.
const fuzzHang = 3 * fuzzScanTime

const fuzzScanTime = 5 * time.Second

// checkUnpack unpacks data under l and checks the invariants every format
// keeps on any input; it returns the members and the error.
func checkUnpack(t testing.TB, fm *Format, data []byte, l Limits) ([]Member, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*l.Defaults().MaxScanTime)
	defer cancel()
	b := NewBudget(l)
	lim := b.Limits()
	var ms []Member
	var total int64
	err := fm.Unpack(ctx, data, b, func(m Member) error {
		if m.Encrypted && m.Data != nil {
			t.Errorf("%s: encrypted member %q carries %d bytes", fm.Name, m.Name, len(m.Data))
		}
		if int64(len(m.Data)) > lim.MaxFileSize {
			t.Errorf("%s: member %q has %d bytes, over MaxFileSize %d", fm.Name, m.Name, len(m.Data), lim.MaxFileSize)
		}
		total += int64(len(m.Data))
		ms = append(ms, m)
		return nil
	})
	if total > lim.MaxScanSize+lim.MaxFileSize {
		t.Errorf("%s: members hold %d bytes, over MaxScanSize %d", fm.Name, total, lim.MaxScanSize)
	}
	if n := countPlain(ms); n > lim.MaxFiles {
		t.Errorf("%s: %d members, over MaxFiles %d", fm.Name, n, lim.MaxFiles)
	}
	if err != nil {
		var fe *FormatError
		_, isLimit := IsLimit(err)
		if !errors.As(err, &fe) && !isLimit && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %T %q is neither a FormatError nor a LimitError", fm.Name, err, err)
		}
		if fe != nil && fe.Format == "" {
			t.Errorf("%s: FormatError without a format name: %v", fm.Name, err)
		}
	}
	return ms, err
}

// countPlain counts the members that were read (encrypted ones are not).
func countPlain(ms []Member) int {
	n := 0
	for _, m := range ms {
		if !m.Encrypted {
			n++
		}
	}
	return n
}
