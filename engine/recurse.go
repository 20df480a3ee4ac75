package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/unpack"
)

// ContainerOptions control the opening of containers: archives, compressed
// streams, mail, documents. Each member is scanned as an object one level
// deeper, whose Ancestors are the types of the containers holding it.
type ContainerOptions struct {
	// Enabled opens containers, as clamscan does by default; off, only
	// the object's own bytes are matched.
	Enabled bool
	// Limits bound the unpacking of one top-level object (zero fields:
	// ClamAV's defaults). The scan time limit also bounds the matching of
	// every member.
	Limits unpack.Limits
	// AlertExceedsMax turns each limit hit into a detection
	// Heuristics.Limits.Exceeded.<Limit> (clamscan's --alert-exceeds-max).
	AlertExceedsMax bool
	// AlertEncrypted turns each encrypted member into a detection
	// Heuristics.Encrypted.<Format> (clamscan's --alert-encrypted).
	AlertEncrypted bool
	// Workers bounds the members scanned at once; 0 or 1 scans them one
	// after another on the calling goroutine.
	Workers int
	// Skip names formats (unpack.Format.Name) not to open, for clamscan's
	// --scan-archive=no, --scan-mail=no, --scan-ole2=no, --scan-pdf=no...
	Skip map[string]bool
	// NoCache scans every member, even one identical to a member already
	// found clean in the same object (see cleanCache); for measuring.
	NoCache bool
}

// Container heuristics named as ClamAV names them.
const (
	LimitPrefix       = "Heuristics.Limits.Exceeded."
	EncryptedPrefix   = "Heuristics.Encrypted."
	OverlappingZipHit = "Heuristics.Zip.OverlappingFiles"
)

// errStop ends an unpacking once a detection makes the rest useless.
var errStop = errors.New("detection found: unpacking stopped")

// tree is the scan of one top-level object and everything inside it.
type tree struct {
	r      *Rules
	opt    ScanOptions
	copt   ContainerOptions
	budget *unpack.Budget
	sem    chan struct{} // one token per extra goroutine scanning members
	stop   atomic.Bool   // a detection ended the scan (without AllMatch)

	scanned atomic.Int64
	members atomic.Int64

	// Members over MaxFileSize: trimmed to their first MaxFileSize bytes
	// and scanned (zip, as clamscan's zip reader does), or skipped whole
	// (every other format). See oversized.
	trimmed, skipped atomic.Int64

	cache *cleanCache // nil with NoCache

	mu       sync.Mutex
	warnings []string
}

// scanTree is Scan with containers opened: the object first, then, if its
// type is a container, every member, depth first in container order.
func (r *Rules) scanTree(ctx context.Context, o *Object, opt ScanOptions) (*Result, error) {
	copt := opt.Containers
	t := &tree{r: r, opt: opt, copt: copt, budget: unpack.NewBudget(copt.Limits)}
	if !copt.NoCache {
		t.cache = newCleanCache(cacheEntries)
	}
	if copt.Workers > 1 {
		t.sem = make(chan struct{}, copt.Workers-1)
		t.budget.SetWorkers(copt.Workers)
	}
	lim := t.budget.Limits()
	// The object itself counts as ClamAV counts it: one of MaxFiles, and
	// its bytes part of MaxScanSize.
	t.budget.File()
	t.budget.Take(int64(len(o.Data)))
	tctx, cancel := context.WithTimeout(ctx, lim.MaxScanTime)
	defer cancel()
	top, found, err := t.scan(tctx, o, nil, nil)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// The scan time limit, not the caller, ended the scan: what
			// was found so far stands, with the limit.
			t.budget.Fail(unpack.LimitScanTime, int64(lim.MaxScanTime/time.Second))
		} else {
			return nil, err
		}
	}
	if top == nil {
		top = &Result{Type: o.Type}
	}
	res := &Result{Type: top.Type, Hashes: top.Hashes, Allowed: top.Allowed}
	res.Warnings = append(res.Warnings, top.Warnings...)
	for _, le := range t.budget.Hit() {
		res.Limits = append(res.Limits, le.Limit)
		t.warn(fmt.Sprintf("%s: %v", o.Name, le))
		// clamscan reports no limit for a zip member it trimmed: the
		// limit stays in Limits and the warnings, without the alert,
		// when trimmed zip members are all the file size limit cut.
		quiet := le.Limit == unpack.LimitFileSize && t.trimmed.Load() > 0 && t.skipped.Load() == 0
		if copt.AlertExceedsMax && !quiet {
			found = append(found, Match{Name: LimitPrefix + le.Limit, Kind: KindLimit, Offset: -1})
		}
	}
	res.Warnings = append(res.Warnings, t.warnings...)
	res.Scanned = t.scanned.Load()
	res.Members = int(t.members.Load())
	res.Matches = r.choose(found, opt)
	return res, nil
}

// strong reports whether ms holds a detection that ends a scan without
// AllMatch: one that is neither PUA nor heuristic.
func strong(ms []Match) bool {
	for _, m := range ms {
		if !m.PUA && !strings.HasPrefix(m.Name, "Heuristics.") {
			return true
		}
	}
	return false
}

func (t *tree) warn(s string) {
	t.mu.Lock()
	t.warnings = append(t.warnings, s)
	t.mu.Unlock()
}

// child is one member's place in its container's order.
type child struct {
	found []Match
	err   error
}

// scan matches o, then opens it if it is a container. path and via are
// the member names and formats leading to o. It returns o's own result
// and the detections of o and everything inside it, in order. A member
// identical to one found clean before in this tree is not scanned again.
func (t *tree) scan(ctx context.Context, o *Object, path, via []string) (*Result, []Match, error) {
	if t.cache == nil || len(o.Ancestors) == 0 {
		return t.scanOnce(ctx, o, path, via)
	}
	k := keyOf(o)
	if t.cache.clean(k) {
		return &Result{Type: o.Type}, nil, nil
	}
	res, found, err := t.scanOnce(ctx, o, path, via)
	// Clean, and complete: no limit cut this or any scan short so far
	// (a limit hit elsewhere only makes the cache more cautious).
	if err == nil && len(found) == 0 && !t.stop.Load() && len(t.budget.Hit()) == 0 {
		t.cache.add(k)
	}
	return res, found, err
}

// scanOnce is scan without the cache.
func (t *tree) scanOnce(ctx context.Context, o *Object, path, via []string) (*Result, []Match, error) {
	sopt := t.opt
	sopt.AllMatch = true // choose once, over the whole tree
	if len(o.Ancestors) > 0 {
		// A large member's search is split over the workers; a small
		// one's is not, members being scanned side by side instead.
		sopt.Workers = 1
		if len(o.Data) >= parallelSearch {
			sopt.Workers = t.copt.Workers
		}
	}
	res, err := t.r.scanObject(ctx, o, sopt)
	if err != nil {
		return nil, nil, err
	}
	t.scanned.Add(int64(len(o.Data)))
	found := make([]Match, 0, len(res.Matches))
	for _, m := range res.Matches {
		m.Path, m.Via = path, via
		found = append(found, m)
	}
	if res.Allowed || (!t.opt.AllMatch && strong(found)) {
		if !res.Allowed {
			t.stop.Store(true)
		}
		return res, found, nil
	}
	fs := t.formats(res.Type, o.Data)
	if len(fs) == 0 {
		return res, found, nil
	}
	lim := t.budget.Limits()
	// As in ClamAV, members are scanned down to depth MaxRecursion-1: with
	// the default 17, the top-level object is level 0 and its deepest
	// scanned member level 16.
	if len(o.Ancestors)+1 >= lim.MaxRecursion {
		t.budget.Fail(unpack.LimitRecursion, int64(lim.MaxRecursion))
		return res, found, nil
	}
	anc := make([]filetype.Type, len(o.Ancestors), len(o.Ancestors)+1)
	copy(anc, o.Ancestors)
	anc = append(anc, res.Type)
	for _, f := range fs {
		if t.stop.Load() {
			break
		}
		more, err := t.open(ctx, o, f, anc, path, via)
		found = append(found, more...)
		if err != nil {
			return res, found, err
		}
	}
	return res, found, nil
}

// open unpacks o with format f and scans every member; anc are the
// members' ancestors. It returns the members' detections in order.
func (t *tree) open(ctx context.Context, o *Object, f *unpack.Format, anc []filetype.Type, path, via []string) ([]Match, error) {
	var (
		found    []Match
		children []*child
		wg       sync.WaitGroup
		n        int
	)
	lim := t.budget.Limits()
	emit := func(m unpack.Member) error {
		n++
		if t.stop.Load() {
			return errStop
		}
		name := m.Name
		switch {
		case name != "":
		case m.Offset >= 0:
			name = fmt.Sprintf("%s@%d", f.Name, m.Offset)
		default:
			name = unnamed(o.Name, f.Name, n)
		}
		cpath := append(append(make([]string, 0, len(path)+1), path...), name)
		cvia := append(append(make([]string, 0, len(via)+1), via...), f.Name)
		if m.Encrypted {
			t.warn(fmt.Sprintf("%s//%s: encrypted", o.Name, name))
			if t.copt.AlertEncrypted {
				children = append(children, &child{found: []Match{{
					Name: EncryptedPrefix + encryptedName(f.Name), Kind: KindLimit, Offset: -1, Path: cpath, Via: cvia,
				}}})
			}
			return nil
		}
		if t.oversized(f, m) {
			if f.Name != "zip" {
				t.warn(fmt.Sprintf("%s//%s: larger than MaxFileSize (%d): not scanned", o.Name, name, lim.MaxFileSize))
				return nil
			}
			t.warn(fmt.Sprintf("%s//%s: larger than MaxFileSize (%d): first %d bytes scanned", o.Name, name, lim.MaxFileSize, len(m.Data)))
		}
		t.members.Add(1)
		c := &child{}
		children = append(children, c)
		typ := m.Type
		if typ == 0 {
			typ = t.r.detector.Detect(m.Data)
		}
		co := &Object{Name: o.Name + "//" + name, Data: m.Data, Type: typ, Ancestors: anc}
		run := func() {
			_, c.found, c.err = t.scan(ctx, co, cpath, cvia)
			if c.err == nil && !t.opt.AllMatch && strong(c.found) {
				t.stop.Store(true)
			}
		}
		// Leaves are scanned side by side. Containers are opened here,
		// one at a time, so that at most one chain of decompressed
		// members is held at once, and large leaves too, their search
		// being split over the workers instead: memory stays bounded by
		// the file size limit times the nesting depth, plus the small
		// leaves in flight.
		if t.sem == nil || len(m.Data) >= parallelSearch || t.opens(typ, m.Data) {
			run()
			return nil
		}
		select {
		case t.sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-t.sem }()
				run()
			}()
		default:
			run()
		}
		return nil
	}
	uerr := f.Unpack(ctx, o.Data, t.budget, emit)
	wg.Wait()
	var firstErr error
	for _, c := range children {
		found = append(found, c.found...)
		if c.err != nil && firstErr == nil {
			firstErr = c.err
		}
	}
	if firstErr != nil {
		return found, firstErr
	}
	switch {
	case uerr == nil, errors.Is(uerr, errStop):
	case errors.Is(uerr, unpack.ErrZipOverlap):
		found = append(found, Match{Name: OverlappingZipHit, Kind: KindLimit, Offset: -1, Path: path, Via: via})
		t.warn(fmt.Sprintf("%s: %v", o.Name, uerr))
	case ctx.Err() != nil:
		return found, ctx.Err()
	default:
		if _, ok := unpack.IsLimit(uerr); !ok {
			// Corrupt or unsupported input: what could be read was
			// scanned; say what could not.
			t.warn(fmt.Sprintf("%s: %v", o.Name, uerr))
		}
	}
	return found, nil
}

// oversized reports whether m was cut to MaxFileSize because it is larger,
// and counts it as trimmed (f is zip) or skipped (any other format).
//
// clamscan 1.4 (checked with --max-filesize and --alert-exceeds-max on
// each format) skips a member over MaxFileSize from gzip, bzip2, xz and 7z
// whole, reporting the limit, but its zip reader trims the member to
// MaxFileSize, scans that prefix and reports nothing. The budget cuts
// every oversized member to exactly MaxFileSize bytes and records the
// limit: a member of that length with the limit hit is one (a member of
// exactly MaxFileSize bytes in the same tree as an oversized one is taken
// for one too; ClamAV's limit is on larger files only).
func (t *tree) oversized(f *unpack.Format, m unpack.Member) bool {
	lim := t.budget.Limits()
	if int64(len(m.Data)) != lim.MaxFileSize {
		return false
	}
	if !slices.ContainsFunc(t.budget.Hit(), func(le *unpack.LimitError) bool { return le.Limit == unpack.LimitFileSize }) {
		return false
	}
	if f.Name == "zip" {
		t.trimmed.Add(1)
	} else {
		t.skipped.Add(1)
	}
	return true
}

// parallelSearch is the member size from which a member is not scanned
// beside others but alone, its search split over the workers.
const parallelSearch = 16 << 20

// formats returns the formats that open an object of type typ, those
// switched off left out: the one registered for its type; those found
// inside it (packed executables, installers: unpack.Inside); then, as
// ClamAV's raw scan finds objects embedded in others, the carving of
// executables ("embedpe") from OLE2 files as a second pass (Windows
// executables have it as their own format), and a zip appended to an
// object no format opens (a self-extractor's archive after its stub).
//
// ClamAV's source lists zip beside OLE2 as a carrier, but clamscan 1.4
// runs no type scan over a zip's raw bytes (with --debug, no PE is ever
// matched in one, after its end or in its comment), and never carves from
// binary data: TestEmbeddedPEAsClamscan holds both to clamscan.
func (t *tree) formats(typ filetype.Type, data []byte) []*unpack.Format {
	var fs []*unpack.Format
	add := func(f *unpack.Format) {
		if f != nil && !t.copt.Skip[f.Name] && !slices.ContainsFunc(fs, func(g *unpack.Format) bool { return g.Name == f.Name }) {
			fs = append(fs, f)
		}
	}
	primary := unpack.For(typ, data)
	add(primary)
	for _, f := range unpack.Inside(typ, data) {
		add(f)
	}
	switch typ {
	case filetype.MSOLE2:
		add(unpack.ByName("embedpe"))
	}
	if primary == nil || primary.Name == "embedpe" {
		add(unpack.ForEmbedded(data))
	}
	return fs
}

// opens reports whether a member of type typ will be opened by a format
// that decompresses: carving executables only slices the member's bytes,
// so a member that is only carved may still be scanned beside others.
func (t *tree) opens(typ filetype.Type, data []byte) bool {
	for _, f := range t.formats(typ, data) {
		if f.Name != "embedpe" {
			return true
		}
	}
	return false
}

// encryptedName is ClamAV's word for a format in Heuristics.Encrypted.*.
func encryptedName(format string) string {
	switch format {
	case "zip":
		return "Zip"
	case "rar":
		return "RAR"
	case "7z", "sevenzip":
		return "7Zip"
	case "pdf":
		return "PDF"
	case "ole2":
		return "OLE2"
	}
	return strings.ToUpper(format[:1]) + format[1:]
}

// Scan matches the object against every rule and, with opt.Containers
// enabled, opens it if it is a container and scans every member the same
// way, depth first in container order (members of one container on up to
// Containers.Workers goroutines). Without AllMatch the result holds the one
// detection clamscan would print: the first strong one in that order.
func (r *Rules) Scan(ctx context.Context, o *Object, opt ScanOptions) (*Result, error) {
	if !opt.Containers.Enabled {
		res, err := r.scanObject(ctx, o, opt)
		if res != nil {
			res.Scanned = int64(len(o.Data))
		}
		return res, err
	}
	return r.scanTree(ctx, o, opt)
}

// unnamed names a member its container does not name (a bare compressed
// stream) after the container, as the tools that decompress it would:
// clam.exe.bz2 holds clam.exe, a.tgz a.tar; else "<format>#<n>".
func unnamed(container, format string, n int) string {
	base := container[strings.LastIndex(container, "/")+1:]
	ext := path.Ext(base)
	switch strings.ToLower(ext) {
	case ".tgz", ".tbz", ".tbz2", ".txz", ".tzst":
		return strings.TrimSuffix(base, ext) + ".tar"
	case ".gz", ".bz2", ".xz", ".zst", ".z", ".lzma":
		if b := strings.TrimSuffix(base, ext); b != "" && n == 1 {
			return b
		}
	}
	return fmt.Sprintf("%s#%d", format, n)
}

// Switches are clamscan's per-parser switches (--scan-archive,
// --scan-mail, --scan-ole2, --scan-pdf, --scan-html; clamd's ScanArchive,
// ScanMail, ScanOLE2, ScanPDF, ScanHTML), all on by default.
type Switches struct {
	Archive, Mail, OLE2, PDF, HTML bool
}

// Skip returns the formats (unpack.Format.Name) the switches turn off, for
// ContainerOptions.Skip, as clamscan 1.4 groups them (checked on its test
// files): mail takes uuencode and TNEF with it; HTML needs both the HTML
// and the mail switch (ClamAV reads encoded content in HTML with its mail
// parser); every other format, BinHex and RTF included, is an archive.
func (s Switches) Skip() map[string]bool {
	skip := map[string]bool{}
	for _, f := range unpack.Formats() {
		on := s.Archive
		switch f.Name {
		case "mail", "uuencode", "tnef":
			on = s.Mail
		case "ole2", "vba":
			on = s.OLE2
		case "pdf":
			on = s.PDF
		case "html":
			on = s.HTML && s.Mail
		}
		if !on {
			skip[f.Name] = true
		}
	}
	return skip
}
