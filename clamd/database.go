package clamd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/clamav"
	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/scan"
)

// Rules is what the daemon needs of compiled rules; *engine.Rules has it.
type Rules interface {
	scan.Engine
	Signatures() int
}

// Info describes a loaded database for VERSION and the metrics.
type Info struct {
	Version int       // daily database version; 0 when there is none
	Built   time.Time // daily database build time
}

// Generation is one loaded rule set. It is immutable; a reload makes a new
// one.
type Generation struct {
	Rules  Rules
	Info   Info
	Number uint64 // 1 for the first load, +1 per successful reload
	Loaded time.Time
}

// LoadFunc loads a rule set; the Database calls it for the first load and
// for every reload.
type LoadFunc func(ctx context.Context) (Rules, Info, error)

// Database holds the serving Generation and replaces it on reload. Loads
// run one at a time, beside the serving rules; readers never wait.
type Database struct {
	load LoadFunc
	cur  atomic.Pointer[Generation]

	mu      sync.Mutex // serialises loads
	pending atomic.Bool

	reloads   atomic.Int64
	failures  atomic.Int64
	lastError atomic.Pointer[string]

	// OnReload, if set before the first Reload, is called after every
	// reload attempt with the new generation or the error.
	OnReload func(g *Generation, err error)
}

// NewDatabase loads the first generation.
func NewDatabase(ctx context.Context, load LoadFunc) (*Database, error) {
	d := &Database{load: load}
	r, info, err := load(ctx)
	if err != nil {
		return nil, err
	}
	d.cur.Store(&Generation{Rules: r, Info: info, Number: 1, Loaded: time.Now()})
	return d, nil
}

// Current returns the serving generation. A scan takes it once and uses it
// to the end, so a reload never changes rules under a running scan.
func (d *Database) Current() *Generation { return d.cur.Load() }

// Reload loads the databases again and, if that succeeds, makes them the
// serving generation. On failure the old generation keeps serving and the
// error is returned (and kept for LastError).
func (d *Database) Reload(ctx context.Context) (*Generation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer boundReloadMemory()()
	r, info, err := d.load(ctx)
	if err != nil {
		d.failures.Add(1)
		msg := err.Error()
		d.lastError.Store(&msg)
		if d.OnReload != nil {
			d.OnReload(nil, err)
		}
		return nil, err
	}
	old := d.cur.Load()
	g := &Generation{Rules: r, Info: info, Number: old.Number + 1, Loaded: time.Now()}
	d.cur.Store(g)
	d.reloads.Add(1)
	d.lastError.Store(nil)
	if d.OnReload != nil {
		d.OnReload(g, nil)
	}
	return g, nil
}

// ReloadAsync starts a reload unless one is already waiting to start: a
// burst of RELOAD commands costs one load after the running one.
func (d *Database) ReloadAsync(ctx context.Context) {
	if !d.pending.CompareAndSwap(false, true) {
		return
	}
	go func() {
		d.mu.Lock()
		d.pending.Store(false)
		d.mu.Unlock()
		d.Reload(ctx)
	}()
}

// LastError returns the error of the last reload, or "" if it succeeded.
func (d *Database) LastError() string {
	if p := d.lastError.Load(); p != nil {
		return *p
	}
	return ""
}

// Watch polls fingerprint every interval until ctx ends and reloads when
// it changes (clamd's SelfCheck; also how a switched "current" link of a
// versioned database directory is noticed).
func (d *Database) Watch(ctx context.Context, interval time.Duration, fingerprint func() string) {
	if interval <= 0 {
		return
	}
	last := fingerprint()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if fp := fingerprint(); fp != last {
			last = fp
			d.Reload(ctx)
		}
	}
}

// ResolveDir returns dir/current when dir holds that entry (the versioned
// layout installed by glassav's updater), else dir.
func ResolveDir(dir string) string {
	cur := filepath.Join(dir, "current")
	if fi, err := os.Stat(cur); err == nil && fi.IsDir() {
		return cur
	}
	return dir
}

// Fingerprint describes the database directories' state: the target of
// each "current" link and the name, size and modification time of every
// database file. It changes when an update lands.
func Fingerprint(dirs []string) string {
	var b strings.Builder
	for _, dir := range dirs {
		if l, err := os.Readlink(filepath.Join(dir, "current")); err == nil {
			fmt.Fprintf(&b, "%s->%s\n", dir, l)
		}
		d := ResolveDir(dir)
		entries, err := os.ReadDir(d)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", d, err)
			continue
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			if fi, err := os.Stat(filepath.Join(d, n)); err == nil && !fi.IsDir() {
				fmt.Fprintf(&b, "%s %d %d\n", n, fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

// DatabaseInfo reads the version and build time of the daily database
// (daily.cld or daily.cvd, the newer if both) in the directories, as clamd
// reports them in VERSION.
func DatabaseInfo(dirs []string) Info {
	var best Info
	for _, dir := range dirs {
		d := dir
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			d = ResolveDir(d)
		} else {
			d = filepath.Dir(d)
		}
		for _, n := range []string{"daily.cld", "daily.cvd"} {
			h, err := readHeader(filepath.Join(d, n))
			if err != nil || h.Version <= best.Version {
				continue
			}
			best = Info{Version: h.Version, Built: h.Built()}
		}
	}
	return best
}

func readHeader(name string) (clamav.Header, error) {
	f, err := os.Open(name)
	if err != nil {
		return clamav.Header{}, err
	}
	defer f.Close()
	b := make([]byte, clamav.HeaderSize)
	n, err := f.Read(b)
	if n == 0 {
		return clamav.Header{}, err
	}
	return clamav.ParseHeader(b[:n])
}

// EngineLoader returns a LoadFunc that loads glassav's engine from paths
// (database files or directories; empty means the engine's defaults), each
// directory resolved through its "current" link at every load.
func EngineLoader(paths []string, detectPUA bool) LoadFunc {
	return func(ctx context.Context) (Rules, Info, error) {
		resolved := make([]string, len(paths))
		for i, p := range paths {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				p = ResolveDir(p)
			}
			resolved[i] = p
		}
		r, err := engine.Load(ctx, engine.LoadOptions{Paths: resolved, DetectPUA: detectPUA})
		if err != nil {
			return nil, Info{}, err
		}
		return r, DatabaseInfo(resolved), nil
	}
}

// reloadHeadroom bounds the memory a reload may take beyond the steady
// state: the old rules keep serving while the new ones compile, so without
// a bound the heap briefly holds both plus the collector's usual headroom
// (measured: 2.1x steady RSS with a feed-sized database; clamd: 2x).
const reloadHeadroom = 1.45

// boundReloadMemory sets a soft memory limit of reloadHeadroom times the
// memory the process holds now, so the collector works harder during the
// load instead of letting garbage pile up, and returns the function that
// restores the previous limit. A limit set by the administrator (GOMEMLIMIT)
// that is already lower is kept. The limit is soft: if the two rule sets
// really need more, the process gets it and collects more often meanwhile.
func boundReloadMemory() (restore func()) {
	// Measure what the process needs now, not what it has not yet given
	// back: collect first, then count the memory in use.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	held := ms.HeapInuse + ms.StackInuse + ms.MSpanInuse + ms.MCacheInuse + ms.GCSys + ms.OtherSys
	limit := int64(float64(held) * reloadHeadroom)
	prev := debug.SetMemoryLimit(-1)
	if prev > limit {
		debug.SetMemoryLimit(limit)
	}
	return func() {
		// Collect before lifting the limit: the old rules are garbage once
		// swapped out, and the collector's next target was computed while
		// both sets were live, so without this the heap would grow to half
		// as much again before they are freed.
		runtime.GC()
		debug.SetMemoryLimit(prev)
	}
}
