// Command daemonload drives a clamd-protocol daemon (glassav or clamd) with
// INSTREAM scans of real files over many connections and prints requests
// per second and latency percentiles.
//
//	daemonload -addr /path/to/socket [-network unix] [-conns 32] [-requests 3000] [-dir /usr/bin]
//
// It only talks to a unix socket or a loopback TCP address, sends a bounded
// number of requests, and stops after -timeout whatever happens.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/clamd"
)

func main() {
	network := flag.String("network", "unix", "unix or tcp")
	addr := flag.String("addr", "", "socket path, or loopback host:port")
	name := flag.String("name", "daemon", "label for the output line")
	conns := flag.Int("conns", 32, "concurrent connections")
	requests := flag.Int("requests", 3000, "total INSTREAM requests")
	dir := flag.String("dir", "/usr/bin", "directory whose regular files are sent")
	maxFiles := flag.Int("files", 400, "at most this many files")
	maxSize := flag.Int64("max-size", 4<<20, "skip files larger than this")
	chunk := flag.Int("chunk", 8192, "INSTREAM chunk size (clamdscan uses 8192)")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if err := checkAddr(*network, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "daemonload:", err)
		os.Exit(2)
	}
	files, total, err := load(*dir, *maxFiles, *maxSize)
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "daemonload: no files from %s: %v\n", *dir, err)
		os.Exit(2)
	}
	c := &clamd.Client{Network: *network, Address: *addr, Timeout: time.Minute}
	if err := c.Ping(); err != nil {
		fmt.Fprintln(os.Stderr, "daemonload:", err)
		os.Exit(1)
	}

	var next, errs, found atomic.Int64
	var bytesSent atomic.Int64
	lat := make([][]time.Duration, *conns)
	deadline := time.Now().Add(*timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= int64(*requests) {
					return
				}
				f := files[i%int64(len(files))]
				t0 := time.Now()
				r, err := c.Instream(bytes.NewReader(f), *chunk)
				lat[w] = append(lat[w], time.Since(t0))
				bytesSent.Add(int64(len(f)))
				switch {
				case err != nil || strings.HasSuffix(r, "ERROR"):
					if errs.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "daemonload: %q %v\n", r, err)
					}
				case strings.HasSuffix(r, "FOUND"):
					found.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	fmt.Printf("%-13s %6d req in %6.2fs: %8.1f req/s %7.1f MiB/s  p50 %8v  p99 %8v  max %8v  errors %d  found %d  (%d files, %.1f MiB, %d conns)\n",
		*name, len(all), elapsed.Seconds(), float64(len(all))/elapsed.Seconds(),
		float64(bytesSent.Load())/(1<<20)/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond),
		errs.Load(), found.Load(), len(files), float64(total)/(1<<20), *conns)
	if errs.Load() > 0 {
		os.Exit(1)
	}
}

// checkAddr refuses anything but a unix socket or a loopback address: this
// is a load generator, and it must never load someone else's machine.
func checkAddr(network, addr string) error {
	switch network {
	case "unix":
		if addr == "" {
			return fmt.Errorf("-addr is required")
		}
		return nil
	case "tcp":
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return fmt.Errorf("unknown network %q", network)
}

// load reads up to n regular files of at most max bytes from dir, in name
// order.
func load(dir string, n int, max int64) ([][]byte, int64, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	var out [][]byte
	var total int64
	for _, e := range es {
		if len(out) >= n {
			break
		}
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > max {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, b)
		total += int64(len(b))
	}
	return out, total, nil
}
