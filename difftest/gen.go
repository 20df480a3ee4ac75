package difftest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Gen generates signatures. Its output depends only on the seed and the
// inputs it is given. A Gen is not safe for concurrent use.
type Gen struct {
	r   *rand.Rand
	seq int
	// used holds the hash-signature keys already generated: ClamAV keeps
	// one name per digest, so an accidental second name for the same
	// content (two files sharing a section) would test that corner instead
	// of the feature. Duplicates are generated on purpose by their own
	// features only.
	used map[string]bool
}

// New returns a generator seeded with seed.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), used: map[string]bool{}}
}

// Rand exposes the generator's random source, for picking files with Sample.
func (g *Gen) Rand() *rand.Rand { return g.r }

// Name returns a fresh signature name "Diff.<family>-<n>"; family must be
// made of letters, digits, '.', '_' and '-'.
func (g *Gen) Name(family string) string {
	g.seq++
	return fmt.Sprintf("Diff.%s-%d", family, g.seq)
}

// between returns a uniform integer in [lo, hi].
func (g *Gen) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.r.IntN(hi-lo+1)
}

// varied reports whether b has at least four distinct byte values, so a cut
// from it is not a run of padding that matches everywhere.
func varied(b []byte) bool {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n >= 4
}

// cut picks a start in [lo, hi-n] whose n bytes are varied; ok is false when
// no such window turns up after a bounded number of tries.
func (g *Gen) cut(data []byte, n int, lo, hi int64) (start int64, ok bool) {
	hi = min(hi, int64(len(data)))
	lo = max(lo, 0)
	if hi-lo < int64(n) {
		return 0, false
	}
	for range 64 {
		s := lo + g.r.Int64N(hi-lo-int64(n)+1)
		if varied(data[s : s+int64(n)]) {
			return s, true
		}
	}
	return 0, false
}

// hx is lower-case hex of b.
func hx(b []byte) string { return hex.EncodeToString(b) }

// otherByte returns a byte different from every byte in not.
func (g *Gen) otherByte(not ...byte) byte {
	for {
		c := byte(g.r.IntN(256))
		if bytes.IndexByte(not, c) < 0 {
			return c
		}
	}
}

// otherBytes returns n bytes that differ from real somewhere.
func (g *Gen) otherBytes(real []byte) []byte {
	b := make([]byte, len(real))
	for {
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		if !bytes.Equal(b, real) {
			return b
		}
	}
}

// alternation renders "(a|b|...)" with the options shuffled.
func (g *Gen) alternation(opts []string) string {
	g.r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	return "(" + strings.Join(opts, "|") + ")"
}

// countOverlapping counts the occurrences of pat in data, overlapping ones
// included (as a pattern matcher reports them).
func countOverlapping(data, pat []byte) int {
	n := 0
	for i := 0; ; {
		j := bytes.Index(data[i:], pat)
		if j < 0 {
			return n
		}
		n++
		i += j + 1
	}
}

// fresh reports whether key has not been generated before, and records it.
func (g *Gen) fresh(key string) bool {
	if g.used[key] {
		return false
	}
	g.used[key] = true
	return true
}
