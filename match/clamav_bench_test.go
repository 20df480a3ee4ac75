package match

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clamBody lowers the subset of ClamAV hex bodies needed for the benchmark
// (hex bytes, ??, *, {n-m}, (aa|bb)); a test helper, not the ClamAV front
// end.
func clamBody(s string) (*Node, error) {
	var subs []*Node
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			subs = append(subs, Lit(lit))
			lit = nil
		}
	}
	for i := 0; i < len(s); {
		switch {
		case s[i] == '*':
			flush()
			subs = append(subs, Gap(0, -1))
			i++
		case strings.HasPrefix(s[i:], "??"):
			flush()
			subs = append(subs, Cls(AnyByte()))
			i += 2
		case s[i] == '{':
			flush()
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, fmt.Errorf("unclosed {")
			}
			a, b, rng := strings.Cut(s[i+1:i+j], "-")
			min, _ := strconv.Atoi(a)
			max := min
			if rng {
				max = -1
				if b != "" {
					max, _ = strconv.Atoi(b)
				}
			}
			subs = append(subs, Gap(min, max))
			i += j + 1
		case s[i] == '(':
			flush()
			j := strings.IndexByte(s[i:], ')')
			if j < 0 {
				return nil, fmt.Errorf("unclosed (")
			}
			var alts []*Node
			for _, a := range strings.Split(s[i+1:i+j], "|") {
				b, err := hex.DecodeString(a)
				if err != nil {
					return nil, err
				}
				alts = append(alts, Lit(b))
			}
			subs = append(subs, Alt(alts...))
			i += j + 1
		default:
			if i+2 > len(s) {
				return nil, fmt.Errorf("odd hex")
			}
			b, err := hex.DecodeString(s[i : i+2])
			if err != nil {
				return nil, err
			}
			lit = append(lit, b[0])
			i += 2
		}
	}
	flush()
	return Cat(subs...), nil
}

// rfxnPatterns reads the body patterns of Linux Malware Detect's rfxn.ndb
// from ../shared.
func rfxnPatterns(b *testing.B) []*Node {
	f, err := os.Open("../../shared/testdata/clamav/rfxn-lmd/rfxn.ndb")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal(err)
		}
		b.Skipf("../shared test data absent: %v", err)
	}
	defer f.Close()
	var pats []*Node
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 {
			continue
		}
		if n, err := clamBody(fields[3]); err == nil {
			pats = append(pats, n)
		}
	}
	return pats
}

// BenchmarkScanRfxn scans the largest /usr/bin file with the 2,035 real
// rfxn.ndb bodies.
func BenchmarkScanRfxn(b *testing.B) {
	pats := rfxnPatterns(b)
	m, err := Compile(pats, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := realBinary(b)
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
	b.ReportMetric(float64(len(h.Matched())), "matched")
}

func BenchmarkCompileRfxn(b *testing.B) {
	pats := rfxnPatterns(b)
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Compile(pats, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(len(pats)), "patterns")
}

// corpusFiles returns up to 64 MiB of regular files from /usr/bin and
// /usr/lib/x86_64-linux-gnu (files of at most 8 MiB, in name order), the
// mix a file-system scan meets.
func corpusFiles(b *testing.B) [][]byte {
	var files [][]byte
	total := 0
	for _, dir := range []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu"} {
		names, _ := filepath.Glob(dir + "/*")
		for _, name := range names {
			st, err := os.Lstat(name)
			if err != nil || !st.Mode().IsRegular() || st.Size() > 8<<20 || st.Size() == 0 {
				continue
			}
			data, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			files = append(files, data)
			if total += len(data); total >= 64<<20 {
				return files
			}
		}
	}
	if len(files) == 0 {
		b.Skip("no files in /usr/bin")
	}
	return files
}

// BenchmarkScanRfxnCorpus scans a mix of real executables and libraries,
// file by file, with the 2,035 rfxn.ndb bodies.
func BenchmarkScanRfxnCorpus(b *testing.B) {
	m, err := Compile(rfxnPatterns(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	files := corpusFiles(b)
	total := 0
	for _, f := range files {
		total += len(f)
	}
	h := NewHits()
	b.SetBytes(int64(total))
	b.ResetTimer()
	cpu := cpuTime()
	matched := 0
	for b.Loop() {
		matched = 0
		for _, f := range files {
			if err := m.Scan(b.Context(), f, 1, h); err != nil {
				b.Fatal(err)
			}
			matched += len(h.Matched())
		}
	}
	reportCPU(b, cpu, total)
	b.ReportMetric(float64(matched), "matched")
}
