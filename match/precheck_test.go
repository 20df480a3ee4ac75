package match

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
)

// TestNewPrecheck checks the window choice on fixed runs: it covers the
// most mask bits outside the atom, stays within the run and near the atom.
func TestNewPrecheck(t *testing.T) {
	exact := func(s string) func(int) (byte, byte) {
		return func(j int) (byte, byte) {
			if s[j] == '?' {
				return 0, 0
			}
			return 0xff, s[j]
		}
	}
	tests := []struct {
		run      string
		at, k    int
		d        int32
		mask     uint64
		wantNone bool
	}{
		{run: "abcd", at: 0, k: 4, wantNone: true}, // the atom is the whole run
		{run: "abcdefgh", at: 0, k: 4, d: 0, mask: ^uint64(0)},
		{run: "abcdef", at: 2, k: 4, d: -2, mask: 1<<48 - 1},                        // shorter than a window
		{run: "????abcdefgh", at: 8, k: 4, d: -4, mask: ^uint64(0)},                 // skips the wildcards
		{run: "abcdefgh??", at: 6, k: 4, d: -6, mask: ^uint64(0)},                   // the window ends inside the run
		{run: "x" + strings.Repeat("?", 40) + "abcd", at: 41, k: 4, wantNone: true}, // too far
	}
	for _, tc := range tests {
		p := newPrecheck(len(tc.run), tc.at, tc.k, exact(tc.run))
		if tc.wantNone {
			if p.mask != 0 {
				t.Errorf("%q at %d: precheck %+v, want none", tc.run, tc.at, p)
			}
			continue
		}
		if p.d != tc.d || p.mask != tc.mask {
			t.Errorf("%q at %d: d %d mask %#x, want d %d mask %#x", tc.run, tc.at, p.d, p.mask, tc.d, tc.mask)
		}
		s := tc.at + int(p.d)
		if s < 0 || s >= len(tc.run) {
			t.Errorf("%q at %d: window starts outside the run", tc.run, tc.at)
		}
		data := []byte(tc.run + "........")
		if !p.pass(data, tc.at) {
			t.Errorf("%q at %d: the run itself fails its precheck", tc.run, tc.at)
		}
	}
}

// TestPrecheckMatches checks patterns whose prechecks reach beyond their
// atom, on data where the atom is everywhere and matches sit at the data's
// edges (where the window does not fit) and between near misses, against
// the reference matcher.
func TestPrecheckMatches(t *testing.T) {
	pats := []string{
		"'abcd' 'efghijkl'",
		"'0123' 'abcd' '4567'",
		"'zz' x{1,} 'abcd' 'wxyz'",                 // the atom's run follows a loop
		"'abcd' 'wx' (4142|4344) 'yz' 'abcd' 'st'", // runs between alternations
		"i'abcdEFGH'",
		"61 62 ?? 64 65 66 [30-39] 68 69",
		"'abcd' 'ef' x{0,2} 'gh'",
	}
	rng := rand.New(rand.NewSource(5))
	pieces := []string{"abcd", "abcdefghijkl", "0123abcd4567", "zzzabcdwxyz", "abcdwxAByzabcdst", "ABCDefgh", "ab.def7hi", "abcdefgh", "abcdefffgh", "abcdwxCDyzabcdst", "x", "\x00"}
	var b bytes.Buffer
	b.WriteString("abcdefghijkl") // a match at offset 0
	for b.Len() < 4000 {
		b.WriteString(pieces[rng.Intn(len(pieces))])
	}
	b.WriteString("abcdwxCDyzabcdst") // a match ending at the end
	data := b.Bytes()
	var nodes []*Node
	for _, s := range pats {
		nodes = append(nodes, parsePat(t, s))
	}
	got := scanAll(t, nodes, data, 1, nil)
	for i, n := range nodes {
		want := refHits(n, data, DefaultMaxHits)
		if len(want) == 0 {
			t.Errorf("pattern %s: no hits in the test data", pats[i])
		}
		if g, w := fmtHits(got[i]), fmtHits(want); g != w {
			t.Errorf("pattern %s:\n got %s\nwant %s", pats[i], g, w)
		}
	}
}

// BenchmarkScanCommonAtoms is a scan where most atom occurrences are no
// match: 500 UTF-16 strings that share the atom "{\x000\x00" and differ
// after it, over UTF-16 text full of "{0}" (format strings), the case the
// prechecks are for.
func BenchmarkScanCommonAtoms(b *testing.B) {
	rng := rand.New(rand.NewSource(7))
	pats := make([]*Node, 500)
	for i := range pats {
		s := "{0}"
		for range 8 {
			s += string(rune('a' + rng.Intn(26)))
		}
		pats[i] = Lit(utf16le(s))
	}
	m, err := Compile(pats, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat(utf16le("value {0} of {1}; "), 1<<16)
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

func utf16le(s string) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		out = append(out, s[i], 0)
	}
	return out
}
