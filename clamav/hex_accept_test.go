package clamav

import (
	"testing"

	"github.com/glassav/glassav/ir"
)

// hexAcceptance lists body signatures for an .ndb line "A:0:*:HEX" and
// whether clamscan 1.4.6 loads them (checked with clamscan -d x.ndb on an
// empty file; see TestHexAcceptanceClamscan to re-check).
var hexAcceptance = []struct {
	hex string
	ok  bool
}{
	{"616263", true},
	{"6162", false}, // static, Boyer-Moore needs 3 bytes
	{"61??63", false},
	{"6162??", true},
	{"61626364*65", false},
	{"61626364*6566", true},
	{"6162*6566", true},
	{"616263{3}6566", true},
	{"616263{200}65", false},
	{"6162a?", true},
	{"616?63", false},
	{"61(62|63)63", false},
	{"61!(62|63)63", false},
	{"6162(6364|6566)", true},
	{"6162!(6364|6566)", true},
	{"6162(63|6465)", true},
	{"6162!(63|6465)", false},
	{"6162(63|??)", true},
	{"6162(6?|64)", true},
	{"6162(63|64{2}65)", true},
	{"616263{-5}6465", true},
	{"616263{5-}6465", true},
	{"616263{2-5}6465", true},
	{"616263[2-5]64", true},
	{"61[2-5]626364", true},
	{"6162[2-5]6364", false},
	{"6162[1-40]63", false},
	{"6162[1-32]63", true},
	{"6162[0-32]63", true},
	{"6162[1-33]63", false},
	{"61[1-32]6263", true},
	{"61[3]6263", true},
	{"616263[1-2]6465", false},
	{"(B)616263", true},
	{"616263(L)", true},
	{"(W)616263(W)", true},
	{"616263(B)", true},
	{"61(B)6263", false},
	{"6162(B)63", true},
	{"61(B)62(B)63", false},
	{"(B)(B)616263", true},
	{"616263(B)(L)", true},
	{"6162(B)6364", true},
	{"61(L)6263", false},
	{"6162(W)6364", true},
	{"(B)61(B)6263", false},
	{"!(B)616263", true},
	{"616263!(B)", true}, // loads in clamscan; glassav skips it (negated edge assertion unsupported)
	{"616263*", false},
	{"*616263", false},
	{"616263**646566", false},
	{"61626{3}", false},
	{"616263{0}6465", true},
	{"616263{-0}6465", true},
	{"616263{5-3}6465", true},
	{"6162GG", false},
	{"61626", false},
	{"616263()", false},
	{"6162(63)", true},
	{"6162(63|)", true},
	{"6162(|63)", false},
	{"6162((63|64)|65)", true},
	{"ABCDEF", true},
	{"616263{ 3}6465", true},
	{"616263{3 }6465", false},
	{"616263{+3}6465", true},
	{"616263 6465", false},
	{"616263{-}6465", true},
	{"616263{}6465", true},
	{"616263{1-2-3}6465", false},
	{"616263??", true},
	{"??616263", true},
	{"6162(63|64)??(65|66)", true},
	{"616263{3}", true},
	{"{3}616263", true},
	{"6162(6364|6566)67", true},
	{"61(6263|6465)", false},
	{"(6162|6364)6566", true},
	{"(6162|6364)", false},
	{"61(6263|6465)66", false},
	{"6162{-5}6364", true},
	{"6162{0-5}6364", true},
	{"6162??{-5}6364", true},
	{"616263{-200}6465", true},
	{"616263{200-}6465", true},
	{"6162(63|64)", true},
}

func TestHexAcceptance(t *testing.T) {
	for _, tt := range hexAcceptance {
		set := ir.NewSet()
		err := LoadFile(set, "x.ndb", []byte("A:0:*:"+tt.hex+"\n"), Options{})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, clamscan loads it: %v", tt.hex, err, tt.ok)
		}
		if err == nil && set.Signatures != 1 {
			t.Errorf("%s: Signatures = %d, want 1", tt.hex, set.Signatures)
		}
	}
}
