package match_test

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glassav/glassav/clamav"
	"github.com/glassav/glassav/match"
)

// feedPatterns parses the body signatures of a generated ClamAV-feed-shaped
// database (~/.cache/glassav-bench/feed-seed1-scale1/feed.ndb, 100,000
// bodies; GLASSAV_FEED overrides the path).
func feedPatterns(b *testing.B) []*match.Node {
	path := os.Getenv("GLASSAV_FEED")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".cache/glassav-bench/feed-seed1-scale1/feed.ndb")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("feed database absent (generate it with the bench scripts): %v", err)
	}
	defer f.Close()
	var pats []*match.Node
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 {
			continue
		}
		if n, err := clamav.ParseHex(fields[3]); err == nil {
			pats = append(pats, n)
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return pats
}

// BenchmarkCompileFeed compiles the 100,000 bodies of a ClamAV-feed-shaped
// database and reports the heap the Matcher retains.
func BenchmarkCompileFeed(b *testing.B) {
	pats := feedPatterns(b)
	cpu := cpuNow()
	for b.Loop() {
		if _, err := match.Compile(pats, match.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, _ := match.Compile(pats, match.Options{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20), "retained-MB")
	b.ReportMetric(float64(m.Len()), "patterns")
	runtime.KeepAlive(m)
	runtime.KeepAlive(pats) // else the trees are collected and offset the Matcher
}

// cpuNow returns the process's CPU time (all threads, so GC included).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanFeed scans the largest file of /usr/bin (up to 64 MiB) with
// the 100,000 bodies of the feed-shaped database.
func BenchmarkScanFeed(b *testing.B) {
	m, err := match.Compile(feedPatterns(b), match.Options{})
	if err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob("/usr/bin/*")
	var data []byte
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && int(st.Size()) > len(data) {
			if d, err := os.ReadFile(f); err == nil {
				data = d
			}
		}
	}
	data = data[:min(len(data), 64<<20)]
	h := match.NewHits()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu := cpuNow()
	for b.Loop() {
		if err := m.Scan(b.Context(), data, 1, h); err != nil {
			b.Fatal(err)
		}
	}
	if d := cpuNow() - cpu; d > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/d.Seconds()/1e6, "cpuMB/s")
	}
	b.ReportMetric(float64(len(h.Matched())), "matched")
}
