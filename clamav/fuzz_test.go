package clamav

import (
	"testing"

	"github.com/glassav/glassav/ir"
)

func FuzzParseHex(f *testing.F) {
	for _, tt := range hexAcceptance {
		f.Add(tt.hex)
	}
	f.Add("6162(63|(64|65)66)??{3}!(6768|6970)[1-5]71")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseHex(s)
		if err == nil && n == nil {
			t.Fatal("nil node without error")
		}
		if err == nil {
			_ = n.String()
		}
		parseModified(s, "iwfa", true)
	})
}

func FuzzParseLogic(f *testing.F) {
	for _, tt := range logicCases {
		f.Add(tt.expr)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseLogic(s)
		if err != nil {
			return
		}
		e.Eval(func(i int) int { return i % 3 })
		if e.MaxSub() < 0 {
			t.Fatalf("%q: parsed without a subsignature", s)
		}
	})
}

func FuzzLoadFile(f *testing.F) {
	seeds := []struct{ name, data string }{
		{"x.ndb", "A:0:*:616263\nB:1:EP+4,8:6162??63:51:255\n"},
		{"x.ldb", "L;Engine:81-255,Target:1,FileSize:1-9;(0|1)>2,2&2=0;EP+0:4d5a::i;S0+4:6162??63;646566::wa\n"},
		{"x.db", "A=616263\n"},
		{"x.hdb", "900150983cd24fb0d6963f7d28e17f72:3:A\n"},
		{"x.mdb", "3:900150983cd24fb0d6963f7d28e17f72:A\n"},
		{"x.ign2", "A\nB:900150983cd24fb0d6963f7d28e17f72\n"},
		{"x.yar", "rule a { condition: true }\n"},
	}
	for _, s := range seeds {
		f.Add(s.name, []byte(s.data))
	}
	exts := []string{"ndb", "ldb", "db", "hdb", "msb", "imp", "fp", "ign", "ign2", "pdb", "yar", "ndu", "cvd"}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		ext := exts[len(name)%len(exts)]
		set := ir.NewSet()
		err := LoadFile(set, "f."+ext, data, Options{DetectPUA: true})
		if err != nil {
			return
		}
		for _, r := range set.Rules {
			for _, s := range r.Subs {
				if s < 0 || s >= len(set.Patterns) {
					t.Fatalf("rule %s refers to pattern %d of %d", r.Name, s, len(set.Patterns))
				}
			}
			if r.Cond != nil && r.Cond.MaxSub() >= len(r.Subs) {
				t.Fatalf("rule %s: condition uses subsignature %d of %d", r.Name, r.Cond.MaxSub(), len(r.Subs))
			}
		}
	})
}
