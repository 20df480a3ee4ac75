package yara

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestEvalBufsReuse scans inputs one after another with one Rules, so
// that every scan reuses the buffers of the one before, and checks each
// result against a scan by freshly compiled rules: matches, counts and
// memoised presence must not leak from one scan into the next.
func TestEvalBufsReuse(t *testing.T) {
	src := `
rule present { strings: $a = "abc" condition: $a }
rule absent { strings: $a = "abc" condition: not $a }
rule count { strings: $a = "abc" $b = "xyz" condition: #a == 2 and #b == 0 }
rule offsets { strings: $a = "abc" condition: @a[1] == 4 }
rule big { condition: filesize > 10 }
rule skipped { strings: $a = "abc" condition: filesize > 10 and $a }
private rule p { strings: $b = "xyz" condition: $b }
rule uses_private { condition: p }
rule selfref { condition: any of (present, selfref) }
`
	inputs := []string{"....abc.abc", "xyz", "abc", "", "....abc.abc", "zzzzabcxyzabc", "....abc.abc"}
	shared := compileSrc(t, src)
	for i, in := range inputs {
		got, err := shared.Scan(context.Background(), []byte(in), nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := compileSrc(t, src).Scan(context.Background(), []byte(in), nil)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := describeMatches(got), describeMatches(want); g != w {
			t.Errorf("scan %d of %q:\n got %s\nwant %s", i, in, g, w)
		}
	}
}

// describeMatches renders the matched rules with their string matches.
func describeMatches(res *Result) string {
	var b strings.Builder
	for _, rr := range res.Rules {
		if !rr.Matched {
			continue
		}
		b.WriteString(rr.Rule.Name)
		for _, sm := range rr.Strings {
			for _, m := range sm.Matches {
				fmt.Fprintf(&b, " %s@%d", sm.String.ID, m.Offset)
			}
		}
		b.WriteString("; ")
	}
	return b.String()
}

// BenchmarkScanSmallManyRules is the per-file cost of a large rule set on
// small files: 5,000 rules of three strings each over 4 KiB where none
// hits, as most files of a file-system scan meet most public rules.
func BenchmarkScanSmallManyRules(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	var src strings.Builder
	word := func() string {
		w := make([]byte, 10)
		for i := range w {
			w[i] = byte('A' + rng.Intn(26))
		}
		return string(w)
	}
	for i := range 5000 {
		fmt.Fprintf(&src, "rule r%d { strings: $a = \"%s\" $b = \"%s\" $c = { %x } condition: any of them }\n", i, word(), word(), word())
	}
	r := compileSrc(b, src.String())
	data := bytes.Repeat([]byte("abcdefgh"), 512)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Scan(context.Background(), data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSetBits(t *testing.T) {
	for _, tc := range []struct{ lo, hi int }{{0, 0}, {0, 1}, {3, 9}, {0, 64}, {60, 70}, {63, 64}, {64, 65}, {1, 190}, {128, 192}} {
		got := make([]uint64, 3)
		setBits(got, tc.lo, tc.hi)
		want := make([]uint64, 3)
		for p := tc.lo; p < tc.hi; p++ {
			want[p>>6] |= 1 << (p & 63)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("setBits(%d, %d) = %x, want %x", tc.lo, tc.hi, got, want)
		}
	}
}
