// Command daemonload drives a clamd-protocol daemon (glassav or clamd) with
// INSTREAM scans of real files over many connections and prints requests
// per second and latency percentiles.
//
//	daemonload -addr /path/to/socket [-network unix] [-conns 32] [-requests 10000]
//	           [-dir /usr/bin,/usr/share] [-files 240] [-seed 1] [-summary FILE]
//
// The files are a fixed, seeded mix (package filemix): an equal share from
// each fourfold size band between -min-size and -max-size, sent in a fixed
// order, so every daemon measured gets the same bytes.
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
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glassav/glassav/bench/cmd/internal/filemix"
	"github.com/glassav/glassav/clamd"
)

func main() {
	network := flag.String("network", "unix", "unix or tcp")
	addr := flag.String("addr", "", "socket path, or loopback host:port")
	name := flag.String("name", "daemon", "label for the output line")
	conns := flag.Int("conns", 32, "concurrent connections")
	requests := flag.Int("requests", 10000, "total INSTREAM requests")
	dirs := flag.String("dir", "/usr/bin,/usr/share", "comma-separated directories whose regular files are sent")
	nfiles := flag.Int("files", 240, "distinct files in the mix")
	minSize := flag.Int64("min-size", 1<<10, "smallest file in the mix")
	maxSize := flag.Int64("max-size", 5<<20, "largest file in the mix")
	seed := flag.Uint64("seed", 1, "seed of the file mix")
	chunk := flag.Int("chunk", 8192, "INSTREAM chunk size (clamdscan uses 8192)")
	wait := flag.Duration("wait", 5*time.Minute, "wait this long for the daemon to answer PING")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	summary := flag.String("summary", "", "append \"name req/s p50_ms p99_ms errors\" to this file")
	flag.Parse()
	if err := checkAddr(*network, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "daemonload:", err)
		os.Exit(2)
	}
	mix, err := filemix.Pick(filemix.Options{Roots: strings.Split(*dirs, ","), MinSize: *minSize, MaxSize: *maxSize, Files: *nfiles, Seed: *seed})
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemonload:", err)
		os.Exit(2)
	}
	files, total := mix.Files, mix.Total
	fmt.Fprintf(os.Stderr, "daemonload %s: %s\n", *name, mix.Summary())
	c := &clamd.Client{Network: *network, Address: *addr, Timeout: 5 * time.Minute}
	if err := waitPing(c, *wait); err != nil {
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
	if *summary != "" {
		f, err := os.OpenFile(*summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s %.2f %.3f %.3f %d\n", *name, float64(len(all))/elapsed.Seconds(),
				ms(pct(0.50)), ms(pct(0.99)), errs.Load())
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemonload:", err)
		}
	}
	if errs.Load() > 0 || len(all) < *requests {
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitPing retries PING until it is answered or wait has passed: glassav
// accepts connections while its database loads, clamd only after.
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
