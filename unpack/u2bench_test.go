package unpack

import (
	"testing"
)

// Benchmarks of the binary container formats, each unpacking a fixture
// built once by the real archiver; MB/s counts the unpacked bytes.

func benchUnpack(b *testing.B, fm *Format, data []byte) {
	b.Helper()
	var n int64
	for _, m := range unpackOK(b, fm, data) {
		n += int64(len(m.Data))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		unpackOK(b, fm, data)
	}
}

func BenchmarkUnpackSevenZip(b *testing.B) {
	benchUnpack(b, sevenZipFormat(), readFile(b, build7z(b, "-m0=lzma2")))
}

func BenchmarkUnpackSZDD(b *testing.B) {
	benchUnpack(b, szddFormat(), readFile(b, buildSZDD(b, readPayload(b))))
}

func BenchmarkUnpackCabMSZIP(b *testing.B) {
	path, _ := buildCab(b, true)
	benchUnpack(b, cabFormat(), readFile(b, path))
}

func BenchmarkUnpackCHM(b *testing.B) {
	benchUnpack(b, chmFormat(), readFile(b, buildCHM(b)))
}

func BenchmarkUnpackARJ(b *testing.B) {
	b.Run("m1", func(b *testing.B) { benchUnpack(b, arjFormat(), readFile(b, buildARJ(b, "-m1"))) })
	b.Run("m4", func(b *testing.B) { benchUnpack(b, arjFormat(), readFile(b, buildARJ(b, "-m4"))) })
}

func BenchmarkUnpackOLE2VBA(b *testing.B) {
	benchUnpack(b, ole2Format(), readFile(b, buildOLE2(b)))
}

func BenchmarkOVBADecompress(b *testing.B) {
	src := []byte(vbaSource)
	for len(src) < 1<<20 {
		src = append(src, src...)
	}
	packed := ovbaCompress(src[:1<<20])
	b.SetBytes(1 << 20)
	for range b.N {
		if _, err := ovbaDecompress(packed, 1<<21); err != nil {
			b.Fatal(err)
		}
	}
}
