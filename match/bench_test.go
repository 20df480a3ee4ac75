package match

import (
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchPatterns returns n random literal-ish patterns of 8–40 bytes, 10%
// of them with ClamAV-style wildcards, nibbles, alternations and gaps.
func benchPatterns(n int, seed int64) []*Node {
	rng := rand.New(rand.NewSource(seed))
	lit := func(k int) []byte {
		b := make([]byte, k)
		rng.Read(b)
		return b
	}
	pats := make([]*Node, n)
	for i := range pats {
		k := 8 + rng.Intn(33)
		if i%10 != 0 {
			pats[i] = Lit(lit(k))
			continue
		}
		var subs []*Node
		for len(subs) < 5 {
			switch rng.Intn(6) {
			case 0:
				subs = append(subs, Cls(AnyByte()))
			case 1:
				var c Class
				b := byte(rng.Intn(16)) << 4
				c.AddRange(b, b|15)
				subs = append(subs, Cls(c))
			case 2:
				subs = append(subs, Gap(0, rng.Intn(300)))
			case 3:
				subs = append(subs, Alt(Lit(lit(2)), Lit(lit(3))))
			default:
				subs = append(subs, Lit(lit(2+rng.Intn(8))))
			}
		}
		subs = append(subs, Lit(lit(4)))
		pats[i] = Cat(append([]*Node{Lit(lit(k / 2))}, subs...)...)
	}
	return pats
}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(7)).Read(b)
	return b
}

// realBinary returns up to 64 MiB of the largest file in /usr/bin.
func realBinary(b *testing.B) []byte {
	files, _ := filepath.Glob("/usr/bin/*")
	var best string
	var size int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Size() > size {
			best, size = f, st.Size()
		}
	}
	if best == "" {
		b.Skip("no file in /usr/bin")
	}
	data, err := os.ReadFile(best)
	if err != nil {
		b.Skip(err)
	}
	return data[:min(len(data), 64<<20)]
}

func benchScan(b *testing.B, data []byte, workers int) {
	m, err := Compile(benchPatterns(2000, 1), Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHits()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if err := m.Scan(b.Context(), data, workers, h); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, len(data))
}

// cpuTime returns the process's user+system CPU time. The machine these
// benchmarks run on is shared, so wall-clock MB/s swing with the load; CPU
// MB/s (bytes per CPU-second spent by the scan) does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/d.Seconds()/1e6, "cpuMB/s")
	}
}

func BenchmarkScanRandom1(b *testing.B) { benchScan(b, randomData(64<<20), 1) }
func BenchmarkScanRandom2(b *testing.B) { benchScan(b, randomData(64<<20), 2) }
func BenchmarkScanBinary1(b *testing.B) { benchScan(b, realBinary(b), 1) }
func BenchmarkScanBinary2(b *testing.B) { benchScan(b, realBinary(b), 2) }

func BenchmarkCompile2000(b *testing.B) {
	pats := benchPatterns(2000, 1)
	for b.Loop() {
		if _, err := Compile(pats, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanLiterals is the prefilter alone: 2,000 plain literals.
func BenchmarkScanLiterals(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	pats := make([]*Node, 2000)
	for i := range pats {
		lit := make([]byte, 8+rng.Intn(33))
		rng.Read(lit)
		pats[i] = Lit(lit)
	}
	m, err := Compile(pats, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := randomData(64 << 20)
	h := NewHits()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		if err := m.Scan(b.Context(), data, 1, h); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, len(data))
}

// BenchmarkScanSmall measures the per-scan overhead: 4 KiB objects, as most
// files in a file-system scan are small.
func BenchmarkScanSmall(b *testing.B) {
	m, err := Compile(benchPatterns(2000, 1), Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := randomData(4 << 10)
	h := NewHits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Scan(b.Context(), data, 1, h); err != nil {
			b.Fatal(err)
		}
	}
}
