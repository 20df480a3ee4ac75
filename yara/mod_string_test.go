package yara

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

func TestStringToInt(t *testing.T) {
	// The expectations of yara's test-string.c (yara 4.3), plus C corner
	// cases.
	tests := []struct {
		s    string
		base int64
		want Value
	}{
		{"1234", 0, iv(1234)},
		{"-1", 0, iv(-1)},
		{" +1", 0, iv(1)},
		{"0x10", 0, iv(16)},
		{"010", 0, iv(8)},
		{"10", 8, iv(8)},
		{"010", 0, iv(8)},
		{"0x10", 16, iv(16)},
		{"10", 0, iv(10)},
		{"1", -1, undef(KindInt)},
		{"1", 1, undef(KindInt)},
		{"1", 37, undef(KindInt)},
		{"9223372036854775807", 0, iv(9223372036854775807)},
		{"9223372036854775808", 0, undef(KindInt)},
		{"-9223372036854775808", 0, iv(-9223372036854775808)},
		{"-9223372036854775809", 0, undef(KindInt)},
		{"FOO", 0, undef(KindInt)},
		{"10A20", 0, undef(KindInt)},
		{"", 0, undef(KindInt)},
		{"   -", 0, undef(KindInt)},
		{" +0x", 0, undef(KindInt)},
		{"0x", 16, undef(KindInt)},
		{"08", 0, undef(KindInt)},
		{"12 ", 0, undef(KindInt)},
		{"\t\n\v\f\r12", 0, iv(12)},
		{"12\x00junk", 0, iv(12)}, // C string: ends at the NUL
		{"zZ", 36, iv(35*36 + 35)},
		{"-0x8000000000000000", 0, iv(-1 << 63)},
		{"11", 1<<32 + 2, iv(3)}, // the base is a C int
	}
	obj := loaded(t, newStringModule(), &ScanContext{})
	for _, tt := range tests {
		got := call1(t, obj, nil, "to_int", "si", sv(tt.s), iv(tt.base))
		if !same(got, tt.want) {
			t.Errorf("string.to_int(%q, %d) = %+v, want %+v", tt.s, tt.base, got, tt.want)
		}
		if tt.base == 0 {
			if got := call1(t, obj, nil, "to_int", "s", sv(tt.s)); !same(got, tt.want) {
				t.Errorf("string.to_int(%q) = %+v, want %+v", tt.s, got, tt.want)
			}
		}
	}
	if got := call1(t, obj, nil, "length", "s", sv("AXS\x00ERS")); !same(got, iv(7)) {
		t.Errorf("string.length(\"AXS\\x00ERS\") = %+v, want 7", got)
	}
}

// TestStringToIntLibc compares string.to_int with the C library's strtoll
// (through Python's ctypes) on generated strings: yara 4.2.3 has no string
// module, and to_int is strtoll plus three checks.
func TestStringToIntLibc(t *testing.T) {
	py := testenv.NeedTool(t, "python3")
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789abcdefxzXZ+- \t\v"
	type input struct {
		s    string
		base int64
	}
	var in []input
	for _, s := range []string{"", "0", "0x", "0x1g", "-0", "+", "-", "0X7fffffffffffffff", "0x8000000000000000",
		"-0x8000000000000000", "-0x8000000000000001", "777777777777777777777", "1000000000000000000000",
		"01777777777777777777777", "99999999999999999999999999", " \n-12", "0b11"} {
		for _, b := range []int64{0, 2, 8, 10, 16, 36} {
			in = append(in, input{s, b})
		}
	}
	// Mostly well-formed numbers (space, sign, prefix, digits) with a
	// random byte spliced in now and then.
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		b.WriteString(pick("", "", " ", "\t", " \n\v"))
		b.WriteString(pick("", "", "-", "+"))
		b.WriteString(pick("", "", "0", "0x", "0X"))
		digits := pick("0123456789", "01234567", "0123456789abcdefABCDEF", "01", "0123456789abcdefghijklmnopqrstuvwxyz")
		for n := rng.IntN(22); n > 0; n-- {
			b.WriteByte(digits[rng.IntN(len(digits))])
			if rng.IntN(40) == 0 {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		if rng.IntN(8) == 0 {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		bases := []int64{0, 0, 0, 10, 16, 8, 2, 36, 1, 37, int64(rng.IntN(40))}
		in = append(in, input{b.String(), bases[rng.IntN(len(bases))]})
	}
	var req bytes.Buffer
	for _, x := range in {
		fmt.Fprintf(&req, "x%s %d\n", hex.EncodeToString([]byte(x.s)), x.base)
	}
	const script = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
strtoll = libc.strtoll
strtoll.restype = ctypes.c_longlong
strtoll.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
for line in sys.stdin:
    h, base = line.split()
    s = bytes.fromhex(h[1:])
    buf = ctypes.create_string_buffer(s)
    end = ctypes.c_void_p()
    ctypes.set_errno(0)
    v = strtoll(ctypes.addressof(buf), ctypes.byref(end), int(base))
    err = ctypes.get_errno()
    endoff = 0 if end.value is None else end.value - ctypes.addressof(buf)
    ok = err == 0 and endoff != 0 and endoff == len(s)
    print(v if ok else "undefined")
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = &req
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	obj := loaded(t, newStringModule(), &ScanContext{})
	sc := bufio.NewScanner(bytes.NewReader(out))
	n, defined := 0, 0
	for _, x := range in {
		if !sc.Scan() {
			t.Fatalf("python3 printed %d results for %d inputs", n, len(in))
		}
		want := sc.Text()
		got := call1(t, obj, nil, "to_int", "si", sv(x.s), iv(x.base))
		g := "undefined"
		if !got.Undefined {
			g = strconv.FormatInt(got.Int, 10)
			defined++
		}
		if g != want {
			t.Errorf("string.to_int(%q, %d) = %s, strtoll says %s", x.s, x.base, g, want)
		}
		n++
	}
	if defined < len(in)/10 {
		t.Errorf("only %d of %d inputs parsed: the generator is too weak", defined, len(in))
	}
	t.Logf("strtoll agreed on %d inputs (%d numbers)", n, defined)
}

// FuzzStringToInt checks that string.to_int never panics and that what it
// accepts prints back to the same number.
func FuzzStringToInt(f *testing.F) {
	for _, s := range []string{"1234", " -0x10", "010", "9223372036854775808", "0x", "\t+7"} {
		f.Add(s, int64(0))
	}
	f.Add("zz", int64(36))
	f.Fuzz(func(t *testing.T, s string, base int64) {
		v, ok := parseCInt([]byte(s), base)
		if !ok {
			return
		}
		b := int(int32(base))
		if b == 0 {
			b = 10 // any base reads back a decimal rendering
			s2 := strconv.FormatInt(v, 10)
			if w, ok := parseCInt([]byte(s2), 10); !ok || w != v {
				t.Fatalf("%q → %d, but %q → %d, %v", s, v, s2, w, ok)
			}
			return
		}
		s2 := strconv.FormatInt(v, b)
		if w, ok := parseCInt([]byte(s2), int64(b)); !ok || w != v {
			t.Fatalf("%q base %d → %d, but %q → %d, %v", s, b, v, s2, w, ok)
		}
	})
}
