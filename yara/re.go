package yara

import (
	"fmt"
	"strings"
)

// Regular-expression limits, as in yara.
const (
	maxReRange = 32767 // RE_MAX_RANGE: largest {n,m} bound
	maxReDepth = 1000  // group nesting
)

// ValidateRegexp reports whether src (the text between the slashes) is a
// regular expression yara 4.2 accepts. It checks syntax only; compiling to a
// byte-pattern tree is the lowering stage's job.
func ValidateRegexp(src string) error {
	_, err := checkRegexp(src)
	return err
}

// checkRegexp validates src and reports whether it repeats '.' without an
// upper bound (.*, .+, .{n,}), which yara warns about.
func checkRegexp(src string) (unboundedDot bool, err error) {
	v := &reValidator{src: src}
	if err := v.alt(0); err != nil {
		return false, err
	}
	if v.i < len(v.src) {
		return false, v.errorf("syntax error")
	}
	if v.greedy && v.lazy {
		return false, fmt.Errorf("greedy and ungreedy quantifiers can't be mixed in a regular expression")
	}
	return v.unboundedDot, nil
}

type reValidator struct {
	src          string
	i            int
	greedy, lazy bool
	unboundedDot bool
}

func (v *reValidator) errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

func (v *reValidator) peek() int {
	if v.i < len(v.src) {
		return int(v.src[v.i])
	}
	return -1
}

// alt parses concat ('|' concat?)*; only the first alternative must be
// non-empty, as in yara's grammar.
func (v *reValidator) alt(depth int) error {
	if depth > maxReDepth {
		return v.errorf("nested too deeply")
	}
	if err := v.concat(depth, true); err != nil {
		return err
	}
	for v.peek() == '|' {
		v.i++
		if err := v.concat(depth, false); err != nil {
			return err
		}
	}
	return nil
}

func (v *reValidator) concat(depth int, nonEmpty bool) error {
	n := 0
	for {
		c := v.peek()
		if c == -1 || c == '|' || c == ')' {
			if n == 0 && nonEmpty {
				return v.errorf("syntax error")
			}
			return nil
		}
		dot := v.peek() == '.'
		anchor := v.isAnchor()
		if err := v.single(depth); err != nil {
			return err
		}
		start := v.i
		if anchor && v.quantifierNext() {
			// yara's grammar repeats only characters, classes and
			// groups: ^* or \b{2} are syntax errors.
			return v.errorf("syntax error")
		}
		if err := v.quantifier(); err != nil {
			return err
		}
		if dot && v.i > start {
			q := v.src[start:v.i]
			if q[0] == '*' || q[0] == '+' || strings.HasSuffix(strings.TrimRight(q, "?"), ",}") {
				v.unboundedDot = true
			}
		}
		n++
	}
}

// isAnchor reports whether the next atom is ^, $, \b or \B.
func (v *reValidator) isAnchor() bool {
	switch c := v.peek(); {
	case c == '^' || c == '$':
		return true
	case c == '\\' && v.i+1 < len(v.src):
		return v.src[v.i+1] == 'b' || v.src[v.i+1] == 'B'
	}
	return false
}

// quantifierNext reports whether a quantifier follows.
func (v *reValidator) quantifierNext() bool {
	switch v.peek() {
	case '*', '+', '?':
		return true
	case '{':
		_, ok := v.repeatAt(v.i)
		return ok
	}
	return false
}

func (v *reValidator) single(depth int) error {
	c := v.peek()
	switch c {
	case '(':
		v.i++
		if err := v.alt(depth + 1); err != nil {
			return err
		}
		if v.peek() != ')' {
			return v.errorf("syntax error")
		}
		v.i++
	case '[':
		return v.class()
	case '\\':
		_, err := v.escape(false)
		return err
	case '*', '+', '?':
		return v.errorf("nothing to repeat")
	case '{':
		if _, ok := v.repeatAt(v.i); ok {
			return v.errorf("nothing to repeat")
		}
		v.i++
	default:
		v.i++
	}
	return nil
}

// repeatAt parses {n}, {n,}, {,m}, {n,m} at i, returning its end; ok is
// false when the text there is not a repetition (then '{' is a literal).
func (v *reValidator) repeatAt(i int) (end int, ok bool) {
	j := i + 1
	digits := func() (int, int) { // value (capped), count
		val, n := 0, 0
		for j < len(v.src) && isDigit(int(v.src[j])) {
			if val <= maxReRange*10 {
				val = val*10 + int(v.src[j]-'0')
			}
			j++
			n++
		}
		return val, n
	}
	_, n1 := digits()
	if j < len(v.src) && v.src[j] == '}' && n1 > 0 {
		return j + 1, true
	}
	if j >= len(v.src) || v.src[j] != ',' {
		return 0, false
	}
	j++
	digits()
	if j >= len(v.src) || v.src[j] != '}' {
		return 0, false
	}
	return j + 1, true
}

func (v *reValidator) quantifier() error {
	quantified := false
	for {
		c := v.peek()
		switch c {
		case '*', '+', '?':
			v.i++
		case '{':
			end, ok := v.repeatAt(v.i)
			if !ok {
				return nil
			}
			if err := v.checkRepeat(v.src[v.i+1 : end-1]); err != nil {
				return err
			}
			v.i = end
		default:
			return nil
		}
		if quantified {
			return v.errorf("nothing to repeat")
		}
		quantified = true
		if v.peek() == '?' {
			v.i++
			v.lazy = true
		} else {
			v.greedy = true
		}
	}
}

// checkRepeat checks the bounds of "n", "n,", ",m" or "n,m".
func (v *reValidator) checkRepeat(body string) error {
	lo, hi, comma := -1, -1, false
	val := -1
	for k := 0; k < len(body); k++ {
		c := body[k]
		if c == ',' {
			lo, val, comma = val, -1, true
			continue
		}
		if val < 0 {
			val = 0
		}
		if val <= maxReRange {
			val = val*10 + int(c-'0')
		}
	}
	if comma {
		hi = val
	} else {
		lo, hi = val, val
	}
	if lo > maxReRange || hi > maxReRange {
		return v.errorf("bad repeat interval")
	}
	if hi >= 0 && lo > hi {
		return v.errorf("bad repeat interval")
	}
	if hi == 0 {
		return v.errorf("bad repeat interval")
	}
	return nil
}

// escape parses a backslash escape; in classes it returns the byte for
// ranges (-1 for class escapes like \w).
func (v *reValidator) escape(inClass bool) (int, error) {
	v.i++ // '\\'
	c := v.peek()
	if c == -1 {
		return 0, v.errorf("illegal escape sequence")
	}
	v.i++
	switch c {
	case 'x':
		if v.i+2 > len(v.src) || hexVal(int(v.src[v.i])) < 0 || hexVal(int(v.src[v.i+1])) < 0 {
			return 0, v.errorf("illegal escape sequence")
		}
		b := hexVal(int(v.src[v.i]))<<4 | hexVal(int(v.src[v.i+1]))
		v.i += 2
		return b, nil
	case 'w', 'W', 's', 'S', 'd', 'D':
		return -1, nil
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 0, v.errorf("backreferences are not allowed")
	case 'b', 'B':
		if inClass {
			return 0, v.errorf("illegal escape sequence in class")
		}
		return -1, nil
	case 't':
		return '\t', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 'f':
		return '\f', nil
	case 'a':
		return 7, nil
	}
	return c, nil
}

// class parses [...] (see parseClass).
func (v *reValidator) class() error {
	_, _, end, err := parseClass(v.src, v.i)
	v.i = end
	return err
}
