// Command daemonreload measures a clamd-protocol daemon (glassav or clamd)
// reloading its database while it serves: it keeps -conns connections
// busy with INSTREAM scans of a fixed file mix, sends RELOAD -reloads
// times, and samples the daemon's resident memory from outside, reading
// VmRSS from /proc/PID/status every -sample.
//
//	daemonreload -addr SOCKET -pid PID -log DAEMON.LOG [-conns 4] [-reloads 3]
//	             [-warmup 3s] [-steady 10s] [-settle 5s] [-switch ROOT]
//
// A reload is taken as done when the daemon's log gains a line matching
// -done (both clamd and glassav log "Database correctly reloaded"). With
// -switch, ROOT/current is a symlink to one of ROOT's version directories
// and is switched atomically to the next one before each RELOAD, as an
// updater installing a new database version would.
//
// It prints steady-state RSS (median and maximum of the samples in the
// -steady window under load, after -warmup), the peak RSS from each RELOAD
// until -settle after it completed, the ratio peak/median, scan latencies
// in steady state and during reloads, and the failed scans, which must be
// none: any failure makes the exit status 1.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/bench/cmd/internal/filemix"
	"github.com/glassav/glassav/clamd"
)

type sample struct {
	t   time.Time
	rss int64 // KiB
}

type scan struct {
	start, end time.Time
	failed     bool
}

type window struct{ from, to time.Time }

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// overlaps reports whether a scan ran during any part of w.
func (w window) overlaps(s scan) bool { return !s.end.Before(w.from) && !s.start.After(w.to) }

func main() {
	addr := flag.String("addr", "", "daemon's unix socket")
	name := flag.String("name", "daemon", "label for the output")
	pid := flag.Int("pid", 0, "daemon's process id, for /proc/PID/status")
	logFile := flag.String("log", "", "daemon's log file")
	done := flag.String("done", "Database correctly reloaded", "regexp of the log line that ends a reload")
	failRE := flag.String("fail", "(?i)reload failed|ERROR: ", "regexp of a log line, after the first RELOAD, that reports a failed reload")
	conns := flag.Int("conns", 4, "concurrent scanning connections")
	reloads := flag.Int("reloads", 3, "number of RELOADs")
	warmup := flag.Duration("warmup", 3*time.Second, "load before the steady-state window")
	steady := flag.Duration("steady", 10*time.Second, "steady-state window before the first RELOAD")
	settle := flag.Duration("settle", 5*time.Second, "time after a reload completes that still counts as the reload, and before the next")
	interval := flag.Duration("sample", 20*time.Millisecond, "RSS sampling interval")
	reloadTimeout := flag.Duration("reload-timeout", 10*time.Minute, "give up on a reload after this long")
	switchRoot := flag.String("switch", "", "switch ROOT/current between ROOT's subdirectories before each RELOAD")
	dirs := flag.String("dir", "/usr/bin,/usr/share", "comma-separated directories whose regular files are sent")
	nfiles := flag.Int("files", 240, "distinct files in the mix")
	minSize := flag.Int64("min-size", 1<<10, "smallest file in the mix")
	maxSize := flag.Int64("max-size", 5<<20, "largest file in the mix")
	seed := flag.Uint64("seed", 1, "seed of the file mix")
	wait := flag.Duration("wait", 10*time.Minute, "wait this long for the daemon to answer PING")
	summary := flag.String("summary", "", "append \"name steady_kib peak_kib ratio worst_ms failed\" to this file")
	flag.Parse()
	if *addr == "" || *pid <= 0 || *logFile == "" || *reloads <= 0 || *conns <= 0 {
		fmt.Fprintln(os.Stderr, "daemonreload: -addr, -pid, -log, -reloads > 0 and -conns > 0 are required")
		os.Exit(2)
	}
	doneRE, err := regexp.Compile(*done)
	if err == nil {
		_, err = regexp.Compile(*failRE)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemonreload:", err)
		os.Exit(2)
	}
	failedRE := regexp.MustCompile(*failRE)
	mix, err := filemix.Pick(filemix.Options{Roots: strings.Split(*dirs, ","), MinSize: *minSize, MaxSize: *maxSize, Files: *nfiles, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemonreload:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "daemonreload %s: %s\n", *name, mix.Summary())
	c := &clamd.Client{Network: "unix", Address: *addr, Timeout: 5 * time.Minute}
	if err := waitPing(c, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "daemonreload:", err)
		os.Exit(1)
	}
	var versions []string
	if *switchRoot != "" {
		if versions, err = versionDirs(*switchRoot); err != nil {
			fmt.Fprintln(os.Stderr, "daemonreload:", err)
			os.Exit(2)
		}
	}

	// The sampler.
	var samples []sample
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", *pid)
	go func() {
		defer close(samplerDone)
		t := time.NewTicker(*interval)
		defer t.Stop()
		for {
			if kb, err := vmRSS(status, "VmRSS:"); err == nil {
				samples = append(samples, sample{time.Now(), kb})
			}
			select {
			case <-stopSampler:
				return
			case <-t.C:
			}
		}
	}()

	// The scanners.
	var stop atomic.Bool
	var wg sync.WaitGroup
	per := make([][]scan, *conns)
	var next atomic.Int64
	var nerr atomic.Int64
	for w := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1) - 1
				f := mix.Files[i%int64(len(mix.Files))]
				s := scan{start: time.Now()}
				r, err := c.Instream(bytes.NewReader(f), 8192)
				s.end = time.Now()
				if err != nil || strings.HasSuffix(r, "ERROR") || !strings.HasPrefix(r, "stream:") {
					s.failed = true
					if nerr.Add(1) <= 5 {
						fmt.Fprintf(os.Stderr, "daemonreload %s: scan failed: %q %v\n", *name, r, err)
					}
				}
				per[w] = append(per[w], s)
			}
		}()
	}

	t0 := time.Now()
	time.Sleep(*warmup + *steady)
	steadyW := window{t0.Add(*warmup), time.Now()}
	// logged counts the completed reloads in the log since the first
	// RELOAD and reports whether a failure was logged.
	var from int
	logged := func() (int, bool) {
		b, _ := os.ReadFile(*logFile)
		b = b[min(from, len(b)):]
		n, bad := 0, false
		for _, l := range strings.Split(string(b), "\n") {
			if doneRE.MatchString(l) {
				n++
			} else if failedRE.MatchString(l) {
				bad = true
			}
		}
		return n, bad
	}
	if b, err := os.ReadFile(*logFile); err == nil {
		from = len(b)
	}
	var reloadW []window // from RELOAD sent to completion logged
	var peakW []window   // from RELOAD sent to settle after completion
	reloadFailed := false
	for i := range *reloads {
		if len(versions) > 0 {
			target := versions[(i+1)%len(versions)]
			if err := switchCurrent(*switchRoot, target); err != nil {
				fmt.Fprintln(os.Stderr, "daemonreload:", err)
				reloadFailed = true
				break
			}
		}
		sent := time.Now()
		r, err := c.Command("RELOAD")
		if err != nil || len(r) != 1 || r[0] != "RELOADING" {
			fmt.Fprintf(os.Stderr, "daemonreload %s: RELOAD: %q %v\n", *name, r, err)
			reloadFailed = true
			break
		}
		var end time.Time
		for time.Since(sent) < *reloadTimeout {
			n, bad := logged()
			if bad {
				fmt.Fprintf(os.Stderr, "daemonreload %s: the log reports a failed reload\n", *name)
				reloadFailed = true
			}
			if n > i {
				end = time.Now()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if end.IsZero() {
			fmt.Fprintf(os.Stderr, "daemonreload %s: reload %d not done after %v\n", *name, i+1, *reloadTimeout)
			reloadFailed = true
			break
		}
		reloadW = append(reloadW, window{sent, end})
		time.Sleep(*settle)
		peakW = append(peakW, window{sent, time.Now()})
	}
	stop.Store(true)
	wg.Wait()
	close(stopSampler)
	<-samplerDone
	hwm, _ := vmRSS(status, "VmHWM:")

	scans := slices.Concat(per...)
	var steadyRSS, peakRSS, afterRSS []int64
	for _, s := range samples {
		if steadyW.holds(s.t) {
			steadyRSS = append(steadyRSS, s.rss)
		}
		for _, w := range peakW {
			if w.holds(s.t) {
				peakRSS = append(peakRSS, s.rss)
			}
		}
		if len(peakW) > 0 && s.t.After(peakW[len(peakW)-1].to.Add(-*settle/2)) {
			afterRSS = append(afterRSS, s.rss)
		}
	}
	var steadyLat, reloadLat []time.Duration
	failed := 0
	for _, s := range scans {
		if s.failed {
			failed++
		}
		if steadyW.overlaps(s) {
			steadyLat = append(steadyLat, s.end.Sub(s.start))
		}
		for _, w := range reloadW {
			if w.overlaps(s) {
				reloadLat = append(reloadLat, s.end.Sub(s.start))
				break
			}
		}
	}
	var durs []time.Duration
	for _, w := range reloadW {
		durs = append(durs, w.to.Sub(w.from))
	}
	sm, sx := medianKB(steadyRSS), maxKB(steadyRSS)
	px := maxKB(peakRSS)
	ratio := 0.0
	if sm > 0 {
		ratio = float64(px) / float64(sm)
	}
	mib := func(kb int64) float64 { return float64(kb) / 1024 }
	fmt.Printf("%s: %d reloads (%s), %d conns, %d scans, %d failed; %d RSS samples\n",
		*name, len(reloadW), durList(durs), *conns, len(scans), failed, len(samples))
	fmt.Printf("%s:   RSS steady median %.1f MiB (max %.1f), peak during reload %.1f MiB, after %.1f MiB, VmHWM %.1f MiB; peak/steady %.2f\n",
		*name, mib(sm), mib(sx), mib(px), mib(medianKB(afterRSS)), mib(hwm), ratio)
	fmt.Printf("%s:   scan latency steady p50 %v p99 %v max %v; during reload (%d scans) p50 %v p99 %v max %v\n",
		*name, pct(steadyLat, .5), pct(steadyLat, .99), pct(steadyLat, 1),
		len(reloadLat), pct(reloadLat, .5), pct(reloadLat, .99), pct(reloadLat, 1))
	if *summary != "" {
		f, err := os.OpenFile(*summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s %d %d %.3f %.3f %d\n", *name, sm, px, ratio, float64(pct(reloadLat, 1))/float64(time.Millisecond), failed)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemonreload:", err)
		}
	}
	if failed > 0 || reloadFailed || len(reloadW) < *reloads {
		os.Exit(1)
	}
}

func waitPing(c *clamd.Client, wait time.Duration) error {
	end := time.Now().Add(wait)
	for {
		err := c.Ping()
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// vmRSS reads one "Key: N kB" field of /proc/PID/status.
func vmRSS(status, key string) (int64, error) {
	f, err := os.Open(status)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", status, key)
}

// versionDirs lists ROOT's subdirectories (the versions), in name order;
// there must be at least two, and ROOT/current must be a symlink.
func versionDirs(root string) ([]string, error) {
	if _, err := os.Readlink(filepath.Join(root, "current")); err != nil {
		return nil, fmt.Errorf("-switch %s: %w", root, err)
	}
	es, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("-switch %s: %d version directories, need 2", root, len(out))
	}
	return out, nil
}

// switchCurrent points ROOT/current at target atomically: a new link
// renamed over the old one, so a reader sees one version or the other.
func switchCurrent(root, target string) error {
	tmp := filepath.Join(root, "current.new")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(root, "current"))
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Millisecond / 10)
}

func medianKB(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

func maxKB(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v)
}

func durList(d []time.Duration) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = x.Round(10 * time.Millisecond).String()
	}
	return strings.Join(s, " ")
}
