package clamav

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/ir"
)

func BenchmarkParseHex(b *testing.B) {
	const sig = "4d5a90000300000004000000ffff0000b8??????????????40(00|01)0000{16}0e1fba0e00b409cd21b8014ccd21*5468697320(70|50)726f6772616d"
	for b.Loop() {
		if _, err := ParseHex(sig); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkLoad(b *testing.B, rel string) {
	data, err := os.ReadFile(filepath.Join(sharedDir(b), rel))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := LoadFile(ir.NewSet(), rel, data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadNDB(b *testing.B) { benchmarkLoad(b, "rfxn-lmd/rfxn.ndb") }
func BenchmarkLoadLDB(b *testing.B) { benchmarkLoad(b, "ditekshen/clamav.ldb") }
