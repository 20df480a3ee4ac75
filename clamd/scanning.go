package clamd

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/report"
	"github.com/glassav/glassav/scan"
	"github.com/glassav/glassav/unpack"
)

// outcome is the verdict on one object in memory.
type outcome struct {
	names   []string // detections, first first; empty when clean
	limit   string   // limit that stopped the scan, if any
	errText string   // the engine failed: the ERROR text
	result  *engine.Result
	cached  bool
}

// scanBytes scans data with generation g under the configured limits. The
// caller holds a scan slot.
func (s *Server) scanBytes(ctx context.Context, g *Generation, name string, data []byte, allMatch bool) outcome {
	size := int64(len(data))
	var lim report.Limit
	switch {
	case s.cfg.MaxFileSize > 0 && size > s.cfg.MaxFileSize:
		lim = report.LimitMaxFileSize
	case s.cfg.MaxScanSize > 0 && size > s.cfg.MaxScanSize:
		lim = report.LimitMaxScanSize
	}
	if lim != "" {
		// clamd skips what is over a limit and calls it clean, unless
		// AlertExceedsMax turns the limit into a detection.
		o := outcome{limit: string(lim)}
		if s.cfg.AlertExceedsMax {
			o.names = []string{lim.Detection()}
		}
		return o
	}
	var key cacheKey
	if s.cache != nil {
		key = cacheKey{sum: sha256.Sum256(data), gen: g.Number, all: allMatch}
		if v, ok := s.cache.get(key); ok {
			s.metrics.cacheHit()
			return outcome{names: v.names, cached: true}
		}
	}
	// The engine keeps the time limit of a scan that opens containers,
	// and returns what it found before it.
	opt := engine.ScanOptions{AllMatch: allMatch, DetectPUA: s.cfg.DetectPUA, NoPE: !s.cfg.ScanPE, NoELF: !s.cfg.ScanELF, NoNormalise: !s.cfg.ScanHTML,
		Containers: s.containerOptions()}
	sctx := ctx
	if s.cfg.MaxScanTime > 0 && !opt.Containers.Enabled {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, s.cfg.MaxScanTime)
		defer cancel()
	}
	res, err := safeScan(sctx, g.Rules, &engine.Object{Name: name, Data: data}, opt)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return outcome{errText: "Scan interrupted"}
	case errors.Is(err, context.DeadlineExceeded):
		o := outcome{limit: string(report.LimitMaxScanTime)}
		if s.cfg.AlertExceedsMax {
			o.names = []string{report.LimitMaxScanTime.Detection()}
		}
		return o
	default:
		return outcome{errText: err.Error()}
	}
	o := outcome{result: res}
	for _, m := range res.Matches {
		o.names = append(o.names, m.Name)
	}
	for _, l := range res.Limits {
		// Limits met inside containers: the object was scanned, not
		// skipped, so they are counted and logged beside the verdict.
		s.metrics.limitHit(l)
		s.log.Printf("%s: container limit %s exceeded", name, l)
	}
	if s.cache != nil {
		s.cache.put(key, verdict{names: o.names})
	}
	return o
}

// safeScan turns an engine panic into an error for this object alone.
func safeScan(ctx context.Context, r Rules, o *engine.Object, opt engine.ScanOptions) (res *engine.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("internal error: %v", p)
		}
	}()
	return r.Scan(ctx, o, opt)
}

// line formats the one-line verdict clamd gives for a stream or fd.
func (o *outcome) line(name string) string {
	switch {
	case o.errText != "":
		return name + ": " + o.errText + " ERROR"
	case len(o.names) > 0:
		return name + ": " + o.names[0] + " FOUND"
	}
	return name + ": OK"
}

// scanObject scans bytes received from a client (INSTREAM, FILDES) and
// sends the one reply line.
func (s *Server) scanObject(w *replier, id int, term byte, source, name, logName string, get func() ([]byte, error)) {
	if err := s.acquire(s.ctx); err != nil {
		return
	}
	defer s.release()
	j := s.startJob(strings.ToUpper(source), logName)
	defer s.endJob(j)
	g := s.db.Current()
	data, err := get()
	if errors.Is(err, errNotRegular) {
		w.line(id, term, name+": Not a regular file ERROR")
		return
	}
	if err != nil {
		s.log.Printf("%s: %v", logName, err)
		w.line(id, term, name+": Can't read file ERROR")
		s.metrics.observe(source, 0, -1, false, true, "")
		return
	}
	start := time.Now()
	o := s.scanBytes(s.ctx, g, name, data, false)
	s.metrics.observe(source, int64(len(data)), time.Since(start), len(o.names) > 0, o.errText != "", o.limit)
	w.line(id, term, o.line(name))
	s.logVerdict(logName, &o)
}

func (s *Server) logVerdict(name string, o *outcome) {
	switch {
	case o.errText != "":
		s.log.Printf("%s: %s ERROR", name, o.errText)
	case len(o.names) > 0:
		s.log.Printf("%s: %s FOUND", name, o.names[0])
		s.virusEvent(name, o.names[0])
	case s.cfg.LogClean:
		s.log.Printf("%s: OK", name)
	}
}

func (s *Server) scanStream(w *replier, id int, term byte, st *stream) {
	s.scanObject(w, id, term, "instream", st.name, "instream("+st.from+")", st.bytes)
}

func (s *Server) scanFD(w *replier, id int, term byte, fd int) {
	defer closeFD(fd)
	name := fmt.Sprintf("fd[%d]", fd)
	limit := s.cfg.MaxFileSize
	if s.cfg.MaxScanSize > 0 && (limit == 0 || s.cfg.MaxScanSize < limit) {
		limit = s.cfg.MaxScanSize
	}
	// The file is read only once a scan slot is held, so that memory stays
	// bounded by MaxThreads files however many descriptors arrive.
	s.scanObject(w, id, term, "fildes", name, name, func() ([]byte, error) { return readFD(fd, limit) })
}

// errNotRegular is readFD's answer for a pipe, socket or device.
var errNotRegular = errors.New("not a regular file")

// errStopScan ends a SCAN at its first detection; errClientGone ends a
// walk whose client can no longer be written to.
var (
	errStopScan   = errors.New("stop at first detection")
	errClientGone = errors.New("client gone")
)

// scanPath runs SCAN, CONTSCAN, MULTISCAN and ALLMATCHSCAN: a file, or a
// directory walked by package scan, with clamd's reply lines.
func (s *Server) scanPath(w *replier, id int, term byte, cmd Cmd, arg string) {
	reply := func(text string) { w.line(id, term, text) }
	if cmd == CmdAllMatchScan && !s.cfg.AllowAllMatchScan {
		reply(arg + ": ALLMATCHSCAN command disabled by clamd configuration. ERROR")
		return
	}
	if cmd == CmdMultiScan {
		n := s.multiscans.Add(1)
		defer s.multiscans.Add(-1)
		if int(n)+1 > s.cfg.MaxThreads {
			reply(arg + ": Not enough threads for multiscan. Increase MaxThreads. ERROR")
			return
		}
	}
	if err := s.acquire(s.ctx); err != nil {
		return
	}
	defer s.release()
	j := s.startJob(cmd.String(), arg)
	defer s.endJob(j)

	g := s.db.Current()
	opt := s.walkOptions(cmd)
	top := trimSlash(arg)
	fi, statErr := os.Stat(top)
	isDir := statErr == nil && fi.IsDir()
	if li, err := os.Lstat(top); err == nil && li.Mode()&os.ModeSymlink != 0 {
		if s.topLink(reply, arg, isDir, statErr) {
			return
		}
	}

	var infected, errs, scanned int
	topExcluded := false
	emit := func(o *report.Object) error {
		if w.gone() {
			return errClientGone // nobody to tell: stop walking
		}
		p, _ := o.RawPath()
		isTop := p == top
		name := p // clamd names files as walked, links unresolved
		switch o.Status {
		case report.StatusFound:
			infected++
			scanned++
			s.metrics.observe("path", o.Size, -1, true, false, string(o.Limit))
			for i, d := range o.Detections {
				if i > 0 && cmd != CmdAllMatchScan {
					break
				}
				reply(name + ": " + d.Name + " FOUND")
				s.log.Printf("%s: %s FOUND", name, d.Name)
				s.virusEvent(name, d.Name)
			}
			// SCAN and ALLMATCHSCAN stop at the first infected file (the
			// latter after reporting all of that file's matches).
			if cmd == CmdScan || cmd == CmdAllMatchScan {
				return errStopScan
			}
		case report.StatusOK, report.StatusEmpty, report.StatusSymlink:
			if o.Status == report.StatusOK {
				s.metrics.observe("path", o.Size, -1, false, false, "")
			}
			scanned++
			if isTop {
				reply(name + ": OK")
			}
			if s.cfg.LogClean {
				s.log.Printf("%s: OK", name)
			}
		case report.StatusSkipped:
			if o.Code == report.CodeBrokenSymlink {
				// Met only when links are followed; clamd reports it.
				errs++
				reply(name + ": File path check failure: No such file or directory. ERROR")
			}
			if o.Code == report.CodeLimit {
				s.metrics.observe("path", o.Size, -1, false, false, string(o.Limit))
				scanned++
				if isTop {
					reply(name + ": OK")
				}
			}
		case report.StatusExcluded:
			topExcluded = topExcluded || isTop
			if cmd != CmdMultiScan {
				reply(name + ": Excluded")
			}
		case report.StatusError:
			errs++
			s.metrics.observe("path", 0, -1, false, true, "")
			reply(name + ": " + errorText(o) + " ERROR")
			if o.Code == report.CodeUnsupported {
				reply(name + ": OK")
			}
		}
		return nil
	}
	_, err := scan.Run(s.ctx, g.Rules, []string{arg}, opt, emit)
	if err != nil && !errors.Is(err, errStopScan) {
		return // cancelled, or the client left
	}
	if isDir && !topExcluded && infected == 0 && (errs == 0 || scanned > 0) {
		reply(arg + ": OK")
	}
}

// topLink answers for a symbolic link named as the argument, as clamd
// does, and reports whether that was the whole answer. A link is followed
// only when the option for its target's kind is on. Otherwise it is clean
// without being scanned, or, when the other option is on, unsupported and
// then clean. A dangling link is clean when no link is followed, else a
// path failure.
func (s *Server) topLink(reply func(string), arg string, isDir bool, statErr error) bool {
	if statErr != nil {
		if s.cfg.FollowFileSymlinks || s.cfg.FollowDirectorySymlinks {
			reply(arg + ": File path check failure: " + errnoText(statErr) + ". ERROR")
		} else {
			reply(arg + ": OK")
		}
		return true
	}
	follow, other := s.cfg.FollowFileSymlinks, s.cfg.FollowDirectorySymlinks
	if isDir {
		follow, other = other, follow
	}
	if follow {
		return false
	}
	if other {
		reply(arg + ": Not supported file type ERROR")
	}
	reply(arg + ": OK")
	return true
}

// errorText words a failed object as clamd does.
func errorText(o *report.Object) string {
	switch o.Code {
	case report.CodeCantAccess:
		return "File path check failure: " + o.Error + "."
	case report.CodeUnsupported:
		return "Not supported file type"
	case report.CodeAccessDenied:
		return "Access denied."
	case report.CodeOpenDir:
		return "Can't open directory."
	case report.CodeRead:
		return "Can't read file"
	}
	return o.Error
}

// walkOptions maps the configuration onto package scan's options.
func (s *Server) walkOptions(cmd Cmd) scan.Options {
	o := scan.DefaultOptions()
	o.Jobs = 1
	if cmd == CmdMultiScan {
		o.Jobs = min(s.cfg.MaxThreads, 2*runtime.NumCPU())
	}
	// clamd counts the levels below the argument, and 0 means no limit;
	// package scan counts the argument as level 1.
	o.MaxDirRecursion = s.cfg.MaxDirectoryRecursion + 1
	if s.cfg.MaxDirectoryRecursion == 0 {
		o.MaxDirRecursion = 1 << 20
	}
	o.FollowDirSymlinks, o.FollowFileSymlinks = scan.FollowNever, scan.FollowNever
	if s.cfg.FollowDirectorySymlinks {
		o.FollowDirSymlinks = scan.FollowAlways
	}
	if s.cfg.FollowFileSymlinks {
		o.FollowFileSymlinks = scan.FollowAlways
	}
	o.MaxFileSize = s.cfg.MaxFileSize
	o.MaxScanSize = s.cfg.MaxScanSize
	o.MaxScanTime = s.cfg.MaxScanTime
	o.AlertExceedsMax = s.cfg.AlertExceedsMax
	c := s.containerOptions()
	o.Containers = c.Enabled
	o.MaxRecursion, o.MaxFiles = s.cfg.MaxRecursion, s.cfg.MaxFiles
	o.SkipFormats, o.AlertEncrypted = c.Skip, c.AlertEncrypted
	o.AllMatch = cmd == CmdAllMatchScan
	o.DetectPUA = s.cfg.DetectPUA
	// ExcludePath applies to files (by real path) and to directories (by
	// walked path; a pattern ending in "/" sees the path with a "/").
	o.Filter.Exclude = s.cfg.ExcludePath
	o.Filter.ExcludeDir = s.cfg.ExcludePath
	o.Stdin = strings.NewReader("") // "-" is a file name here, never our stdin
	return o
}

// trimSlash removes trailing slashes, keeping a lone root.
func trimSlash(p string) string {
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// errnoText returns the C library wording of a file system error ("No such
// file or directory"), which clamd prints.
func errnoText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// containerOptions maps the configuration onto the engine's container
// options: clamd's limits (0: no limit) and switches.
func (s *Server) containerOptions() engine.ContainerOptions {
	c := s.cfg
	sw := engine.Switches{Archive: c.ScanArchive, Mail: c.ScanMail, OLE2: c.ScanOLE2, PDF: c.ScanPDF, HTML: c.ScanHTML}
	const unlimited = 1 << 62
	or := func(v int64) int64 {
		if v <= 0 {
			return unlimited
		}
		return v
	}
	return engine.ContainerOptions{
		Enabled: true,
		Limits: unpack.Limits{
			MaxRecursion: c.MaxRecursion,
			MaxFiles:     c.MaxFiles,
			MaxFileSize:  or(c.MaxFileSize),
			MaxScanSize:  or(c.MaxScanSize),
			MaxScanTime:  time.Duration(or(int64(c.MaxScanTime))),
		},
		AlertExceedsMax: c.AlertExceedsMax,
		AlertEncrypted:  c.AlertEncrypted || c.AlertEncryptedArchive || c.AlertEncryptedDoc,
		// One object's members use the cores its scan slot does not
		// leave to others: MaxThreads bounds whole scans already.
		Workers: max(1, runtime.NumCPU()/2),
		Skip:    sw.Skip(),
	}
}
