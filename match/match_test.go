package match

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var matchTests = []struct {
	name string
	pat  string
	data string
	want string // hits as "start:end ..."
}{
	{"literal", "'abcd'", "xxabcdxabcd", "2:6 7:11"},
	{"overlap", "'aaaa'", "aaaaaa", "0:4 1:5 2:6"},
	{"short literal", "'ab'", "abab", "0:2 2:4"},
	{"one byte", "'a'", "banana", "1:2 3:4 5:6"},
	{"three bytes", "'ana'", "banana", "1:4 3:6"},
	{"nocase", "i'HeLLo'", "hello HELLO hElLo", "0:5 6:11 12:17"},
	{"hex any", "41 ?? 43 44", "A_CDABCD", "0:4 4:8"},
	{"nibble high", "4? 42 43 44", "ABCD@BCDPBCD", "0:4 4:8"},
	{"nibble low", "?1 42 43 44", "ABCDQBCDBBCD", "0:4 4:8"},
	{"negated", "!41 42 43 44", "ABCDXBCD", "4:8"},
	{"range", "[30-39] 'abc'", "1abc xabc 9abc", "0:4 10:14"},
	{"fixed gap", "'ab' {2} 'cd'", "abxxcd abxcd", "0:6"},
	{"small gap", "'ab' {0-2} 'cd'", "abcd abxcd abxxcd abxxxcd", "0:4 5:10 11:17"},
	{"wide gap", "'abcd' {0-20} 'efgh'", "abcd" + strings.Repeat("x", 20) + "efgh abcd" + strings.Repeat("x", 21) + "efgh", "0:28"},
	{"star", "'abcd' * 'efgh'", "abcd-abcd--efgh", "0:15 5:15"},
	{"star nothing after", "'abcd' * 'efgh'", "efgh abcd", ""},
	{"unbounded min", "'abcd' {3-} 'efgh'", "abcdxxefgh abcdxxxefgh", "0:22 11:22"},
	{"three segments", "'abcd' * 'efgh' {0-30} 'ijkl'", "abcd efgh ijkl abcd efgh" + strings.Repeat(".", 31) + "ijkl", "0:14"},
	{"chain shortest end", "'abcd' * 'efgh'", "abcd efgh efgh", "0:9"},
	{"bounded chain window", "'abcd' {20-40} 'efgh'", "abcd" + strings.Repeat(".", 10) + "efgh" + strings.Repeat(".", 20) + "efgh", "0:42"},
	{"alternation", "'xy' (4142|434445) 'z'", "xyABz xyCDEz xyABCz", "0:5 6:12"},
	{"alt only", "(41424344|45464748)", "ABCDEFGH", "0:4 4:8"},
	{"alt short", "(41|4243)", "ABCA", "0:1 1:3 3:4"},
	{"boundary left", "(B) 'abc'", "abc xabc -abc", "0:3 10:13"},
	{"boundary right", "'abc' (B)", "abc abcx abc-abc", "0:3 9:12 13:16"},
	{"line end", "'abc' (L)", "abc\nabcx abc\r abc\r\nabc", "0:3 14:17 19:22"}, // LF, CR LF or the edge; a lone CR is not a line end
	{"line end left", "(L) 'abc'", "abc\nabc abc", "0:3 4:7"},
	{"nonalnum", "(W) 'abc' (W)", "abc -abc- abcx", "0:3 5:8"}, // the data's edge counts, as in clamscan
	{"yara begin", "^ 'abc'", "abcabc", "0:3"},
	{"yara end", "'abc' $", "abcabc", "3:6"},
	{"word boundary", `\b 'ab' \b`, "ab xab ab_ ab", "0:2 11:13"},
	{"not word boundary", `\B 'ab'`, "ab xab", "4:6"},
	{"line start", "^^ 'ab'", "ab\nab xab", "0:2 3:5"},
	{"line end yara", "'ab' $$", "ab\nab xab", "0:2 7:9"},
	{"repeat class", "'a' x{2,3} 'b'", "ab aab aaab aaaab", "3:6 7:11 8:11 13:17 14:17"},
	{"repeat unbounded", "'x' 'a' x{1,} 'b'", "xab xaaaab xb", "0:3 4:10"},
	{"optional", "'ab' 'c' x{0,1} 'de'", "abde abcde abccde", "0:4 5:10"},
	{"leading wildcard", "?? ?? 'abcd'", "xxabcd abcd", "0:6 5:11"},
	{"no atom", "?? ??", "abc", "0:2 1:3"},
	{"no atom var", "[61-62] x{1,}", "aab", "0:1 1:2 2:3"},
	{"empty pattern", "()", "ab", "0:0 1:1 2:2"},
	{"nested", "'ab' (?: (4344|45) ?? 'z' :) x{1,2} 'end'", "abCD.zend abE.zE.zend abCDzend", "0:9 10:21"},
	{"shortest end per start", "'ab' x{1,} ", "abbb", "0:2"},
	{"variable prefix", "'x' x{0,} 'abcd'", "xxxabcd abcd", "0:7 1:7 2:7 3:7 8:12"},
	{"zeros", "00 00 00 00", "\x00\x00\x00\x00\x00", "0:4 1:5"},
	{"dependent middle", "'abcd' * 'x' * 'efgh'", "abcd efgh x abcd x efgh", "0:23 12:23"},
	{"dependent first", "?? 'x' {17-40} 'efgh'", "ax" + strings.Repeat(".", 17) + "efgh bx" + strings.Repeat(".", 16) + "efgh", "0:23"},
	{"dependent window", "'abcd' {18-40} 'x'", "abcd" + strings.Repeat(".", 17) + "x" + strings.Repeat(".", 3) + "x abcd" + strings.Repeat(".", 41) + "x", "0:26"},
	{"dependent last unbounded", "'abcd' * ?? 'x'", "x abcd x .x", "2:8"},
	{"star variable first", "'ab' x{1,3} * 'cd'", "abbbb cd", "0:8"},
}

func TestMatchTable(t *testing.T) {
	for _, tc := range matchTests {
		t.Run(tc.name, func(t *testing.T) {
			pat := parsePat(t, tc.pat)
			got := scanAll(t, []*Node{pat}, []byte(tc.data), 1, nil)
			if g := fmtHits(got[0]); g != tc.want {
				t.Errorf("pattern %s on %q:\n got %s\nwant %s", pat, tc.data, g, tc.want)
			}
			if r := fmtHits(refHits(pat, []byte(tc.data), DefaultMaxHits)); r != tc.want {
				t.Errorf("reference disagrees with the table: %s", r)
			}
		})
	}
}

// TestMatchTogether compiles all table patterns into one Matcher and scans
// every table input with it, against the reference, with one and several
// workers and tiny blocks so that chunk and block edges fall everywhere.
func TestMatchTogether(t *testing.T) {
	var pats []*Node
	for _, tc := range matchTests {
		pats = append(pats, parsePat(t, tc.pat))
	}
	var all []byte
	for _, tc := range matchTests {
		all = append(all, tc.data...)
		all = append(all, '|')
	}
	for _, data := range [][]byte{all, bytes.Repeat(all, 3)} {
		for _, tw := range []struct {
			workers int
			block   int
		}{{1, 4 << 20}, {1, 7}, {2, 5}, {3, 64}} {
			got := scanAll(t, pats, data, tw.workers, func(m *Matcher) { m.minParallel, m.block = 1, tw.block })
			for i, p := range pats {
				want := fmtHits(refHits(p, data, DefaultMaxHits))
				if g := fmtHits(got[i]); g != want {
					t.Errorf("workers %d block %d pattern %d %s:\n got %s\nwant %s", tw.workers, tw.block, i, p, g, want)
				}
			}
		}
	}
}

func TestMaxHits(t *testing.T) {
	pats := []*Node{parsePat(t, "'aa'"), parsePat(t, "'a' * 'b'"), parsePat(t, "'x'")}
	m, err := Compile(pats, Options{MaxHitsPerPattern: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHits()
	if err := m.Scan(t.Context(), []byte("aaaaaaaab"), 1, h); err != nil {
		t.Fatal(err)
	}
	if g := fmtHits(h.Of(0)); g != "0:2 1:3 2:4" || !h.Truncated(0) {
		t.Errorf("pattern 0: %s truncated=%v", g, h.Truncated(0))
	}
	if g := fmtHits(h.Of(1)); g != "0:9 1:9 2:9" || !h.Truncated(1) {
		t.Errorf("pattern 1: %s truncated=%v", g, h.Truncated(1))
	}
	if h.Truncated(2) || len(h.Of(2)) != 0 {
		t.Errorf("pattern 2 should have nothing")
	}
	// Reuse: a second scan forgets the first.
	if err := m.Scan(t.Context(), []byte("x"), 1, h); err != nil {
		t.Fatal(err)
	}
	if g := h.Matched(); len(g) != 1 || g[0] != 2 || h.Truncated(0) {
		t.Errorf("after rescan: matched %v truncated0 %v", g, h.Truncated(0))
	}
}

// TestMaxHitsCompaction drives a segment buffer past twice the cap so the
// in-scan compaction runs.
func TestMaxHitsCompaction(t *testing.T) {
	m, err := Compile([]*Node{parsePat(t, "'a'")}, Options{MaxHitsPerPattern: 10})
	if err != nil {
		t.Fatal(err)
	}
	m.minParallel, m.block = 1, 16
	h := NewHits()
	data := bytes.Repeat([]byte("a"), 1000)
	for _, w := range []int{1, 2} {
		if err := m.Scan(t.Context(), data, w, h); err != nil {
			t.Fatal(err)
		}
		if g := fmtHits(h.Of(0)); g != "0:1 1:2 2:3 3:4 4:5 5:6 6:7 7:8 8:9 9:10" || !h.Truncated(0) {
			t.Errorf("workers %d: %s %v", w, g, h.Truncated(0))
		}
	}
}

func TestCancel(t *testing.T) {
	m, err := Compile([]*Node{parsePat(t, "'abcd'")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Scan(ctx, make([]byte, 100), 1, NewHits()); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan after cancel: %v", err)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, n := range []*Node{
		nil,
		{Op: 99},
		{Op: OpRepeat, Min: 1, Max: 1},
		{Op: OpRepeat, Sub: []*Node{Lit([]byte("a"))}, Min: 3, Max: 2},
		{Op: OpRepeat, Sub: []*Node{Lit([]byte("a"))}, Min: -1, Max: 2},
		{Op: OpAssert, Assert: 0},
		{Op: OpRepeat, Sub: []*Node{{Op: OpRepeat, Sub: []*Node{Lit([]byte("abcd"))}, Min: 60000, Max: 60000}}, Min: 60000, Max: 60000},
	} {
		if _, err := Compile([]*Node{Lit([]byte("ok")), n}, Options{}); err == nil {
			t.Errorf("Compile(%v) succeeded", n)
		} else if !strings.Contains(err.Error(), "pattern 1") {
			t.Errorf("error does not name the pattern: %v", err)
		}
	}
}

func TestMaskForm(t *testing.T) {
	for _, tc := range []struct {
		tok  string
		mask byte
		ok   bool
	}{{"41", 0xff, true}, {"4?", 0xf0, true}, {"?1", 0x0f, true}, {"??", 0, true}, {"!41", 0, false}, {"[30-39]", 0, false}} {
		n := parsePat(t, tc.tok)
		c := n.Sub[0].Class
		if n.Sub[0].Op == OpLiteral {
			c = foldClass(n.Sub[0].Lit[0], false)
		}
		mask, _, ok := maskForm(c)
		if ok != tc.ok || ok && mask != tc.mask {
			t.Errorf("%s: mask %02x ok %v", tc.tok, mask, ok)
		}
	}
	c := foldClass('a', true)
	if mask, val, ok := maskForm(c); !ok || mask != 0xdf || val != 'A' {
		t.Errorf("folded a: %02x %02x %v", mask, val, ok)
	}
}

// TestAtomChoice checks that atoms avoid common bytes and wildcards.
func TestAtomChoice(t *testing.T) {
	for _, tc := range []struct {
		pat  string
		want string // the chosen atom's bytes, hex
	}{
		{"00 00 00 00 41 42 43 44 00 00", "41424344"},
		{"?? ?? 4d 5a ?? ?? 90 90", "4d5a"},
		{"ff ff ff ff 12 ff ff ff ff", "ffffff12"},
		{"'ab' * 'wxyz'", "6162"},
	} {
		m, err := Compile([]*Node{parsePat(t, tc.pat)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := m.segs[0].atoms
		if len(a) != 1 {
			t.Errorf("%s: %d atoms", tc.pat, len(a))
			continue
		}
		var got []byte
		for _, c := range a[0].cls {
			got = append(got, lowest(c))
		}
		if g := strings.ToLower(fmtHex(got)); g != tc.want {
			t.Errorf("%s: atom %s, want %s", tc.pat, g, tc.want)
		}
	}
}

func fmtHex(b []byte) string {
	const digits = "0123456789abcdef"
	var s []byte
	for _, x := range b {
		s = append(s, digits[x>>4], digits[x&15])
	}
	return string(s)
}

// TestDependentSegments checks which segments of split patterns are
// searched on their own.
func TestDependentSegments(t *testing.T) {
	for _, tc := range []struct {
		pat  string
		want string // one letter per segment: s searched, d dependent
	}{
		{"'abcd' * 'x' * 'efgh'", "sds"},
		{"?? 'x' {17-40} 'efgh'", "ds"},
		{"'abcd' {18-40} 'x'", "sd"},
		{"'ab' * 'x'", "sd"},
		{"'abcd' * 'efgh'", "ss"},
		{"?? * ??", "sd"},
		{"'ab' x{1,3} {0-40} 'cd'", "s"}, // bounded gap after a variable segment: not split
	} {
		m, err := Compile([]*Node{parsePat(t, tc.pat)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for _, s := range m.segs {
			if s.dep {
				got = append(got, 'd')
			} else {
				got = append(got, 's')
			}
		}
		if string(got) != tc.want {
			t.Errorf("%s: segments %s, want %s", tc.pat, got, tc.want)
		}
	}
}

// TestConcurrentScans runs scans on one Matcher from several goroutines
// (run with -race).
func TestConcurrentScans(t *testing.T) {
	var pats []*Node
	for _, tc := range matchTests {
		pats = append(pats, parsePat(t, tc.pat))
	}
	m, err := Compile(pats, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.minParallel, m.block = 1, 9
	var data []byte
	for _, tc := range matchTests {
		data = append(data, tc.data...)
	}
	want := make([]string, len(pats))
	h := NewHits()
	if err := m.Scan(t.Context(), data, 1, h); err != nil {
		t.Fatal(err)
	}
	for p := range pats {
		want[p] = fmtHits(h.Of(p))
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			h := NewHits()
			for range 20 {
				if err := m.Scan(t.Context(), data, 1+g%2, h); err != nil {
					errs <- err
					return
				}
				for p := range pats {
					if got := fmtHits(h.Of(p)); got != want[p] {
						errs <- fmt.Errorf("goroutine %d pattern %d: %s, want %s", g, p, got, want[p])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestSlowAndEmpty(t *testing.T) {
	m, err := Compile([]*Node{parsePat(t, "'abcd'"), parsePat(t, "?? ??"), parsePat(t, "'a'"), parsePat(t, "'abcd' * ??")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range []bool{false, true, true, false} {
		if got := m.Slow(p); got != want {
			t.Errorf("Slow(%d) = %v", p, got)
		}
	}
	if m.Len() != 4 {
		t.Errorf("Len = %d", m.Len())
	}
	empty, err := Compile(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHits()
	if err := empty.Scan(t.Context(), []byte("abc"), 2, h); err != nil || len(h.Matched()) != 0 {
		t.Errorf("empty matcher: %v %v", err, h.Matched())
	}
	if err := m.Scan(t.Context(), nil, 1, h); err != nil {
		t.Fatal(err)
	}
	if g := h.Matched(); len(g) != 0 {
		t.Errorf("nil data matched %v", g)
	}
}

// TestNoQuadraticRuns scans a long run of letters with patterns whose
// unbounded class loops span the whole run from every atom hit; the pass
// memo keeps that linear (without it this test takes hours).
func TestNoQuadraticRuns(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 1<<17) // 1 MiB of letters
	pats := []*Node{
		parsePat(t, "[61-7a] x{1,} 'abcd'"),     // backward over the run
		parsePat(t, "'abcd' [61-7a] x{0,} 'z'"), // forward over the run, no match
		parsePat(t, "[61-7a] x{2,} '0'"),        // no atom: every start, forward
	}
	got := scanAll(t, pats, data, 1, nil)
	if n := len(got[0]); n != min(len(data)-4, DefaultMaxHits) {
		t.Errorf("pattern 0: %d hits, want %d", n, min(len(data)-4, DefaultMaxHits))
	}
	if len(got[0]) > 0 && got[0][0] != (Hit{0, 12}) {
		t.Errorf("pattern 0 first hit %v", got[0][0])
	}
	if len(got[1]) != 0 || len(got[2]) != 0 {
		t.Errorf("patterns 1, 2 matched: %d %d", len(got[1]), len(got[2]))
	}
}

// TestParallelPlanted plants literals into 5 MiB of random data (above the
// parallel threshold) and checks that one and two workers find the same
// hits, including the planted ones at chunk-independent offsets.
func TestParallelPlanted(t *testing.T) {
	if testing.Short() {
		t.Skip("5 MiB scan")
	}
	pats := benchPatterns(300, 5)
	data := randomData(5 << 20)
	half := len(data) / 2
	var plantedAt []int
	for i := 1; i < len(pats); i += 10 { // literal patterns only
		lit := pats[i].Lit
		for _, at := range []int{i * 997, half - 20 + 50*(i-15), len(data) - 50*(i+1)} {
			copy(data[at:], lit)
			plantedAt = append(plantedAt, i, at)
		}
	}
	one := scanAll(t, pats, data, 1, nil)
	two := scanAll(t, pats, data, 2, nil)
	for p := range pats {
		if a, b := fmtHits(one[p]), fmtHits(two[p]); a != b {
			t.Errorf("pattern %d: 1 worker %s, 2 workers %s", p, a, b)
		}
	}
	for k := 0; k < len(plantedAt); k += 2 {
		p, at := plantedAt[k], plantedAt[k+1]
		found := false
		for _, x := range one[p] {
			if x.Start == int64(at) && x.End == int64(at+len(pats[p].Lit)) {
				found = true
			}
		}
		if !found {
			t.Errorf("pattern %d planted at %d not found: %s", p, at, fmtHits(one[p]))
		}
	}
}

// TestScanMasked checks that masked patterns get no hits and the others
// the same hits as an unmasked scan.
func TestScanMasked(t *testing.T) {
	pats := []*Node{Lit([]byte("abc")), Lit([]byte("bcd")), Cat(Lit([]byte("c")), Gap(0, -1), Lit([]byte("f")))}
	m, err := Compile(pats, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("xabcdefabcd")
	full, masked := NewHits(), NewHits()
	if err := m.Scan(context.Background(), data, 1, full); err != nil {
		t.Fatal(err)
	}
	if err := m.ScanMasked(context.Background(), data, 1, masked, []uint64{1<<0 | 1<<2}); err != nil {
		t.Fatal(err)
	}
	for p := range pats {
		got, want := masked.Of(p), full.Of(p)
		if p != 1 {
			want = nil
		}
		if len(full.Of(p)) == 0 {
			t.Fatalf("pattern %d has no hits unmasked", p)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pattern %d: masked %v, want %v", p, got, want)
		}
	}
	if err := m.ScanMasked(context.Background(), data, 1, masked, []uint64{}); err == nil {
		t.Error("a mask shorter than the patterns was accepted")
	}
}

// TestScanCancelInsideBlock checks that a context ending while one block's
// verifications are slow stops the scan soon, not at the block's end: every
// 'a' here starts a verification walking up to 2,000 bytes.
func TestScanCancelInsideBlock(t *testing.T) {
	var notB Class
	notB.AddRange(0, 'b'-1)
	notB.AddRange('b'+1, 255)
	p := Cat(Lit([]byte("a")), &Node{Op: OpRepeat, Sub: []*Node{Cls(notB)}, Min: 0, Max: 2000, Greedy: true}, Lit([]byte("c")))
	m, err := Compile([]*Node{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("a"), 3<<20) // one block
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Scan(ctx, data, 1, NewHits())
	if err == nil {
		t.Fatal("the scan outlived its context without an error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the scan stopped %v after its 50 ms deadline", d)
	}
}
