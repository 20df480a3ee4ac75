package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/report"
)

// Run scans paths ("-" is stdin) with e and calls emit for every object, in
// walk order, from the calling goroutine. It returns the summary (without
// KnownViruses and EngineVersion, which the caller knows). If emit fails,
// the scan stops and Run returns emit's error; if ctx is cancelled, the
// summary is marked interrupted and Run returns ctx's error.
func Run(ctx context.Context, e Engine, paths []string, opt Options, emit func(*report.Object) error) (*report.Summary, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sum := report.NewSummary()
	sum.Start = time.Now()

	r := &runner{e: e, opt: &opt}
	jobs := opt.jobs()
	window := make(chan struct{}, 64+16*jobs)
	tasks := make(chan task, jobs)
	results := make(chan task, jobs)

	seq := 0
	w := &walker{opt: &opt, submit: func(t task) bool {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		t.seq = seq
		seq++
		out := tasks
		if t.obj != nil {
			out = results
		}
		select {
		case out <- t:
			return true
		case <-ctx.Done():
			return false
		}
	}}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(tasks)
		w.args(paths)
	}()
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for t := range tasks {
				if ctx.Err() == nil {
					t.obj, buf = r.scan(ctx, t, buf)
				}
				results <- t // nil obj: cancelled
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var tick <-chan time.Time
	if opt.Progress != nil {
		d := opt.ProgressInterval
		if d <= 0 {
			d = 200 * time.Millisecond
		}
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}

	pending := map[int]*report.Object{}
	next := 0
	var emitErr error
	for results != nil {
		select {
		case t, ok := <-results:
			if !ok {
				results = nil
				break
			}
			pending[t.seq] = t.obj
			for {
				o, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				<-window
				if o == nil || emitErr != nil {
					continue
				}
				sum.Add(o)
				if err := emit(o); err != nil {
					emitErr = err
					cancel()
				}
			}
		case <-tick:
			opt.Progress(r.files.Load(), r.bytes.Load(), time.Since(sum.Start))
		}
	}
	sum.Directories = w.dirs
	sum.End = time.Now()
	if emitErr != nil {
		return sum, emitErr
	}
	if err := parent.Err(); err != nil {
		sum.Interrupted = true
		return sum, err
	}
	return sum, nil
}

// runner scans files for Run's workers.
type runner struct {
	e            Engine
	opt          *Options
	files, bytes atomic.Int64 // progress counters
}

// scan reads and scans one file. It returns the object and the worker's
// read buffer for reuse.
func (r *runner) scan(ctx context.Context, t task, buf []byte) (o *report.Object, _ []byte) {
	o = report.NewObject(t.path, report.StatusOK)
	defer func() {
		// A panic in the engine is a bug, but one file must not end a
		// scan of thousands: report it as that file's error.
		if p := recover(); p != nil {
			o = report.NewObject(t.path, report.StatusError)
			o.SetError(report.CodeEngine, fmt.Sprintf("internal error: %v", p))
		}
	}()
	data, err := r.read(t, o, buf)
	if cap(data) <= keepBuffer {
		buf = data
	} else {
		buf = nil
	}
	if err != nil || o.Status != report.StatusOK {
		return o, buf
	}
	r.files.Add(1)
	r.bytes.Add(int64(len(data)))

	// With containers the engine keeps the time limit itself, and returns
	// what it found before the limit.
	sctx := ctx
	if r.opt.MaxScanTime > 0 && !r.opt.Containers {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, r.opt.MaxScanTime)
		defer cancel()
	}
	so := engine.ScanOptions{AllMatch: r.opt.AllMatch, DetectPUA: r.opt.DetectPUA, NoPE: r.opt.NoPE, NoELF: r.opt.NoELF, NoNormalise: r.opt.NoNormalise}
	if int64(len(data)) >= r.opt.largeObject() {
		so.Workers = r.opt.jobs()
	}
	if r.opt.Containers {
		so.Containers = r.opt.containerOptions()
	}
	res, err := r.e.Scan(sctx, &engine.Object{Name: t.path, Data: data}, so)
	switch {
	case err == nil:
		o.SetResult(res)
		o.Scanned = max(res.Scanned, int64(len(data)))
	case ctx.Err() != nil:
		return nil, buf // the whole scan was cancelled
	case errors.Is(err, context.DeadlineExceeded):
		o.SetLimit(report.LimitMaxScanTime, r.opt.AlertExceedsMax)
	default:
		o.SetError(report.CodeEngine, err.Error())
	}
	return o, buf
}

// read opens and reads the task's file into buf, recording size, limits
// and errors in o. On a limit or an error it returns with o's status set.
func (r *runner) read(t task, o *report.Object, buf []byte) ([]byte, error) {
	limit := r.opt.MaxFileSize
	if t.stdin {
		data, err := readAll(r.opt.Stdin, 0, limit, buf)
		o.Size = int64(len(data))
		return r.limits(o, data, err)
	}
	f, err := os.Open(t.path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			o.SetError(report.CodeAccessDenied, errnoText(err))
		} else {
			o.SetError(report.CodeRead, "Can't open file or directory")
		}
		return buf, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		o.SetError(report.CodeRead, "Can't read file")
		return buf, err
	}
	o.Size = fi.Size()
	if l := r.limitFor(o.Size); l != "" {
		o.SetLimit(l, r.opt.AlertExceedsMax)
		return buf, nil
	}
	data, err := readAll(f, fi.Size(), limit, buf)
	if len(data) > 0 || err == nil {
		o.Size = int64(len(data))
	}
	return r.limits(o, data, err)
}

// limits applies the size limits after a read.
func (r *runner) limits(o *report.Object, data []byte, err error) ([]byte, error) {
	switch {
	case errors.Is(err, errTooBig):
		o.SetLimit(report.LimitMaxFileSize, r.opt.AlertExceedsMax)
		return data, nil
	case err != nil:
		o.SetError(report.CodeRead, "Can't read file")
		return data, err
	}
	if l := r.limitFor(o.Size); l != "" {
		o.SetLimit(l, r.opt.AlertExceedsMax)
	}
	return data, nil
}

// limitFor returns the limit a file of size n exceeds, if any.
func (r *runner) limitFor(n int64) report.Limit {
	switch {
	case r.opt.MaxFileSize > 0 && n > r.opt.MaxFileSize:
		return report.LimitMaxFileSize
	case r.opt.MaxScanSize > 0 && n > r.opt.MaxScanSize:
		return report.LimitMaxScanSize
	}
	return ""
}
