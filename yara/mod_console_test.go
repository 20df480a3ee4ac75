package yara

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// consoleCalls are calls of every console overload with edge-case values.
func consoleCalls() []modCall {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var calls []modCall
	c := func(fn, sig string, args ...Value) {
		calls = append(calls, modCall{mod: "console", fn: fn, sig: sig, args: args})
	}
	for _, s := range [][]byte{nil, []byte("plain text"), all, []byte("a\x00b"), []byte("\xc3\xa9\x7f\x80 ~\"\\")} {
		c("log", "s", Value{Str: s})
		c("log", "ss", Value{Str: []byte("msg: ")}, Value{Str: s})
		c("log", "ss", Value{Str: s}, Value{Str: []byte("|")}) // the message ends at a NUL
	}
	for _, i := range []int64{0, 1, -1, 255, math.MaxInt64, math.MinInt64} {
		c("log", "i", iv(i))
		c("log", "si", sv("i="), iv(i))
		c("hex", "i", iv(i))
		c("hex", "si", sv("h\x00idden"), iv(i))
	}
	for _, f := range []float64{0, 1.5, -2.25, 0.0078125, 0.0000005, 0.0000015, 1e-7, 123456789.0 * 1e12,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 2.5e-6, 0.1, 1.0 / 3} {
		c("log", "f", fv(f))
		c("log", "sf", sv("f="), fv(f))
	}
	return calls
}

func TestConsoleText(t *testing.T) {
	var got []string
	sc := &ScanContext{Console: func(m string) { got = append(got, m) }}
	obj := loaded(t, newConsoleModule(), sc)
	tests := []struct {
		fn, sig string
		args    []Value
		want    string
	}{
		{"log", "s", []Value{sv("ab\x01\xffc")}, `ab\x01\xffc`},
		{"log", "ss", []Value{sv("m:"), sv("x\ty")}, `m:x\x09y`},
		{"log", "ss", []Value{sv("a\x00b"), sv("z")}, `az`},
		{"log", "s", []Value{sv("")}, ``},
		{"log", "i", []Value{iv(-5)}, `-5`},
		{"log", "si", []Value{sv("i:"), iv(7)}, `i:7`},
		{"log", "f", []Value{fv(1.5)}, `1.500000`},
		{"log", "f", []Value{fv(math.Inf(1))}, `inf`},
		{"log", "sf", []Value{sv("x"), fv(math.Inf(-1))}, `x-inf`},
		{"log", "f", []Value{fv(math.NaN())}, `nan`},
		{"log", "f", []Value{fv(math.Copysign(math.NaN(), -1))}, `-nan`},
		{"log", "f", []Value{fv(0.0078125)}, `0.007812`}, // ties round to even, as glibc
		{"hex", "i", []Value{iv(255)}, `0xff`},
		{"hex", "si", []Value{sv("h:"), iv(-1)}, `h:0xffffffffffffffff`},
	}
	for _, tt := range tests {
		got = got[:0]
		v := call1(t, obj, sc, tt.fn, tt.sig, tt.args...)
		if v.Undefined || v.Int != 1 {
			t.Errorf("console.%s(%v) = %+v, want 1", tt.fn, tt.args, v)
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("console.%s(%v) printed %q, want %q", tt.fn, tt.args, got, tt.want)
		}
	}
	// An undefined argument prints nothing and is undefined.
	got = got[:0]
	if v := call1(t, obj, sc, "log", "i", undef(KindInt)); !v.Undefined || len(got) != 0 {
		t.Errorf("console.log(undefined) = %+v, printed %q", v, got)
	}
	// No console: nothing printed, still true.
	if v := call1(t, obj, &ScanContext{}, "log", "s", sv("x")); v.Int != 1 {
		t.Errorf("console.log without a console = %+v", v)
	}
}

// TestConsolePeer compares the lines yara 4.2.3 prints for every console
// overload with what glassav sends to the console.
func TestConsolePeer(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	calls := consoleCalls()
	var want []string
	sc := &ScanContext{Data: []byte("dummy"), Console: func(m string) { want = append(want, m) }}
	obj := loaded(t, newConsoleModule(), sc)
	var cond []string
	for _, c := range calls {
		if v := c.eval(t, obj, sc); v.Int != 1 {
			t.Fatalf("%s = %+v", c, v)
		}
		cond = append(cond, c.src())
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "console.yar")
	src := "import \"console\"\nrule console_peer { condition: " + strings.Join(cond, " and\n ") + " }\n"
	data := filepath.Join(dir, "dummy")
	if err := os.WriteFile(rules, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("dummy"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(yara, "-w", rules, data).Output()
	if err != nil {
		t.Fatalf("yara: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(want)+1 || lines[len(lines)-1] != "console_peer "+data {
		t.Fatalf("yara printed %d lines, want %d console lines and the match:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("%s: yara prints %q, glassav %q", calls[i], lines[i], w)
		}
	}
	// The rule through glassav's Scan prints the same lines.
	var buf bytes.Buffer
	if m := glassavMatches(t, src, []byte("dummy"), nil, &buf); !m["console_peer"] {
		t.Errorf("glassav: the console rule does not match")
	}
	if got := buf.String(); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("glassav's Scan printed:\n%q\nwant:\n%q", got, strings.Join(want, "\n")+"\n")
	}
	t.Logf("yara printed the same %d console lines", len(want))
}
