package yara

// stringModule is the "string" module of yara 4.3: string.to_int(s[,
// base]) and string.length(s). yara 4.2.3 does not have it.
type stringModule struct{ obj *Object }

func newStringModule() stringModule { return stringModule{stringModuleObject()} }

func (stringModule) Name() string { return "string" }

func (m stringModule) Declare() *Object { return m.obj }

func (m stringModule) Load(*ScanContext) (*Object, error) { return m.obj, nil }

func stringModuleObject() *Object {
	return structOf(
		member{"to_int", overloads(
			fn("s", KindInt, func(_ *ScanContext, a []Value) Value {
				return toInt(a[0].Str, 0)
			}),
			fn("si", KindInt, func(_ *ScanContext, a []Value) Value {
				// The base reaches strtoll as a C int.
				return toInt(a[0].Str, int64(int32(a[1].Int)))
			}),
		)},
		member{"length", overloads(
			fn("s", KindInt, func(_ *ScanContext, a []Value) Value {
				return intValue(int64(len(a[0].Str)))
			}),
		)},
	)
}

// toInt is string.to_int: s (up to its first NUL) parsed as C's strtoll
// does with base (0, or 2 to 36), undefined unless the whole string is one
// number that fits in 64 bits. Leading white space, a sign, and for base 0
// or 16 a 0x prefix are accepted; base 0 reads a leading 0 as octal.
func toInt(s []byte, base int64) Value {
	n, ok := parseCInt(cString(s), base)
	if !ok {
		return undefined(KindInt)
	}
	return intValue(n)
}

// parseCInt parses all of s as strtoll would, reporting failure where
// strtoll would set errno, find no digits, or stop before the end.
func parseCInt(s []byte, base int64) (int64, bool) {
	if base != 0 && (base < 2 || base > 36) {
		return 0, false
	}
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	// A 0x prefix counts only when a hex digit follows; otherwise strtoll
	// reads the 0 alone and stops at the x.
	if (base == 0 || base == 16) && i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' && digitVal(s[i+2]) < 16 {
		i += 2
		base = 16
	} else if base == 0 {
		base = 10
		if i < len(s) && s[i] == '0' {
			base = 8
		}
	}
	start := i
	// Accumulate the magnitude as uint64; the limit is 2^63 for negative
	// numbers and 2^63-1 for positive ones.
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	var v uint64
	over := false
	for ; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= int(base) {
			break
		}
		if !over {
			if v > (limit-uint64(d))/uint64(base) {
				over = true
			} else {
				v = v*uint64(base) + uint64(d)
			}
		}
	}
	if i == start || i != len(s) || over {
		return 0, false
	}
	if neg {
		return int64(-v), true
	}
	return int64(v), true
}

// digitVal is the value of c as a digit of base up to 36, or 36 if none.
func digitVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	}
	return 36
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}
