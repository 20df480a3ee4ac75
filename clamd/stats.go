package clamd

import (
	"bytes"
	"fmt"
	"runtime"
	"time"
)

// stats builds the STATS reply in clamd's layout, which clamdtop parses:
// one pool, its thread counts, and one line per running command. Inner
// lines end in LF; only END takes the command's terminator.
func (s *Server) stats(id int, term byte) []byte {
	var b bytes.Buffer
	if id > 0 {
		fmt.Fprintf(&b, "%d: ", id)
	}
	s.mu.Lock()
	jobs := make([]job, 0, len(s.jobs))
	for j := range s.jobs {
		jobs = append(jobs, *j)
	}
	s.mu.Unlock()
	live := len(s.threads)
	fmt.Fprintf(&b, "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live %d  idle %d max %d idle-timeout %d\nQUEUE: %d items\n",
		live+1, 0, s.cfg.MaxThreads, int(s.cfg.IdleTimeout/time.Second), s.waiting.Load())
	now := time.Now()
	for _, j := range jobs {
		fmt.Fprintf(&b, "\t%s %f %s\n", j.cmd, now.Sub(j.start).Seconds(), j.name)
	}
	fmt.Fprintf(&b, "\tSTATS %f \n", 0.000001)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(&b, "\nMEMSTATS: heap %.3fM mmap N/A used %.3fM free %.3fM releasable N/A pools 1 pools_used %.3fM pools_total %.3fM\nEND",
		mib(ms.HeapSys), mib(ms.HeapInuse), mib(ms.HeapIdle-ms.HeapReleased), mib(ms.HeapAlloc), mib(ms.Sys))
	b.WriteByte(term)
	return b.Bytes()
}
