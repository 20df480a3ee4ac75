package unpack

import (
	"bytes"
	"testing"
	"time"
)

// TestTextFormatsHostile feeds the text formats inputs built to make a
// naive parser quadratic or exhaust memory — repeated openings that never
// close, millions of tiny parts — and requires each to end quickly within
// the budget (checkUnpack checks the budget). 4 MiB of input that takes
// seconds would take hours at 100 MiB.
func TestTextFormatsHostile(t *testing.T) {
	const size = 4 << 20
	rep := func(s string) []byte { return bytes.Repeat([]byte(s), size/len(s)) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		fm   *Format
		data []byte
	}{
		{"pdf unclosed strings", pdfFormat(), cat([]byte("%PDF-1.4\n"), rep("1 0 obj ( endobj "))},
		{"pdf unclosed arrays", pdfFormat(), cat([]byte("%PDF-1.4\n"), rep("1 0 obj [[[[[[ "))},
		{"pdf streams without end", pdfFormat(), cat([]byte("%PDF-1.4\n"), rep("1 0 obj <<>> stream\nxx "))},
		{"pdf trailers", pdfFormat(), cat([]byte("%PDF-1.4\n1 0 obj 1 endobj\n"), rep("trailer ( "))},
		{"pdf objstm", pdfFormat(), cat([]byte("%PDF-1.4\n"), []byte("1 0 obj << /Type /ObjStm /N 1000000 /First 2000000 >> stream\n"), rep("1 0 "), []byte("\nendstream\nendobj\n%%EOF"))},
		{"mail folded header", mailFormat(), cat([]byte("Subject: x\n"), rep(" folded\n"))},
		{"mail boundaries", mailFormat(), cat([]byte("Content-Type: multipart/mixed; boundary=b\n\n"), rep("--b\n\n"))},
		{"mail uuencode lines", mailFormat(), cat([]byte("Subject: x\n\nbegin 644 a\n"), rep("M\n"))},
		{"mail yenc", mailFormat(), cat([]byte("Subject: x\n\n"), rep("=ybegin name=a\n"))},
		{"uuencode begins", uuencodeFormat(), rep("begin 644 a\n")},
		{"binhex runs", binhexFormat(), cat([]byte("(This file must be converted with BinHex 4.0)\n:"), rep("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"))},
		{"rtf objdata", rtfFormat(), cat([]byte("{\\rtf1"), rep("{\\objdata 0105"))},
		{"rtf bin", rtfFormat(), cat([]byte("{\\rtf1{\\objdata "), rep("\\bin999999999 "))},
		{"html data uris", htmlFormat(), rep("<a href=data:,x>")},
		{"html quotes", htmlFormat(), rep("'data:,")},
		{"html unescape", htmlFormat(), rep("unescape('%u4141")},
		{"tnef tiny attributes", tnefFormat(), cat([]byte{0x78, 0x9f, 0x3e, 0x22, 0, 0}, rep("\x02\x0f\x80\x06\x00\x00\x00\x00\x00\x00\x00"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			checkUnpack(t, tc.fm, tc.data, Limits{MaxScanTime: 20 * time.Second})
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%d bytes took %v", len(tc.data), d)
			}
		})
	}
}
