package yara

import (
	"math"
	"testing"
)

// FuzzModuleFuncs calls every overload of every builtin module function on
// fuzzed data with fuzzed arguments: no call may panic, and each result is
// undefined or of the declared kind.
func FuzzModuleFuncs(f *testing.F) {
	f.Add([]byte("hello world\n"), int64(0), int64(12), 1.5, []byte("ABCDEF123456987"))
	f.Add([]byte{}, int64(-1), int64(math.MaxInt64), math.NaN(), []byte{0x80, 0xff, 0})
	f.Add([]byte("0x7fffffffffffffff"), int64(math.MinInt64), int64(36), math.Inf(-1), []byte(" -010"))
	re, err := CompileRegex(RegexpSource{Source: `a.{0,3}b|\bx*`})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, i, j int64, x float64, s []byte) {
		sc := &ScanContext{Data: data, ModuleData: s, Console: func(string) {}}
		for _, m := range Builtin() {
			obj, err := m.Load(sc)
			if err != nil {
				t.Fatalf("%s: %v", m.Name(), err)
			}
			for _, name := range obj.Order {
				fo := obj.Fields[name]
				if fo.Kind != KindFunc {
					continue
				}
				for _, fn := range fo.Funcs {
					args := make([]Value, len(fn.Args))
					ints := []int64{i, j, i ^ j}
					for k, a := range fn.Args {
						switch a {
						case 'i', 'b':
							args[k] = Value{Kind: KindInt, Int: ints[k%3]}
						case 'f':
							args[k] = Value{Kind: KindFloat, Float: x}
						case 's':
							args[k] = Value{Kind: KindString, Str: s}
						case 'r':
							args[k] = Value{Re: re}
						}
					}
					v := fn.Call(sc, args)
					if !v.Undefined && v.Kind != fn.Ret {
						t.Fatalf("%s.%s(%s) returned kind %d, declared %d", m.Name(), name, fn.Args, v.Kind, fn.Ret)
					}
					if v.Kind == KindFloat && !v.Undefined && math.IsNaN(v.Float) {
						t.Fatalf("%s.%s(%s) returned a defined NaN", m.Name(), name, fn.Args)
					}
				}
			}
		}
	})
}

// BenchmarkLoad measures what loading every builtin module costs per scan.
func BenchmarkLoad(b *testing.B) {
	mods := Builtin()
	sc := &ScanContext{Data: []byte("dummy")}
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range mods {
			if _, err := m.Load(sc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
