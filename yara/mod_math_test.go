package yara

import (
	"math"
	"os"
	"testing"
)

func TestMathFunctions(t *testing.T) {
	// The data of yara's own math tests: "ABCDEF123456987" and "AABAAB".
	tests := []struct {
		data string
		fn   string
		sig  string
		args []Value
		want Value
	}{
		{"dummy", "min", "ii", []Value{iv(0), iv(1)}, iv(0)},
		{"dummy", "max", "ii", []Value{iv(0), iv(1)}, iv(1)},
		// min and max compare as unsigned, as yara 4.2.3 does.
		{"dummy", "min", "ii", []Value{iv(-1), iv(1)}, iv(1)},
		{"dummy", "max", "ii", []Value{iv(-1), iv(1)}, iv(-1)},
		{"dummy", "to_number", "b", []Value{iv(1)}, iv(1)},
		{"dummy", "to_number", "b", []Value{iv(0)}, iv(0)},
		{"dummy", "abs", "i", []Value{iv(-1)}, iv(1)},
		{"dummy", "abs", "i", []Value{iv(math.MinInt64)}, iv(math.MinInt64)},
		{"AXSAB", "count", "iii", []Value{iv(0x41), iv(0), iv(3)}, iv(1)},
		{"ABAB", "count", "i", []Value{iv(0x41)}, iv(2)},
		{"ABAB", "count", "i", []Value{iv(0x141)}, iv(2)}, // the byte is cut to 8 bits
		{"ABABABABAB", "count", "iii", []Value{iv(0x41), iv(10), iv(3)}, undef(KindInt)},
		{"ABABABABAB", "count", "iii", []Value{iv(0x41), iv(0), iv(-3)}, undef(KindInt)},
		{"", "count", "i", []Value{iv(0x41)}, undef(KindInt)},
		{"ABCDE", "percentage", "i", []Value{iv(0x41)}, fv(float64(float32(1) / float32(5)))},
		{"AAAB", "percentage", "iii", []Value{iv(0x41), iv(0), iv(4)}, fv(0.75)},
		{"AAAB", "percentage", "iii", []Value{iv(0x41), iv(0), iv(0)}, undef(KindFloat)}, // 0/0
		{"AAAB", "percentage", "iii", []Value{iv(0x41), iv(10), iv(3)}, undef(KindFloat)},
		{"ABAB", "mode", "", nil, iv(0x41)},
		{"BBAA", "mode", "", nil, iv(0x41)}, // ties go to the smaller byte
		{"AAABBBBB", "mode", "ii", []Value{iv(2), iv(3)}, iv(0x42)},
		{"dummy", "entropy", "s", []Value{sv("AAAAA")}, fv(0)},
		{"dummy", "entropy", "s", []Value{sv("")}, fv(0)},
		{"dummy", "entropy", "s", []Value{sv("AABB")}, fv(1)},
		{"CCAAACCC", "entropy", "ii", []Value{iv(2), iv(3)}, fv(0)},
		{"CCAAACCC", "entropy", "ii", []Value{iv(2), iv(0)}, fv(0)},
		{"dummy", "deviation", "sf", []Value{sv("AAAAA"), fv(0)}, fv(65)},
		{"dummy", "deviation", "sf", []Value{sv("ABAB"), fv(65)}, fv(0.5)},
		{"dummy", "deviation", "sf", []Value{sv(""), fv(65)}, undef(KindFloat)},
		{"ABABAB", "deviation", "iif", []Value{iv(2), iv(4), fv(65)}, fv(0.5)},
		{"dummy", "mean", "s", []Value{sv("ABCABC")}, fv(66)},
		{"dummy", "mean", "s", []Value{sv("")}, undef(KindFloat)},
		{"ABCABC", "mean", "ii", []Value{iv(0), iv(3)}, fv(66)},
		{"ABCABC", "mean", "ii", []Value{iv(0), iv(0)}, undef(KindFloat)},
		{"dummy", "in_range", "fff", []Value{fv(2), fv(1), fv(3)}, iv(1)},
		{"dummy", "in_range", "fff", []Value{fv(6), fv(1), fv(3)}, iv(0)},
		{"dummy", "in_range", "fff", []Value{fv(3), fv(1), fv(3)}, iv(1)},
		{"dummy", "monte_carlo_pi", "s", []Value{sv("ABCDE")}, undef(KindFloat)},
		// yara 4.2.3's serial correlation of BCA (later versions: -0.5).
		{"dummy", "serial_correlation", "s", []Value{sv("BCA")}, fv(-33)},
		{"dummy", "serial_correlation", "s", []Value{sv("")}, fv(-100000)},
		{"AAAA", "serial_correlation", "ii", []Value{iv(0), iv(4)}, fv(-100000)},
		{"dummy", "to_string", "i", []Value{iv(-1)}, sv("-1")},
		{"dummy", "to_string", "ii", []Value{iv(-1), iv(16)}, sv("ffffffffffffffff")},
		{"dummy", "to_string", "ii", []Value{iv(-1), iv(8)}, sv("1777777777777777777777")},
		{"dummy", "to_string", "ii", []Value{iv(32), iv(10)}, sv("32")},
		{"dummy", "to_string", "ii", []Value{iv(32), iv(9)}, undef(KindString)},
		{"dummy", "abs", "i", []Value{undef(KindInt)}, undef(KindInt)},
	}
	for _, tt := range tests {
		sc := &ScanContext{Data: []byte(tt.data)}
		obj := loaded(t, newMathModule(), sc)
		got := call1(t, obj, sc, tt.fn, tt.sig, tt.args...)
		if !same(got, tt.want) {
			t.Errorf("math.%s(%v) over %q = %+v, want %+v", tt.fn, tt.args, tt.data, got, tt.want)
		}
	}
	// monte_carlo_pi of yara's test string is close to 0 as yara's test says.
	sc := &ScanContext{Data: []byte("123ABCDEF123456987DE")}
	obj := loaded(t, newMathModule(), sc)
	if v := call1(t, obj, sc, "monte_carlo_pi", "ii", iv(3), iv(15)); v.Undefined || v.Float >= 0.3 {
		t.Errorf("math.monte_carlo_pi(3, 15) = %+v, want < 0.3", v)
	}
}

func TestMathDeclare(t *testing.T) {
	d := newMathModule().Declare()
	if mb := d.Fields["MEAN_BYTES"]; mb == nil || mb.Kind != KindFloat || mb.Defined {
		t.Errorf("declared MEAN_BYTES = %+v, want an unset float", mb)
	}
	l := loaded(t, newMathModule(), &ScanContext{})
	if mb := l.Fields["MEAN_BYTES"]; !mb.Defined || mb.Float != 127.5 {
		t.Errorf("loaded MEAN_BYTES = %+v, want 127.5", mb)
	}
	checkShape(t, "math", d, l)
}

// checkShape checks that a loaded tree has the declared shape.
func checkShape(t *testing.T, path string, decl, load *Object) {
	t.Helper()
	if decl.Kind != load.Kind {
		t.Fatalf("%s: declared kind %d, loaded %d", path, decl.Kind, load.Kind)
	}
	switch decl.Kind {
	case KindStruct:
		if len(decl.Order) != len(load.Order) || len(decl.Fields) != len(decl.Order) {
			t.Fatalf("%s: declared fields %v, loaded %v", path, decl.Order, load.Order)
		}
		for i, name := range decl.Order {
			if load.Order[i] != name {
				t.Fatalf("%s: field %d is %s, declared %s", path, i, load.Order[i], name)
			}
			checkShape(t, path+"."+name, decl.Fields[name], load.Fields[name])
		}
	case KindArray, KindDict:
		checkShape(t, path+"[]", decl.Elem, load.Elem)
		for i, it := range load.Items {
			if it != nil {
				checkShape(t, path+"[]", decl.Elem, it)
			}
			_ = i
		}
		for _, k := range load.Keys {
			checkShape(t, path+"[\""+k+"\"]", decl.Elem, load.Dict[k])
		}
	case KindFunc:
		if len(decl.Funcs) != len(load.Funcs) {
			t.Fatalf("%s: overloads differ", path)
		}
		for i := range decl.Funcs {
			if decl.Funcs[i].Args != load.Funcs[i].Args || decl.Funcs[i].Ret != load.Funcs[i].Ret {
				t.Fatalf("%s: overload %d differs", path, i)
			}
		}
	}
}

// TestMathPeer compares every math function of yara 4.2.3 with yara on
// real files: floats must be identical to the last bit.
func TestMathPeer(t *testing.T) {
	files := peerFiles(t, t.TempDir())
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		calls := mathCalls(data)
		cases := evalAll(t, newMathModule(), data, nil, calls)
		total += peerAgrees(t, f, "", cases)
	}
	t.Logf("yara agreed on %d math calls over %d files", total, len(files))
}

// mathCalls returns calls of every math function of yara 4.2.3 (not
// to_string, which it lacks) over ranges and pieces of data.
func mathCalls(data []byte) []modCall {
	var calls []modCall
	c := func(fn, sig string, args ...Value) {
		calls = append(calls, modCall{mod: "math", fn: fn, sig: sig, args: args})
	}
	for _, r := range rangesOf(int64(len(data))) {
		o, n := iv(r[0]), iv(r[1])
		c("entropy", "ii", o, n)
		c("mean", "ii", o, n)
		c("deviation", "iif", o, n, fv(127.5))
		c("deviation", "iif", o, n, fv(3.25))
		c("serial_correlation", "ii", o, n)
		c("monte_carlo_pi", "ii", o, n)
		c("mode", "ii", o, n)
		c("count", "iii", iv(0), o, n)
		c("percentage", "iii", iv(0), o, n)
		if len(data) > 0 {
			c("count", "iii", iv(int64(data[len(data)/2])), o, n)
			c("percentage", "iii", iv(int64(data[len(data)/2])), o, n)
		}
	}
	for _, b := range []int64{0, 0x41, 0xff, -1, 0x100 + 0x41} {
		c("count", "i", iv(b))
		c("percentage", "i", iv(b))
	}
	c("mode", "")
	for _, off := range []int{0, 5, len(data) / 3, len(data) - 7} {
		for _, n := range []int{0, 1, 5, 6, 13, 64, 200} {
			s := Value{Str: cut(data, max(off, 0), n)}
			c("entropy", "s", s)
			c("mean", "s", s)
			c("deviation", "sf", s, fv(64.5))
			c("serial_correlation", "s", s)
			c("monte_carlo_pi", "s", s)
		}
	}
	for _, p := range [][2]int64{{0, 1}, {-1, 1}, {math.MinInt64, math.MaxInt64}, {5, 5}, {-7, -3}} {
		c("min", "ii", iv(p[0]), iv(p[1]))
		c("max", "ii", iv(p[0]), iv(p[1]))
		c("abs", "i", iv(p[0]))
	}
	c("to_number", "b", iv(1))
	c("to_number", "b", iv(0))
	for _, f := range [][3]float64{{2, 1, 3}, {6, 1, 3}, {1, 1, 1}, {-0.5, -1, 0}, {7.99, 7.5, 8}} {
		c("in_range", "fff", fv(f[0]), fv(f[1]), fv(f[2]))
	}
	return calls
}

func BenchmarkMathEntropy(b *testing.B) {
	data := ramp(1 << 20)
	obj := loaded(b, newMathModule(), &ScanContext{})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sc := &ScanContext{Data: data}
		call1(b, obj, sc, "entropy", "ii", iv(0), iv(int64(len(data))))
	}
}

func TestMathMemo(t *testing.T) {
	data := ramp(memoMinRange + 10)
	sc := &ScanContext{Data: data}
	obj := loaded(t, newMathModule(), sc)
	n := iv(int64(len(data)))
	e := call1(t, obj, sc, "entropy", "ii", iv(0), n)
	m := call1(t, obj, sc, "mean", "ii", iv(0), iv(1<<40)) // the same range, cut at the end
	if len(sc.cache) != 1 {
		t.Errorf("cache holds %d entries after two calls over one range, want 1", len(sc.cache))
	}
	call1(t, obj, sc, "entropy", "ii", iv(1), iv(100)) // small: not memoised
	call1(t, obj, sc, "count", "i", iv(7))
	call1(t, obj, sc, "mode", "")
	if len(sc.cache) != 2 {
		t.Errorf("cache holds %d entries, want 2 (one range, the whole data)", len(sc.cache))
	}
	// The memoised counts give the values fresh counts give.
	fresh := &ScanContext{Data: data}
	if e2 := call1(t, obj, fresh, "entropy", "ii", iv(0), n); !same(e, e2) {
		t.Errorf("memoised entropy %v, fresh %v", e, e2)
	}
	if m2 := call1(t, obj, fresh, "mean", "ii", iv(0), n); !same(m, m2) {
		t.Errorf("memoised mean %v, fresh %v", m, m2)
	}
}
