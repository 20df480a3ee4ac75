package match

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestAliases checks that patterns equal to an earlier one are searched
// once and still get exactly the hits they would get alone, whatever the
// skip mask leaves out: the searched pattern, its aliases, or both.
func TestAliases(t *testing.T) {
	srcs := []string{
		"'abcd'",           // 0
		"'efgh'",           // 1
		"'abcd'",           // 2: alias of 0
		"'ab' * 'gh'",      // 3
		"'ab' * 'gh'",      // 4: alias of 3
		"i'abcd'",          // 5: not equal to 0 (nocase)
		"'abcd'",           // 6: alias of 0
		"[61-62] 'bcd'",    // 7
		"[61-63] 'bcd'",    // 8: another class, not an alias
		"'zz' x{1,} 'end'", // 9: no hit
		"'zz' x{1,} 'end'", // 10: alias of 9
	}
	var pats []*Node
	for _, s := range srcs {
		pats = append(pats, parsePat(t, s))
	}
	m, err := Compile(pats, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantCanon := []int32{0, 1, 0, 3, 3, 5, 0, 7, 8, 9, 9}
	if !slices.Equal(m.dup.canon, wantCanon) {
		t.Fatalf("canonical patterns %v, want %v", m.dup.canon, wantCanon)
	}
	data := []byte("xxABCD abcd efgh cbcd ab..gh abcd")
	for _, skip := range [][]int{nil, {}, {0}, {2}, {0, 2}, {0, 2, 6}, {2, 6}, {3}, {4}, {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}} {
		t.Run(fmt.Sprint(skip), func(t *testing.T) {
			var mask []uint64
			if skip != nil {
				mask = make([]uint64, 1)
				for _, p := range skip {
					mask[0] |= 1 << p
				}
			}
			h := NewHits()
			for round := 0; round < 2; round++ { // the second scan reuses h
				if err := m.ScanMasked(context.Background(), data, 1, h, mask); err != nil {
					t.Fatal(err)
				}
				var wantMatched []int
				for p, n := range pats {
					want := refHits(n, data, DefaultMaxHits)
					if slices.Contains(skip, p) {
						want = nil
					}
					if len(want) > 0 {
						wantMatched = append(wantMatched, p)
					}
					if g, w := fmtHits(h.Of(p)), fmtHits(want); g != w {
						t.Errorf("pattern %d %s: got %s, want %s", p, srcs[p], g, w)
					}
				}
				if !slices.Equal(h.Matched(), wantMatched) {
					t.Errorf("matched %v, want %v", h.Matched(), wantMatched)
				}
			}
		})
	}
}

// TestAliasSlow checks that an alias reports its searched pattern's Slow.
func TestAliasSlow(t *testing.T) {
	pats := []*Node{parsePat(t, "?? ??"), parsePat(t, "'abcd'"), parsePat(t, "?? ??")}
	m, err := Compile(pats, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range []bool{true, false, true} {
		if got := m.Slow(p); got != want {
			t.Errorf("Slow(%d) = %v, want %v", p, got, want)
		}
	}
}

func TestNodeKey(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"'abc'", "'abc'", true},
		{"'abc'", "'abd'", false},
		{"'abc'", "i'abc'", false},
		{"41 ?? 43", "41 ?? 43", true},
		{"41 ?? 43", "41 4? 43", false},
		{"'a' x{1,3} 'b'", "'a' x{1,3} 'b'", true},
		{"'a' x{1,3} 'b'", "'a' x{1,4} 'b'", false},
		{"(41|42)", "(41|42)", true},
		{"(41|42)", "(42|41)", false},
		{`\b 'ab'`, `\B 'ab'`, false},
	}
	for _, tc := range tests {
		ka := string(nodeKey(nil, parsePat(t, tc.a)))
		kb := string(nodeKey(nil, parsePat(t, tc.b)))
		if (ka == kb) != tc.equal {
			t.Errorf("%s vs %s: equal keys %v, want %v", tc.a, tc.b, ka == kb, tc.equal)
		}
	}
}
