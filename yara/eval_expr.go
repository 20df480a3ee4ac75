package yara

import (
	"bytes"
	"encoding/binary"
	"math"
)

// This file compiles condition expressions into closures. Each compile
// function returns the closure for the expression's static type, set by
// the checker; conversions between types follow yara's (integers widen to
// floats, strings are true when not empty).

func intConst(v int64) intFn { return func(*scanState) (int64, bool) { return v, true } }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// isObj reports whether e denotes a module structure, array, dictionary
// or function rather than a scalar.
func (c *compiler) isObj(e Expr) bool {
	if _, ok := e.(*Call); ok {
		return false
	}
	return c.objs[e] != nil
}

// bool compiles e used as a boolean.
func (c *compiler) bool(e Expr) intFn {
	switch e.Type() {
	case TypeBool, TypeInt:
		f := c.int(e)
		return func(s *scanState) (int64, bool) {
			v, ok := f(s)
			return b2i(v != 0), ok
		}
	case TypeFloat:
		f := c.float(e)
		return func(s *scanState) (int64, bool) {
			v, ok := f(s)
			return b2i(v != 0), ok
		}
	case TypeString:
		f := c.str(e)
		return func(s *scanState) (int64, bool) {
			v, ok := f(s)
			return b2i(len(v) > 0), ok
		}
	case TypeRegexp:
		return intConst(1)
	}
	if c.isObj(e) {
		f := c.obj(e)
		return func(s *scanState) (int64, bool) { return 1, f(s) != nil }
	}
	c.fail(e.Position(), "expression of unknown type used as a boolean")
	return nil
}

// float compiles a numeric e as a float.
func (c *compiler) float(e Expr) floatFn {
	switch e.Type() {
	case TypeInt, TypeBool:
		f := c.int(e)
		return func(s *scanState) (float64, bool) {
			v, ok := f(s)
			return float64(v), ok
		}
	case TypeFloat:
	default:
		c.fail(e.Position(), "float expected, got %s", e.Type())
	}
	switch e := e.(type) {
	case *FloatLit:
		v := e.Value
		return func(*scanState) (float64, bool) { return v, true }
	case *Ident:
		switch e.Kind {
		case IdentExternal:
			i := c.r.extIdx[e.Name]
			return func(s *scanState) (float64, bool) {
				v := &s.exts[i]
				if v.Kind == KindInt {
					return float64(v.Int), true
				}
				return v.Float, v.Kind == KindFloat
			}
		case IdentLoopVar:
			k := c.slot(e)
			return func(s *scanState) (float64, bool) { return s.vars[k].f, s.vars[k].def }
		}
	case *Field, *Index:
		o := c.obj(e)
		return func(s *scanState) (float64, bool) {
			x := o(s)
			if x == nil || !x.Defined || x.Kind != KindFloat || math.IsNaN(x.Float) {
				return 0, false
			}
			return x.Float, true
		}
	case *Call:
		f := c.call(e)
		return func(s *scanState) (float64, bool) {
			v := f(s)
			if v.Undefined || v.Kind != KindFloat || math.IsNaN(v.Float) {
				return 0, false
			}
			return v.Float, true
		}
	case *Unary:
		if e.Op == Minus {
			x := c.float(e.X)
			return func(s *scanState) (float64, bool) {
				v, ok := x(s)
				return -v, ok
			}
		}
	case *Binary:
		x, y := c.float(e.X), c.float(e.Y)
		var op func(a, b float64) float64
		switch e.Op {
		case Plus:
			op = func(a, b float64) float64 { return a + b }
		case Minus:
			op = func(a, b float64) float64 { return a - b }
		case Star:
			op = func(a, b float64) float64 { return a * b }
		case Backslash:
			op = func(a, b float64) float64 { return a / b }
		}
		if op != nil {
			return both(x, y, func(a, b float64) (float64, bool) { return op(a, b), true })
		}
	}
	c.fail(e.Position(), "internal error: float expression %T", e)
	return nil
}

// str compiles a string-valued e.
func (c *compiler) str(e Expr) strFn {
	if e.Type() != TypeString {
		c.fail(e.Position(), "string expected, got %s", e.Type())
	}
	switch e := e.(type) {
	case *StringLit:
		v := []byte(e.Value)
		return func(*scanState) ([]byte, bool) { return v, true }
	case *Ident:
		switch e.Kind {
		case IdentExternal:
			i := c.r.extIdx[e.Name]
			return func(s *scanState) ([]byte, bool) {
				v := &s.exts[i]
				return v.Str, v.Kind == KindString
			}
		case IdentLoopVar:
			k := c.slot(e)
			return func(s *scanState) ([]byte, bool) { return s.vars[k].s, s.vars[k].def }
		}
	case *Field, *Index:
		o := c.obj(e)
		return func(s *scanState) ([]byte, bool) {
			x := o(s)
			if x == nil || !x.Defined || x.Kind != KindString {
				return nil, false
			}
			return x.Str, true
		}
	case *Call:
		f := c.call(e)
		return func(s *scanState) ([]byte, bool) {
			v := f(s)
			if v.Undefined || v.Kind != KindString {
				return nil, false
			}
			return v.Str, true
		}
	}
	c.fail(e.Position(), "internal error: string expression %T", e)
	return nil
}

// slot returns the variable slot of loop variable e.
func (c *compiler) slot(e *Ident) int {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].name == e.Name {
			return c.scope[i].slot
		}
	}
	c.fail(e.P, "internal error: loop variable %q not in scope", e.Name)
	return 0
}

// obj compiles e denoting a module value: the object at run time, nil
// when undefined.
func (c *compiler) obj(e Expr) objFn {
	switch e := e.(type) {
	case *Ident:
		switch e.Kind {
		case IdentModule:
			name := e.Name
			return func(s *scanState) *Object { return s.module(name) }
		case IdentLoopVar:
			k := c.slot(e)
			return func(s *scanState) *Object {
				if !s.vars[k].def {
					return nil
				}
				return s.vars[k].o
			}
		}
	case *Field:
		x := c.obj(e.X)
		name := e.Name
		return func(s *scanState) *Object {
			o := x(s)
			if o == nil || o.Fields == nil {
				return nil
			}
			return o.Fields[name]
		}
	case *Index:
		x := c.obj(e.X)
		if d := c.objs[e.X]; d != nil && d.Kind == KindDict {
			k := c.str(e.Index)
			return func(s *scanState) *Object {
				o := x(s)
				if o == nil {
					return nil
				}
				key, ok := k(s)
				if !ok || o.Dict == nil {
					return nil
				}
				return o.Dict[string(key)]
			}
		}
		i := c.int(e.Index)
		return func(s *scanState) *Object {
			o := x(s)
			if o == nil {
				return nil
			}
			n, ok := i(s)
			if !ok || n < 0 || n >= int64(len(o.Items)) {
				return nil
			}
			return o.Items[n]
		}
	}
	c.fail(e.Position(), "internal error: module value %T", e)
	return nil
}

// rootModule returns the module an access path starts from, or "".
func rootModule(e Expr) string {
	for {
		switch x := e.(type) {
		case *Ident:
			if x.Kind == IdentModule {
				return x.Name
			}
			return ""
		case *Field:
			e = x.X
		case *Index:
			e = x.X
		case *Call:
			e = x.Fn
		default:
			return ""
		}
	}
}

// call compiles a module function call with the overload the checker
// chose.
func (c *compiler) call(e *Call) func(*scanState) Value {
	d := c.objs[e]
	if d == nil || len(d.Funcs) != 1 {
		c.fail(e.P, "internal error: unresolved function call")
	}
	fn := d.Funcs[0]
	mod := rootModule(e.Fn)
	args := make([]func(*scanState) Value, len(e.Args))
	for i, a := range e.Args {
		args[i] = c.value(a)
	}
	fnObj := c.obj(e.Fn)
	declared := c.objs[e.Fn]
	return func(s *scanState) Value {
		loaded := fnObj(s)
		if loaded == nil && mod != "" && s.module(mod) == nil {
			return Value{Kind: fn.Ret, Undefined: true}
		}
		// A function inside an array item (pe.signatures[i].valid_on)
		// reads its own structure, so the loaded item's overload is
		// called rather than the declared one.
		call := fn.Call
		if loaded != nil && loaded != declared && loaded.Kind == KindFunc {
			for _, o := range loaded.Funcs {
				if o.Args == fn.Args {
					call = o.Call
					break
				}
			}
		}
		vals := make([]Value, len(args))
		for i, a := range args {
			vals[i] = a(s)
			if vals[i].Undefined {
				return Value{Kind: fn.Ret, Undefined: true}
			}
		}
		sc := s.shared
		if mod != "" {
			sc = s.scanContext(mod)
		}
		return call(sc, vals)
	}
}

// value compiles e into a closure producing a Value (function arguments).
func (c *compiler) value(e Expr) func(*scanState) Value {
	switch e.Type() {
	case TypeInt, TypeBool:
		f := c.int(e)
		return func(s *scanState) Value {
			v, ok := f(s)
			return Value{Kind: KindInt, Int: v, Undefined: !ok}
		}
	case TypeFloat:
		f := c.float(e)
		return func(s *scanState) Value {
			v, ok := f(s)
			return Value{Kind: KindFloat, Float: v, Undefined: !ok}
		}
	case TypeString:
		f := c.str(e)
		return func(s *scanState) Value {
			v, ok := f(s)
			return Value{Kind: KindString, Str: v, Undefined: !ok}
		}
	case TypeRegexp:
		re := c.regexp(e)
		return func(*scanState) Value { return Value{Re: re} }
	}
	c.fail(e.Position(), "wrong type for a function argument")
	return nil
}

func (c *compiler) regexp(e Expr) *Regex {
	lit, ok := e.(*RegexpLit)
	if !ok {
		c.fail(e.Position(), "regular expression expected")
	}
	re, err := CompileRegex(lit.Re)
	if err != nil {
		c.fail(lit.P, "invalid regular expression: %v", err)
	}
	return re
}

// int compiles an integer or boolean e.
func (c *compiler) int(e Expr) intFn {
	switch e.Type() {
	case TypeInt, TypeBool:
	default:
		c.fail(e.Position(), "integer expected, got %s", e.Type())
	}
	switch e := e.(type) {
	case *BoolLit:
		return intConst(b2i(e.Value))
	case *IntLit:
		return intConst(e.Value)
	case *Keyword:
		if e.Kind == Filesize {
			return func(s *scanState) (int64, bool) { return int64(len(s.data)), true }
		}
		return func(s *scanState) (int64, bool) {
			if s.opt.EntryPoint != nil {
				return *s.opt.EntryPoint, true
			}
			return entryPoint(s.data)
		}
	case *Ident:
		switch e.Kind {
		case IdentRule:
			i, ok := c.ruleIdx[e.Rule]
			if !ok {
				// The rule itself: not matched while its own condition runs.
				i = len(c.r.rules)
			}
			return func(s *scanState) (int64, bool) { return b2i(s.matched[i]), true }
		case IdentExternal:
			i := c.r.extIdx[e.Name]
			return func(s *scanState) (int64, bool) {
				v := &s.exts[i]
				return v.Int, v.Kind == KindInt
			}
		case IdentLoopVar:
			k := c.slot(e)
			return func(s *scanState) (int64, bool) { return s.vars[k].i, s.vars[k].def }
		}
	case *Field, *Index:
		o := c.obj(e)
		return func(s *scanState) (int64, bool) {
			x := o(s)
			if x == nil || !x.Defined || x.Kind != KindInt {
				return 0, false
			}
			return x.Int, true
		}
	case *Call:
		f := c.call(e)
		return func(s *scanState) (int64, bool) {
			v := f(s)
			if v.Undefined || v.Kind != KindInt {
				return 0, false
			}
			return v.Int, true
		}
	case *StringRef:
		return c.stringRef(e)
	case *Read:
		return c.read(e)
	case *Unary:
		return c.unary(e)
	case *Binary:
		return c.binary(e)
	case *Of:
		return c.of(e)
	case *ForOf:
		return c.forOf(e)
	case *ForIn:
		return c.forIn(e)
	}
	c.fail(e.Position(), "internal error: integer expression %T", e)
	return nil
}

func (c *compiler) read(e *Read) intFn {
	n, signed, be := e.Size()
	off := c.int(e.Offset)
	return func(s *scanState) (int64, bool) {
		o, ok := off(s)
		if !ok || o < 0 || o > int64(len(s.data))-int64(n) {
			return 0, false
		}
		b := s.data[o : o+int64(n)]
		var u uint64
		switch {
		case n == 1:
			u = uint64(b[0])
		case n == 2 && be:
			u = uint64(binary.BigEndian.Uint16(b))
		case n == 2:
			u = uint64(binary.LittleEndian.Uint16(b))
		case be:
			u = uint64(binary.BigEndian.Uint32(b))
		default:
			u = uint64(binary.LittleEndian.Uint32(b))
		}
		if signed {
			shift := 64 - 8*uint(n)
			return int64(u<<shift) >> shift, true
		}
		return int64(u), true
	}
}

func (c *compiler) unary(e *Unary) intFn {
	switch e.Op {
	case KwNot:
		x := c.bool(e.X)
		return func(s *scanState) (int64, bool) {
			v, ok := x(s)
			return b2i(v == 0), ok
		}
	case KwDefined:
		x := c.defined(e.X)
		return func(s *scanState) (int64, bool) { return b2i(x(s)), true }
	case Minus:
		x := c.int(e.X)
		return func(s *scanState) (int64, bool) {
			v, ok := x(s)
			return -v, ok
		}
	case Tilde:
		x := c.int(e.X)
		return func(s *scanState) (int64, bool) {
			v, ok := x(s)
			return ^v, ok
		}
	}
	c.fail(e.P, "internal error: unary operator %v", e.Op)
	return nil
}

// defined compiles `defined e` for e of any type.
func (c *compiler) defined(e Expr) func(*scanState) bool {
	switch e.Type() {
	case TypeFloat:
		f := c.float(e)
		return func(s *scanState) bool { _, ok := f(s); return ok }
	case TypeString:
		f := c.str(e)
		return func(s *scanState) bool { _, ok := f(s); return ok }
	}
	f := c.bool(e)
	return func(s *scanState) bool { _, ok := f(s); return ok }
}

func (c *compiler) binary(e *Binary) intFn {
	switch e.Op {
	case KwAnd:
		// yara's and/or treat an undefined operand as false (checked with
		// yara 4.2.3: `not (undefined and true)` holds), short-circuiting
		// like C.
		x, y := c.bool(e.X), c.bool(e.Y)
		return func(s *scanState) (int64, bool) {
			if a, ok := x(s); !ok || a == 0 {
				return 0, true
			}
			b, ok := y(s)
			return b2i(ok && b != 0), true
		}
	case KwOr:
		x, y := c.bool(e.X), c.bool(e.Y)
		return func(s *scanState) (int64, bool) {
			if a, ok := x(s); ok && a != 0 {
				return 1, true
			}
			b, ok := y(s)
			return b2i(ok && b != 0), true
		}
	case Lt, Le, Gt, Ge, Eq, Ne:
		return c.compare(e)
	case KwContains, KwIContains, KwStartsWith, KwIStartsWith, KwEndsWith, KwIEndsWith, KwIEquals:
		x, y := c.str(e.X), c.str(e.Y)
		var op func(a, b []byte) bool
		switch e.Op {
		case KwContains:
			op = bytes.Contains
		case KwIContains:
			op = func(a, b []byte) bool { return bytes.Contains(lowerASCII(a), lowerASCII(b)) }
		case KwStartsWith:
			op = bytes.HasPrefix
		case KwIStartsWith:
			op = func(a, b []byte) bool { return len(a) >= len(b) && equalFoldASCII(a[:len(b)], b) }
		case KwEndsWith:
			op = bytes.HasSuffix
		case KwIEndsWith:
			op = func(a, b []byte) bool { return len(a) >= len(b) && equalFoldASCII(a[len(a)-len(b):], b) }
		case KwIEquals:
			op = equalFoldASCII
		}
		return both(x, y, func(a, b []byte) (int64, bool) { return b2i(op(a, b)), true })
	case KwMatches:
		x := c.str(e.X)
		re := c.regexp(e.Y)
		return func(s *scanState) (int64, bool) {
			a, ok := x(s)
			if !ok {
				return 0, false
			}
			if len(a) == 0 {
				return 0, true
			}
			_, _, found := re.Find(a)
			return b2i(found), true
		}
	}
	if e.Type() == TypeFloat {
		c.fail(e.P, "internal error: float arithmetic compiled as integer")
	}
	x, y := c.int(e.X), c.int(e.Y)
	var op func(a, b int64) (int64, bool)
	switch e.Op {
	// yara 4.2.3 wraps on overflow at run time (checked: `defined
	// (0x7FFFFFFFFFFFFFFF + filesize)` holds); only constant folding
	// rejects overflow.
	case Plus:
		op = func(a, b int64) (int64, bool) { return a + b, true }
	case Minus:
		op = func(a, b int64) (int64, bool) { return a - b, true }
	case Star:
		op = func(a, b int64) (int64, bool) { return a * b, true }
	case Backslash:
		op = func(a, b int64) (int64, bool) {
			if b == 0 || (a == math.MinInt64 && b == -1) {
				return 0, false
			}
			return a / b, true
		}
	case Percent:
		op = func(a, b int64) (int64, bool) {
			if b == 0 || (a == math.MinInt64 && b == -1) {
				return 0, false
			}
			return a % b, true
		}
	case Amp:
		op = func(a, b int64) (int64, bool) { return a & b, true }
	case Pipe:
		op = func(a, b int64) (int64, bool) { return a | b, true }
	case Caret:
		op = func(a, b int64) (int64, bool) { return a ^ b, true }
	case Shl:
		op = func(a, b int64) (int64, bool) {
			switch {
			case b < 0:
				return 0, false
			case b >= 64:
				return 0, true
			}
			return a << uint(b), true
		}
	case Shr:
		op = func(a, b int64) (int64, bool) {
			switch {
			case b < 0:
				return 0, false
			case b >= 64:
				return 0, true
			}
			return a >> uint(b), true
		}
	default:
		c.fail(e.P, "internal error: binary operator %v", e.Op)
	}
	return both(x, y, op)
}

// compare compiles a comparison: strings byte-wise, numbers as floats
// when either side is a float (equal within DBL_EPSILON, as yara).
func (c *compiler) compare(e *Binary) intFn {
	op := e.Op
	res := func(r int) bool {
		switch op {
		case Lt:
			return r < 0
		case Le:
			return r <= 0
		case Gt:
			return r > 0
		case Ge:
			return r >= 0
		case Eq:
			return r == 0
		}
		return r != 0
	}
	xt, yt := e.X.Type(), e.Y.Type()
	switch {
	case xt == TypeString && yt == TypeString:
		return both(c.str(e.X), c.str(e.Y), func(a, b []byte) (int64, bool) {
			return b2i(res(bytes.Compare(a, b))), true
		})
	case xt == TypeFloat || yt == TypeFloat:
		return both(c.float(e.X), c.float(e.Y), func(a, b float64) (int64, bool) {
			// yara compares floats for equality within DBL_EPSILON and
			// orders them plainly.
			r := 0
			switch {
			case (op == Eq || op == Ne) && math.Abs(a-b) < dblEpsilon:
			case a < b:
				r = -1
			case a > b:
				r = 1
			}
			return b2i(res(r)), true
		})
	}
	return both(c.int(e.X), c.int(e.Y), func(a, b int64) (int64, bool) {
		r := 0
		if a < b {
			r = -1
		} else if a > b {
			r = 1
		}
		return b2i(res(r)), true
	})
}

// both evaluates x, then y, and applies op: an undefined operand makes
// the result undefined, as in every binary operator of yara except and
// and or.
func both[A, B, R any](x func(*scanState) (A, bool), y func(*scanState) (B, bool), op func(A, B) (R, bool)) func(*scanState) (R, bool) {
	return func(s *scanState) (R, bool) {
		var zero R
		a, ok := x(s)
		if !ok {
			return zero, false
		}
		b, ok := y(s)
		if !ok {
			return zero, false
		}
		return op(a, b)
	}
}

// dblEpsilon is C's DBL_EPSILON.
const dblEpsilon = 2.220446049250313e-16

func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		out[i] = x
	}
	return out
}

func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
