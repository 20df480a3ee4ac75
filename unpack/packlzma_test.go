package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"testing"

	"github.com/ulikunitz/xz/lzma"
)

// lzmaSample is data with long and short repeats, literals and distances
// of every size class: real executables when there are, then text and
// noise.
func lzmaSample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range []string{"/usr/share/clamav-testfiles/clam.exe", "/bin/true"} {
		if d, err := os.ReadFile(p); err == nil {
			buf.Write(d[:min(len(d), 40<<10)])
		}
	}
	rnd := rand.New(rand.NewSource(6))
	for i := 0; i < 200; i++ {
		buf.WriteString("glassav packs and unpacks ")
		buf.WriteByte(byte(rnd.Intn(256)))
	}
	noise := make([]byte, 3000)
	rnd.Read(noise)
	buf.Write(noise)
	buf.Write(buf.Bytes()[100:5000]) // one long far match
	return buf.Bytes()
}

// encodeRawLZMA compresses data with properties lc, lp, pb and returns the
// raw range-coder stream (the .lzma header dropped).
func encodeRawLZMA(t testing.TB, data []byte, lc, lp, pb int, eos bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	cfg := lzma.WriterConfig{Properties: &lzma.Properties{LC: lc, LP: lp, PB: pb}, DictCap: 1 << 20, EOSMarker: eos}
	if !eos {
		cfg.Size = int64(len(data))
	}
	w, err := cfg.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[13:]
}

func TestPackLZMARoundTrip(t *testing.T) {
	data := lzmaSample(t)
	for _, tc := range []struct {
		lc, lp, pb int
		eos        bool
	}{
		{4, 0, 2, true},                                                       // MEW's
		{3, 0, 0, false}, {5, 0, 0, false}, {0, 0, 0, true}, {6, 0, 0, false}, // Upack's
		{3, 0, 2, false}, {3, 2, 2, true}, {8, 0, 4, false}, {0, 4, 0, true},
	} {
		raw := encodeRawLZMA(t, data, tc.lc, tc.lp, tc.pb, tc.eos)
		// The image: 100 bytes before the output, room for it, 64 after.
		img := make([]byte, 100+len(data)+64)
		d := newPackLZMA(uint(tc.lc), uint(tc.lp), uint(tc.pb), raw, 5, 0xffffffff, binary.BigEndian.Uint32(raw[1:]))
		stop := 100 + len(data)
		if tc.eos {
			stop = len(img) // the end marker stops it
		}
		end, err := d.decode(context.Background(), NewBudget(Limits{}), img, 100, stop, true)
		if err != nil {
			t.Fatalf("lc=%d lp=%d pb=%d: %v", tc.lc, tc.lp, tc.pb, err)
		}
		if end != 100+len(data) || !bytes.Equal(img[100:end], data) {
			t.Fatalf("lc=%d lp=%d pb=%d: decoded %d bytes, differ from the %d encoded", tc.lc, tc.lp, tc.pb, end-100, len(data))
		}
		if tc.eos && d.pos != len(raw) {
			t.Errorf("lc=%d lp=%d pb=%d: consumed %d of %d input bytes", tc.lc, tc.lp, tc.pb, d.pos, len(raw))
		}
	}
}

// TestPackLZMAStartedCoder starts the range coder as Upack's loader does:
// from the first four bytes of the code, with a low end subtracted.
func TestPackLZMAStartedCoder(t *testing.T) {
	data := lzmaSample(t)
	raw := encodeRawLZMA(t, data, 3, 0, 0, false)[1:] // no leading zero byte
	img := make([]byte, len(data))
	const low = 0x1234
	code := binary.BigEndian.Uint32(raw) + low // what the packer stored
	binary.BigEndian.PutUint32(raw, code)
	d := newPackLZMA(3, 0, 0, raw, 4, 0xffffffff, code-low)
	if end, err := d.decode(context.Background(), NewBudget(Limits{}), img, 0, len(img), false); err != nil || end != len(img) || !bytes.Equal(img, data) {
		t.Fatalf("end %d err %v: output differs", end, err)
	}
}

// TestPackLZMACorrupt feeds truncated and damaged streams: each ends in
// errPackLZMA (or decodes to wrong bytes), never in a panic or a hang.
func TestPackLZMACorrupt(t *testing.T) {
	data := lzmaSample(t)
	raw := encodeRawLZMA(t, data, 3, 0, 0, false)
	b := NewBudget(Limits{})
	for _, n := range []int{5, 6, 50, len(raw) / 2, len(raw) - 3} {
		img := make([]byte, len(data))
		d := newPackLZMA(3, 0, 0, raw[:n], 5, 0xffffffff, binary.BigEndian.Uint32(raw[1:]))
		_, err := d.decode(context.Background(), b, img, 0, len(img), false)
		if !errors.Is(err, errPackLZMA) {
			t.Errorf("truncated to %d bytes: err %v, want errPackLZMA", n, err)
		}
	}
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		bad := append([]byte(nil), raw...)
		for j := 0; j < 4; j++ {
			bad[5+rnd.Intn(len(bad)-5)] ^= byte(1 + rnd.Intn(255))
		}
		img := make([]byte, len(data)+16)
		d := newPackLZMA(3, 0, 0, bad, 5, 0xffffffff, binary.BigEndian.Uint32(bad[1:]))
		d.decode(context.Background(), b, img, 8, len(data), i%2 == 0)
	}
}

// TestPackLZMACancel stops on a cancelled context.
func TestPackLZMACancel(t *testing.T) {
	data := bytes.Repeat([]byte{0}, 1<<20)
	raw := encodeRawLZMA(t, data, 3, 0, 0, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := newPackLZMA(3, 0, 0, raw, 5, 0xffffffff, binary.BigEndian.Uint32(raw[1:]))
	if _, err := d.decode(ctx, NewBudget(Limits{}), make([]byte, len(data)), 0, len(data), true); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func BenchmarkPackLZMA(b *testing.B) {
	data := lzmaSample(b)
	raw := encodeRawLZMA(b, data, 3, 0, 0, false)
	img := make([]byte, len(data))
	bud := NewBudget(Limits{})
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		d := newPackLZMA(3, 0, 0, raw, 5, 0xffffffff, binary.BigEndian.Uint32(raw[1:]))
		if _, err := d.decode(context.Background(), bud, img, 0, len(img), false); err != nil {
			b.Fatal(err)
		}
	}
}
