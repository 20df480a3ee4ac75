package yara

import "math"

// Builtin returns the modules glassav implements: hash, math, time,
// console, string, tests, and the binary-format modules pe, dotnet, elf,
// macho, dex and magic.
//
// The modules hold no mutable state, so one set may serve any number of
// concurrent compilations and scans. Where a module's values do not depend
// on the scanned data (hash, math, time, console, string; tests without
// module data; a format module on data not of its format), Load returns one
// tree built once for every scan, sparing the allocations per scanned
// file: callers must not modify loaded trees.
func Builtin() []Module {
	return []Module{
		newHashModule(),
		newMathModule(),
		newTimeModule(),
		newConsoleModule(),
		newStringModule(),
		newTestsModule(),
		newPEModule(),
		newDotnetModule(),
		newElfModule(),
		newMachoModule(),
		newDexModule(),
		newMagicModule(),
	}
}

// The helpers below build module object trees and function results. They
// are shared by the mod_*.go files.

// member is one named field of a structure under construction.
type member struct {
	name string
	obj  *Object
}

// structOf returns a structure with the given fields in declaration order.
func structOf(fields ...member) *Object {
	o := &Object{Kind: KindStruct, Fields: make(map[string]*Object, len(fields)), Order: make([]string, 0, len(fields))}
	for _, f := range fields {
		o.Fields[f.name] = f.obj
		o.Order = append(o.Order, f.name)
	}
	return o
}

// since43 returns a member yara 4.3 or later added: the checker and the
// evaluator see it, yara -D output (WriteModuleData) leaves it out, so a
// module keeps printing exactly what yara 4.2.3 prints. Use it both in a
// module's declaration and in its loaded trees: the printer looks at the
// loaded objects.
func since43(name string, obj *Object) member {
	obj.Since43 = true
	return member{name, obj}
}

// scalar returns an undefined scalar of kind k.
func scalar(k Kind) *Object { return &Object{Kind: k} }

// intObject, floatObject and stringObject return defined scalars.
func intObject(i int64) *Object     { return &Object{Kind: KindInt, Defined: true, Int: i} }
func floatObject(f float64) *Object { return &Object{Kind: KindFloat, Defined: true, Float: f} }
func stringObject(s string) *Object {
	return &Object{Kind: KindString, Defined: true, Str: []byte(s)}
}

// arrayOf and dictOf return an empty array or dictionary whose elements
// have the shape of elem.
func arrayOf(elem *Object) *Object { return &Object{Kind: KindArray, Elem: elem} }
func dictOf(elem *Object) *Object {
	return &Object{Kind: KindDict, Elem: elem, Dict: map[string]*Object{}}
}

// dictSet stores v under key in dictionary d, keeping insertion order.
func dictSet(d *Object, key string, v *Object) {
	if _, ok := d.Dict[key]; !ok {
		d.Keys = append(d.Keys, key)
	}
	d.Dict[key] = v
}

// overloads returns a function object with the given overloads.
func overloads(fs ...*Func) *Object { return &Object{Kind: KindFunc, Funcs: fs} }

// fn declares one overload. As in yara, a call with an undefined argument
// is not made: its result is undefined. (yara's virtual machine checks the
// arguments before calling; the check is repeated here so a module
// function is safe whoever calls it.)
func fn(args string, ret Kind, call func(sc *ScanContext, args []Value) Value) *Func {
	return &Func{Args: args, Ret: ret, Call: func(sc *ScanContext, a []Value) Value {
		for i := range a {
			if a[i].Undefined {
				return undefined(ret)
			}
		}
		return call(sc, a)
	}}
}

// undefined returns the undefined value of kind k.
func undefined(k Kind) Value { return Value{Kind: k, Undefined: true} }

// intValue returns a defined integer.
func intValue(i int64) Value { return Value{Kind: KindInt, Int: i} }

// boolValue returns 1 or 0, yara's booleans from modules.
func boolValue(b bool) Value {
	if b {
		return intValue(1)
	}
	return intValue(0)
}

// floatValue returns f, or undefined when f is NaN: yara stores an
// undefined float as NaN, so a function computing NaN (the mean of no
// bytes, 0/0) yields undefined.
func floatValue(f float64) Value {
	if math.IsNaN(f) {
		return undefined(KindFloat)
	}
	return Value{Kind: KindFloat, Float: f}
}

// stringValue returns a defined string.
func stringValue(b []byte) Value { return Value{Kind: KindString, Str: b} }

// dataRange returns the bytes of the scanned data from off, at most n of
// them, as yara's data functions (hash.md5(off, n), math.entropy(off, n))
// see them: a negative offset or length, or an offset not inside the data
// (the end included, so every range of empty data) is undefined; a length
// past the end is cut at the end.
func dataRange(sc *ScanContext, off, n int64) ([]byte, bool) {
	size := int64(len(sc.Data))
	if off < 0 || n < 0 || off >= size {
		return nil, false
	}
	if n > size-off {
		n = size - off
	}
	return sc.Data[off : off+n], true
}

// cString returns s up to its first NUL byte: what yara's functions that
// take a C string (string_argument) see of a string with NULs in it.
func cString(s []byte) []byte {
	for i, c := range s {
		if c == 0 {
			return s[:i]
		}
	}
	return s
}
