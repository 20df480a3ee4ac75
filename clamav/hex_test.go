package clamav

import (
	"bytes"
	"testing"

	"github.com/glassav/glassav/match"
)

func TestParseHexTree(t *testing.T) {
	tests := []struct{ hex, tree string }{
		{"616263", "616263"},
		{"6162??63", "(6162 ?? 63)"},
		{"6162a?", "(6162 [16])"},
		{"6162?a", "(6162 [16])"},
		{"616263*6465", "(616263 ??{0,} 6465)"},
		{"616263{4}6465", "(616263 ??{4,4} 6465)"},
		{"616263{200}6465", "(616263 ??{200,200} 6465)"},
		{"616263{-5}6465", "(616263 ??{0,5} 6465)"},
		{"616263{5-}6465", "(616263 ??{5,} 6465)"},
		{"616263{2-5}6465", "(616263 ??{2,5} 6465)"},
		{"616263{5-3}6465", "(616263 [0] 6465)"}, // never matches, as in ClamAV
		{"61626364{0}6566", "(61626364 ??{0,} 6566)"},
		{"6162(63|64)", "(6162 [2])"},
		{"6162!(63|64)", "(6162 [254])"},
		{"6162(6364|6566)", "(6162 (6364|6566))"},
		{"6162!(6364|6566)", "(6162 (([254] ??)|(63 [255])|(65 [255])))"},
		{"6162!(636465|636566)", "(6162 (([255] ??{2,2})|(63 (([254] ??)|(64 [255])|(65 [255])))))"},
		{"6162(63|6465)", "(6162 (63|6465))"},
		{"6162(63|)", "(6162 (63|()))"},
		{"(B)616263(L)", `(\A5 616263 \A6)`},
		{"(W)616263", `(\A7 616263)`},
		{"6162(W)6364", "(6162 [194] 6364)"},
		{"61[2-5]626364", "((61 ??{2,5}) 626364)"},
		{"616263[1-2]64", "(616263 (??{1,2} 64))"},
		{"6162(6?|64??)", "(6162 ([16]|(64 ??)))"},
	}
	for _, tt := range tests {
		n, err := ParseHex(tt.hex)
		if err != nil {
			t.Errorf("%s: %v", tt.hex, err)
			continue
		}
		if got := n.String(); got != tt.tree {
			t.Errorf("%s: tree %s, want %s", tt.hex, got, tt.tree)
		}
	}
}

// TestNotStrings checks the complement construction of !(aabb|ccdd) by
// brute force over all two-byte strings.
func TestNotStrings(t *testing.T) {
	strs := [][]byte{{0x61, 0x62}, {0x61, 0x63}, {0x64, 0x65}}
	n := notStrings(strs)
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			in := []byte{byte(a), byte(b)}
			want := true
			for _, s := range strs {
				if bytes.Equal(s, in) {
					want = false
				}
			}
			if got := matchesExactly(n, in); got != want {
				t.Fatalf("%x: matched %v, want %v", in, got, want)
			}
		}
	}
}

// matchesExactly is a tiny backtracking matcher for the node kinds
// notStrings produces (literal, class, concat, alt, fixed repeat).
func matchesExactly(n *match.Node, b []byte) bool {
	ends := matchAt(n, b, 0)
	for _, e := range ends {
		if e == len(b) {
			return true
		}
	}
	return false
}

func matchAt(n *match.Node, b []byte, i int) []int {
	switch n.Op {
	case match.OpLiteral:
		if bytes.HasPrefix(b[i:], n.Lit) {
			return []int{i + len(n.Lit)}
		}
	case match.OpClass:
		if i < len(b) && n.Class.Has(b[i]) {
			return []int{i + 1}
		}
	case match.OpConcat:
		pos := []int{i}
		for _, s := range n.Sub {
			var next []int
			for _, p := range pos {
				next = append(next, matchAt(s, b, p)...)
			}
			pos = next
		}
		return pos
	case match.OpAlt:
		var out []int
		for _, s := range n.Sub {
			out = append(out, matchAt(s, b, i)...)
		}
		return out
	case match.OpRepeat:
		pos := []int{i}
		for k := 0; k < n.Min; k++ {
			var next []int
			for _, p := range pos {
				next = append(next, matchAt(n.Sub[0], b, p)...)
			}
			pos = next
		}
		return pos
	}
	return nil
}

func TestParseModified(t *testing.T) {
	tests := []struct{ hex, mods, tree string }{
		{"616263", "i", "(?i)616263"},
		{"616263", "w", "610062006300"},
		{"616263", "wa", "(610062006300|616263)"},
		{"616263", "f", `(\A7 616263 \A7)`},
		{"6162(63|64)", "i", "((?i)6162 ((?i)63|(?i)64))"},
		{"6162[1-2]63", "w", "(61006200 ??{1,2} 6300)"},
	}
	for _, tt := range tests {
		n, err := parseModified(tt.hex, tt.mods, true)
		if err != nil {
			t.Errorf("%s::%s: %v", tt.hex, tt.mods, err)
			continue
		}
		if got := n.String(); got != tt.tree {
			t.Errorf("%s::%s: tree %s, want %s", tt.hex, tt.mods, got, tt.tree)
		}
	}
}
