package unpack

import (
	"context"
	"testing"
)

// The text formats decode in memory; these report their throughput over
// fixtures holding a real executable (bytes of input per second).

func benchmarkFormat(b *testing.B, fm *Format, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		err := fm.Unpack(context.Background(), data, NewBudget(Limits{}), func(Member) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpackMail(b *testing.B) {
	benchmarkFormat(b, mailFormat(), runPython(b, mailScript, writeTemp(b, "payload", readPayload(b))))
}

func BenchmarkUnpackPDF(b *testing.B) {
	benchmarkFormat(b, pdfFormat(), runPython(b, pdfScript, writeTemp(b, "payload", readPayload(b))))
}

func BenchmarkUnpackHTML(b *testing.B) {
	benchmarkFormat(b, htmlFormat(), runPython(b, htmlScript, writeTemp(b, "payload", readPayload(b))))
}

func BenchmarkUnpackRTF(b *testing.B) {
	benchmarkFormat(b, rtfFormat(), runPython(b, rtfScript, writeTemp(b, "payload", readPayload(b))))
}
