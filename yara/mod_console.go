package yara

import (
	"math"
	"strconv"
)

// consoleModule is yara's "console" module: log and hex print a value
// (optionally after a message) when the condition evaluates them, and are
// always true. Each call sends one line, without its newline, to
// ScanContext.Console.
//
// The text is yara's: strings with every byte that is not printable ASCII
// written as \xHH, integers in decimal (hex: 0x and lower-case hex digits
// of the 64-bit two's complement), floats as C's %f (six decimals, inf,
// nan). A message argument ends at its first NUL byte, as in yara.
type consoleModule struct{ obj *Object }

func newConsoleModule() consoleModule { return consoleModule{consoleObject()} }

func (consoleModule) Name() string { return "console" }

func (m consoleModule) Declare() *Object { return m.obj }

func (m consoleModule) Load(*ScanContext) (*Object, error) { return m.obj, nil }

func consoleObject() *Object {
	return structOf(
		member{"log", overloads(
			logFunc("s", func(a []Value) []byte { return appendEscaped(nil, a[0].Str) }),
			logFunc("ss", func(a []Value) []byte { return appendEscaped(msg(a), a[1].Str) }),
			logFunc("i", func(a []Value) []byte { return strconv.AppendInt(nil, a[0].Int, 10) }),
			logFunc("si", func(a []Value) []byte { return strconv.AppendInt(msg(a), a[1].Int, 10) }),
			logFunc("f", func(a []Value) []byte { return appendCFloat(nil, a[0].Float) }),
			logFunc("sf", func(a []Value) []byte { return appendCFloat(msg(a), a[1].Float) }),
		)},
		member{"hex", overloads(
			logFunc("i", func(a []Value) []byte { return appendHex(nil, a[0].Int) }),
			logFunc("si", func(a []Value) []byte { return appendHex(msg(a), a[1].Int) }),
		)},
	)
}

// logFunc declares an overload that prints what text makes of its
// arguments and returns true.
func logFunc(args string, text func(a []Value) []byte) *Func {
	return fn(args, KindInt, func(sc *ScanContext, a []Value) Value {
		if sc != nil && sc.Console != nil {
			sc.Console(string(text(a)))
		}
		return intValue(1)
	})
}

// msg returns a copy of the message argument (the first), cut at its
// first NUL.
func msg(a []Value) []byte { return append([]byte(nil), cString(a[0].Str)...) }

// appendEscaped appends s with the bytes C's isprint rejects (outside
// 0x20..0x7e) written as \xHH.
func appendEscaped(dst, s []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range s {
		if c >= 0x20 && c <= 0x7e {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '\\', 'x', digits[c>>4], digits[c&15])
	}
	return dst
}

// appendHex appends i as printf's "0x%llx".
func appendHex(dst []byte, i int64) []byte {
	return strconv.AppendUint(append(dst, "0x"...), uint64(i), 16)
}

// appendCFloat appends f as printf's "%f" in the C locale.
func appendCFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, f, 'f', 6, 64)
}
