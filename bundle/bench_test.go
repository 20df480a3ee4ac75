package bundle

import (
	"bytes"
	"fmt"
	"testing"
)

// benchFiles is a feed-shaped set: 20 files of 512 KiB of hash lines.
func benchFiles() map[string][]byte {
	fs := make(map[string][]byte)
	for i := range 20 {
		var b bytes.Buffer
		for j := 0; b.Len() < 512<<10; j++ {
			fmt.Fprintf(&b, "%032x:%d:Bench.Sig.%d.%d\n", i*1_000_000+j, 100+j, i, j)
		}
		fs[fmt.Sprintf("bench%02d.hdb", i)] = b.Bytes()
	}
	return fs
}

func BenchmarkBuild(b *testing.B) {
	fs := benchFiles()
	full, _, _ := Build(1, fs)
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		if _, _, err := Build(1, fs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	full, _, _ := Build(1, benchFiles())
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(full), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack(b *testing.B) {
	full, _, _ := Build(1, benchFiles())
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		if _, err := Unpack(bytes.NewReader(full), b.TempDir(), "", DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
