package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand"
	"testing"
)

// nrvWriter writes an NRV stream: control bits gathered into 32-bit
// little-endian words, each word's place reserved in the output when its
// first bit is written (where the decoder will load it), bytes in between.
type nrvWriter struct {
	out  []byte
	slot int    // where the current word goes
	word uint32 // its bits so far
	n    int    // how many
}

func (w *nrvWriter) bit(b uint32) {
	if w.n == 0 {
		w.slot = len(w.out)
		w.out = append(w.out, 0, 0, 0, 0)
	}
	w.word = w.word<<1 | b&1
	w.n++
	if w.n == 32 {
		binary.LittleEndian.PutUint32(w.out[w.slot:], w.word)
		w.n, w.word = 0, 0
	}
}

func (w *nrvWriter) byte(c byte) { w.out = append(w.out, c) }

func (w *nrvWriter) flush() []byte {
	if w.n > 0 {
		binary.LittleEndian.PutUint32(w.out[w.slot:], w.word<<(32-w.n))
		w.n, w.word = 0, 0
	}
	return w.out
}

// gamma writes v >= 2 in the code nrvBits.gamma reads: the bits of v
// after its leading one, each followed by a control bit, 1 after the last.
func (w *nrvWriter) gamma(v uint32) {
	var bits []uint32
	for ; v > 1; v >>= 1 {
		bits = append(bits, v&1)
	}
	for i := len(bits) - 1; i >= 0; i-- {
		w.bit(bits[i])
		if i == 0 {
			w.bit(1)
		} else {
			w.bit(0)
		}
	}
}

// gammaDE writes v >= 2 in the offset code of NRV2D and NRV2E, whose
// "continue" steps subtract one before the next bit: found by undoing the
// decoder's steps from v back to its start value 1.
func (w *nrvWriter) gammaDE(v uint32) {
	type step struct{ data, more, extra uint32 }
	var steps []step
	s := v
	for {
		a := s & 1
		s >>= 1
		if s == 1 {
			steps = append(steps, step{data: a})
			break
		}
		b := s & 1
		s = s>>1 + 1
		steps = append(steps, step{data: a, more: 1, extra: b})
	}
	// steps[len-1] is the first round; each "more" belongs to the round
	// before it in reading order.
	for i := len(steps) - 1; i >= 0; i-- {
		w.bit(steps[i].data)
		if i == 0 {
			w.bit(1)
			return
		}
		w.bit(0)
		w.bit(steps[i-1].extra)
	}
}

// nrvEncode compresses data with method m: greedy matches found through
// a table of 3-byte prefixes, the last offset reused when it repeats.
// It exists to test the decoders and to build UPX-packed fixtures.
func nrvEncode(m nrvMethod, data []byte) []byte {
	w := &nrvWriter{}
	last := uint32(0)
	heads := map[uint32][]int{}
	key := func(i int) uint32 { return uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 }
	for i := 0; i < len(data); {
		bestLen, bestDist := 0, 0
		if i+3 <= len(data) {
			cands := heads[key(i)]
			for k := len(cands) - 1; k >= 0 && k >= len(cands)-32; k-- {
				j := cands[k]
				n := 0
				for i+n < len(data) && n < 4096 && data[j+n] == data[i+n] {
					n++
				}
				if n > bestLen {
					bestLen, bestDist = n, i-j
				}
			}
		}
		big := uint32(0)
		limit := uint32(0xd00)
		if m != nrv2b {
			limit = 0x500
		}
		if uint32(bestDist) > limit {
			big = 1
		}
		if bestLen < 3+int(big) {
			w.bit(1)
			w.byte(data[i])
			if i+3 <= len(data) {
				heads[key(i)] = append(heads[key(i)], i)
			}
			i++
			continue
		}
		L := uint32(bestLen)
		dist := uint32(bestDist)
		w.bit(0)
		reuse := dist == last
		switch m {
		case nrv2b:
			if reuse {
				w.gamma(2)
			} else {
				x := dist - 1
				w.gamma(x>>8 + 3)
				w.byte(byte(x))
			}
			mm := L - 1 - big
			if mm <= 3 {
				w.bit(mm >> 1)
				w.bit(mm & 1)
			} else {
				w.bit(0)
				w.bit(0)
				w.gamma(mm - 2)
			}
		case nrv2d, nrv2e:
			var first uint32
			var mm uint32
			if m == nrv2d {
				mm = L - 1 - big
				if mm <= 3 {
					first = mm >> 1
				}
			} else {
				mm = L - 2 - big
				if mm <= 1 {
					first = 1
				}
			}
			if reuse {
				w.gammaDE(2)
				w.bit(first)
			} else {
				x := 2*(dist-1) + (1 - first)
				w.gammaDE(x>>8 + 3)
				w.byte(byte(x))
			}
			if m == nrv2d {
				if mm <= 3 {
					w.bit(mm & 1)
				} else {
					w.bit(0)
					w.gamma(mm - 2)
				}
			} else {
				switch {
				case mm <= 1:
					w.bit(mm)
				case mm <= 3:
					w.bit(1)
					w.bit(mm - 2)
				default:
					w.bit(0)
					w.gamma(mm - 2)
				}
			}
		}
		last = dist
		for k := 0; k < bestLen; k++ {
			if i+k+3 <= len(data) {
				heads[key(i+k)] = append(heads[key(i+k)], i+k)
			}
		}
		i += bestLen
	}
	// End marker: a new offset whose complement is zero.
	w.bit(0)
	if m == nrv2b {
		w.gamma(0xffffff + 3)
	} else {
		w.gammaDE(0xffffff + 3)
	}
	w.byte(0xff)
	return w.flush()
}

// nrvSample is compressible data with near and far repeats.
func nrvSample(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	out := make([]byte, 0, n)
	words := []string{"glassav ", "unpacks ", "UPX ", "\x00\x00\x00\x00", "\x90\x90", "MZ\x90\x00", "PE\x00\x00"}
	for len(out) < n {
		switch rng.Intn(4) {
		case 0:
			out = append(out, byte(rng.Intn(256)))
		case 1:
			if len(out) > 8 {
				d := 1 + rng.Intn(len(out))
				l := 3 + rng.Intn(300)
				for k := 0; k < l && len(out) < n; k++ {
					out = append(out, out[len(out)-d])
				}
			}
		default:
			out = append(out, words[rng.Intn(len(words))]...)
		}
	}
	return out[:n]
}

func TestNRVRoundTrip(t *testing.T) {
	for _, m := range []nrvMethod{nrv2b, nrv2d, nrv2e} {
		for _, n := range []int{1, 7, 1000, 70000} {
			data := nrvSample(n, int64(n))
			packed := nrvEncode(m, data)
			if n > 1000 && len(packed) >= len(data) {
				t.Errorf("%v: %d bytes packed to %d", m, n, len(packed))
			}
			dst := make([]byte, n)
			got, err := nrvDecode(context.Background(), NewBudget(Limits{}), m, packed, dst)
			if err != nil || got != n || !bytes.Equal(dst, data) {
				t.Fatalf("%v, %d bytes: decoded %d, %v, equal %v", m, n, got, err, bytes.Equal(dst[:got], data[:got]))
			}
			// Output one byte short of the data: corrupt, not a panic.
			if n > 1 {
				if _, err := nrvDecode(context.Background(), NewBudget(Limits{}), m, packed, make([]byte, n-1)); err == nil {
					t.Errorf("%v: decoded %d bytes into %d", m, n, n-1)
				}
			}
			// Truncated input.
			for _, cut := range []int{len(packed) / 2, len(packed) - 1} {
				if _, err := nrvDecode(context.Background(), NewBudget(Limits{}), m, packed[:cut], make([]byte, n)); err == nil {
					t.Errorf("%v: truncated to %d of %d: no error", m, cut, len(packed))
				}
			}
		}
	}
}

func FuzzNRVDecode(f *testing.F) {
	for _, m := range []nrvMethod{nrv2b, nrv2d, nrv2e} {
		f.Add(byte(m), nrvEncode(m, nrvSample(500, 1)))
	}
	f.Fuzz(func(t *testing.T, m byte, packed []byte) {
		dst := make([]byte, 4096)
		n, err := nrvDecode(context.Background(), NewBudget(Limits{}), nrvMethod(m%3), packed, dst)
		if n < 0 || n > len(dst) {
			t.Fatalf("wrote %d bytes of %d (%v)", n, len(dst), err)
		}
	})
}
