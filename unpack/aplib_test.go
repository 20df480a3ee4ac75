package unpack

import (
	"bytes"
	"context"
	"errors"
	"math/bits"
	"testing"
)

// aplibWriter writes the aPLib-style codes aplibDecode reads: bits go
// into tag bytes, most significant first, each tag byte taking its place
// in the stream when its first bit is written, as the decoder fetches it.
type aplibWriter struct {
	out   []byte
	tagAt int
	nbits int
}

func (w *aplibWriter) bit(b int) {
	if w.nbits == 0 {
		w.tagAt = len(w.out)
		w.out = append(w.out, 0)
		w.nbits = 8
	}
	w.nbits--
	if b != 0 {
		w.out[w.tagAt] |= 1 << w.nbits
	}
}

func (w *aplibWriter) bits(s string) {
	for _, c := range s {
		w.bit(int(c - '0'))
	}
}

// gamma writes v >= 2: its bits after the leading one, each followed by
// whether another comes.
func (w *aplibWriter) gamma(v uint32) {
	n := bits.Len32(v) - 1
	for i := n - 1; i >= 0; i-- {
		w.bit(int(v >> i & 1))
		if i > 0 {
			w.bit(1)
		} else {
			w.bit(0)
		}
	}
}

func (w *aplibWriter) literal(c byte) { w.bit(0); w.out = append(w.out, c) }

// end writes the end code: a short match of distance zero.
func (w *aplibWriter) end() { w.bits("110"); w.out = append(w.out, 0) }

// aplibLiterals encodes data as literals only, then the end code.
func aplibLiterals(data []byte) []byte {
	w := &aplibWriter{out: []byte{data[0]}}
	for _, c := range data[1:] {
		w.literal(c)
	}
	w.end()
	return w.out
}

// aplibCodes writes a literal "abc" and then every other code: a one-byte
// match, a zero byte, a short match, a gamma-coded match with a new
// distance (0x20a) and, after a literal, one that reuses it.
func aplibCodes(w *aplibWriter) {
	w.literal('a')
	w.literal('b')
	w.literal('c')
	w.bits("111")
	w.bits("0011") // one byte from 3 back: a
	w.bits("111")
	w.bits("0000") // a zero byte
	w.bits("110")
	w.out = append(w.out, 4<<1|1) // 3 bytes from 4 back: bca
	w.bits("10")
	w.gamma(4)                // after a match: high part 4-2 = 2 ...
	w.out = append(w.out, 10) // ... distance 0x20a
	w.gamma(2)                // length 2 (no adjustment at 0x20a)
	w.literal('z')
	w.bits("10")
	w.gamma(2) // after a literal: the last distance again
	w.gamma(3) // length 3
	w.end()
}

// TestAPLibCodes decodes a stream that uses every code, built by hand
// after 0x300 literal bytes of history, and checks the bytes and the
// consumed length; without the history, the long distance reaches before
// the output's start, which is corrupt.
func TestAPLibCodes(t *testing.T) {
	hist := make([]byte, 0x300)
	for i := range hist {
		hist[i] = byte(i)
	}
	w := &aplibWriter{out: []byte{hist[0]}}
	for _, c := range hist[1:] {
		w.literal(c)
	}
	aplibCodes(w)
	n := len(w.out)
	w.out = append(w.out, "trailing"...)

	want := append([]byte(nil), hist...)
	want = append(want, "abca\x00bca"...)
	want = append(want, want[len(want)-0x20a:len(want)-0x20a+2]...)
	want = append(want, 'z')
	want = append(want, want[len(want)-0x20a:len(want)-0x20a+3]...)
	dst := make([]byte, len(want)+10)
	nsrc, ndst, err := aplibDecode(context.Background(), NewBudget(Limits{}), w.out, dst)
	if err != nil {
		t.Fatal(err)
	}
	if nsrc != n || !bytes.Equal(dst[:ndst], want) {
		t.Fatalf("consumed %d of %d, decoded %q\nwant %q", nsrc, n, dst[:ndst], want)
	}

	w = &aplibWriter{out: []byte{'x'}}
	aplibCodes(w)
	if _, _, err := aplibDecode(context.Background(), NewBudget(Limits{}), w.out, make([]byte, 64)); !errors.Is(err, errAPLib) {
		t.Fatalf("a distance before the output's start: err %v, want errAPLib", err)
	}
}

// TestAPLibBounds checks that output and input bounds end in errAPLib.
func TestAPLibBounds(t *testing.T) {
	data := []byte("the quick brown fox jumps over the lazy dog")
	src := aplibLiterals(data)
	b := NewBudget(Limits{})
	if _, n, err := aplibDecode(context.Background(), b, src, make([]byte, len(data))); err != nil || n != len(data) {
		t.Fatalf("exact output: %d, %v", n, err)
	}
	if _, _, err := aplibDecode(context.Background(), b, src, make([]byte, len(data)-1)); !errors.Is(err, errAPLib) {
		t.Errorf("output one byte short: %v, want errAPLib", err)
	}
	for n := 0; n < len(src); n++ {
		if _, _, err := aplibDecode(context.Background(), b, src[:n], make([]byte, 64)); !errors.Is(err, errAPLib) {
			t.Errorf("input cut to %d of %d: %v, want errAPLib", n, len(src), err)
		}
	}
}
