package yara

import (
	"fmt"

	"github.com/glassav/glassav/match"
)

// YARA's regular-expression dialect, as yara 4.2.3 behaves (each point
// checked against the yara binary):
//
//   - Escapes: \xHH, \n \t \r \f \a; \w \W \s \S \d \D (\s is
//     [\t\n\v\f\r ]); \b \B. Any other escaped byte stands for itself
//     (\v is 'v'), except \0-\9, rejected as backreferences.
//   - '.' is any byte but '\n' (any byte under the s flag); ^ and $ are the
//     start and end of the data, never of a line; quantifiers may not
//     follow them or \b \B.
//   - In a class, a leading ']' is literal, and any element followed by
//     '-' and a byte other than ']' starts a range, escapes included: the
//     range then uses the escape's own letter, so [\w-z] is [w-z].
//   - nocase (flag i or the modifier) folds ASCII letters, and folds a
//     class before negating it: [^a-c] excludes A-C too.
//   - wide: every byte matched must be followed by a zero byte, and \b \B
//     look at 16-bit units.
//   - \b holds, and \B fails, at the edges of the data whatever the byte
//     there.
//   - Match ends follow a backtracking engine's priorities (see
//     match.Prog); empty matches are never reported.

// reFlags are the flags a regular expression is lowered under.
type reFlags struct {
	nocase bool // i: ASCII letters match either case
	dotAll bool // s: '.' matches '\n' too
	wide   bool // the wide modifier: every byte matched is followed by a zero byte
}

// lowerRegexp validates src as yara does and lowers it into a byte-pattern
// tree.
func lowerRegexp(src string, f reFlags) (*match.Node, error) {
	if _, err := checkRegexp(src); err != nil {
		return nil, err
	}
	l := &reLowerer{src: src, f: f}
	n := l.alt()
	return n, nil
}

// reLowerer builds the tree of a regular expression that checkRegexp
// accepted; it relies on that and does not report errors.
type reLowerer struct {
	src string
	i   int
	f   reFlags
}

func (l *reLowerer) peek() int {
	if l.i < len(l.src) {
		return int(l.src[l.i])
	}
	return -1
}

func (l *reLowerer) alt() *match.Node {
	subs := []*match.Node{l.concat()}
	for l.peek() == '|' {
		l.i++
		subs = append(subs, l.concat())
	}
	if len(subs) == 1 {
		return subs[0]
	}
	return match.Alt(subs...)
}

func (l *reLowerer) concat() *match.Node {
	var subs []*match.Node
	for {
		c := l.peek()
		if c == -1 || c == '|' || c == ')' {
			break
		}
		n := l.single()
		subs = append(subs, l.quantifier(n))
	}
	switch len(subs) {
	case 0:
		return &match.Node{Op: match.OpEmpty}
	case 1:
		return subs[0]
	}
	return match.Cat(subs...)
}

// single lowers one atom: a group, a class, an escape or a byte.
func (l *reLowerer) single() *match.Node {
	c := l.peek()
	switch c {
	case '(':
		l.i++
		n := l.alt()
		l.i++ // ')'
		return n
	case '[':
		return l.class()
	case '\\':
		b, cls, as := l.escape()
		if as != 0 {

			return &match.Node{Op: match.OpAssert, Assert: as}
		}
		if cls != nil {
			return l.byteNode(*cls)
		}
		return l.lit(byte(b))
	case '.':
		l.i++
		any := match.AnyByte()
		if !l.f.dotAll {
			any[0] &^= 1 << '\n'
		}
		return l.byteNode(any)
	case '^':
		l.i++
		return &match.Node{Op: match.OpAssert, Assert: match.AssertBegin}
	case '$':
		l.i++
		return &match.Node{Op: match.OpAssert, Assert: match.AssertEnd}
	}
	l.i++
	return l.lit(byte(c))
}

// lit matches byte b, folded under the i flag.
func (l *reLowerer) lit(b byte) *match.Node {
	n := match.Lit([]byte{b})
	n.Fold = l.f.nocase && isAlpha(b)
	return l.widen(n)
}

// byteNode matches one byte of c, folded under the i flag.
func (l *reLowerer) byteNode(c match.Class) *match.Node {
	if l.f.nocase {
		c = foldClass(c)
	}
	return l.widen(match.Cls(c))
}

// widen appends the zero byte that follows every byte in a wide string.
func (l *reLowerer) widen(n *match.Node) *match.Node {
	if !l.f.wide {
		return n
	}
	return match.Cat(n, match.Lit([]byte{0}))
}

func (l *reLowerer) quantifier(n *match.Node) *match.Node {
	min, max := 0, 0
	switch c := l.peek(); c {
	case '*':
		min, max = 0, -1
		l.i++
	case '+':
		min, max = 1, -1
		l.i++
	case '?':
		min, max = 0, 1
		l.i++
	case '{':
		end, ok := (&reValidator{src: l.src}).repeatAt(l.i)
		if !ok {
			return n
		}
		min, max = parseRepeat(l.src[l.i+1 : end-1])
		l.i = end
	default:
		return n
	}
	greedy := true
	if l.peek() == '?' {
		l.i++
		greedy = false
	}
	return &match.Node{Op: match.OpRepeat, Sub: []*match.Node{n}, Min: min, Max: max, Greedy: greedy}
}

// parseRepeat reads "n", "n,", ",m" or "n,m" (already validated).
func parseRepeat(body string) (min, max int) {
	num := func(s string) (int, bool) {
		if s == "" {
			return 0, false
		}
		v := 0
		for k := 0; k < len(s); k++ {
			v = v*10 + int(s[k]-'0')
		}
		return v, true
	}
	for k := 0; k < len(body); k++ {
		if body[k] == ',' {
			min, _ = num(body[:k])
			hi, ok := num(body[k+1:])
			if !ok {
				return min, -1
			}
			return min, hi
		}
	}
	min, _ = num(body)
	return min, min
}

// escape lowers a backslash escape: a byte, a class, or an assertion.
func (l *reLowerer) escape() (b int, cls *match.Class, as match.Assertion) {
	l.i++ // '\\'
	c := l.peek()
	l.i++
	switch c {
	case 'x':
		b = hexVal(int(l.src[l.i]))<<4 | hexVal(int(l.src[l.i+1]))
		l.i += 2
		return b, nil, 0
	case 'w', 'W', 's', 'S', 'd', 'D':
		k := escapeClass(byte(c))
		return 0, &k, 0
	case 'b':
		if l.f.wide {
			return 0, nil, match.AssertWideWordBoundary
		}
		return 0, nil, match.AssertEdgeWordBoundary
	case 'B':
		if l.f.wide {
			return 0, nil, match.AssertWideNotWordBoundary
		}
		return 0, nil, match.AssertEdgeNotWordBoundary
	case 't':
		return '\t', nil, 0
	case 'n':
		return '\n', nil, 0
	case 'r':
		return '\r', nil, 0
	case 'f':
		return '\f', nil, 0
	case 'a':
		return 7, nil, 0
	}
	return c, nil, 0
}

// escapeClass returns the class of \w \W \s \S \d \D.
func escapeClass(c byte) match.Class {
	var k match.Class
	switch c | 0x20 {
	case 'w':
		k.AddRange('a', 'z')
		k.AddRange('A', 'Z')
		k.AddRange('0', '9')
		k.Add('_')
	case 's':
		k.AddRange('\t', '\r') // \t \n \v \f \r
		k.Add(' ')
	case 'd':
		k.AddRange('0', '9')
	}
	if c >= 'A' && c <= 'Z' {
		k.Negate()
	}
	return k
}

// class lowers [...].
func (l *reLowerer) class() *match.Node {
	k, neg, end, _ := parseClass(l.src, l.i)
	l.i = end
	// yara folds the class as written and negates afterwards: under
	// nocase, [^a-c] excludes A-C too.
	if l.f.nocase {
		k = foldClass(k)
	}
	if neg {
		k.Negate()
	}
	return l.widen(match.Cls(k))
}

// parseClass parses the class starting at src[i] == '[' as yara's lexer
// does: a leading '^' negates, a leading ']' is literal, and any element
// followed by '-' and a byte other than ']' starts a range, an escape
// standing for its own letter there (so [\w-z] is w..z). It returns the
// set as written, whether it is negated, and the offset after the closing
// ']'.
func parseClass(src string, i int) (k match.Class, neg bool, end int, err error) {
	i++ // '['
	if i < len(src) && src[i] == '^' {
		neg = true
		i++
	}
	first := true
	for {
		if i >= len(src) {
			return k, neg, i, fmt.Errorf("missing terminating ] for character class")
		}
		c := src[i]
		if c == ']' && !first {
			return k, neg, i + 1, nil
		}
		lo, set, next, err := classElem(src, i)
		if err != nil {
			return k, neg, i, err
		}
		if !(first && c == ']') && next+1 < len(src) && src[next] == '-' && src[next+1] != ']' {
			hi, _, after, err := classElem(src, next+1)
			if err != nil {
				return k, neg, i, err
			}
			if hi < lo {
				return k, neg, i, fmt.Errorf("bad character range")
			}
			k.AddRange(lo, hi)
			i = after
		} else {
			if set != nil {
				for w := range k {
					k[w] |= set[w]
				}
			} else {
				k.Add(lo)
			}
			i = next
		}
		first = false
	}
}

// classElem reads one element of a class at src[i]: a byte or an escape.
// val is the byte it stands for in a range; set is non-nil for the class
// escapes \w \W \s \S \d \D used on their own.
func classElem(src string, i int) (val byte, set *match.Class, next int, err error) {
	if src[i] != '\\' {
		return src[i], nil, i + 1, nil
	}
	if i+1 >= len(src) {
		return 0, nil, i, fmt.Errorf("illegal escape sequence")
	}
	c := src[i+1]
	switch c {
	case 'x':
		if i+3 >= len(src) || hexVal(int(src[i+2])) < 0 || hexVal(int(src[i+3])) < 0 {
			return 0, nil, i, fmt.Errorf("illegal escape sequence")
		}
		return byte(hexVal(int(src[i+2]))<<4 | hexVal(int(src[i+3]))), nil, i + 4, nil
	case 'w', 'W', 's', 'S', 'd', 'D':
		k := escapeClass(c)
		return c, &k, i + 2, nil
	}
	return escapedByte(c), nil, i + 2, nil
}

// escapedByte is the byte \c stands for: \n \t \r \f \a are control
// characters, any other c stands for itself (yara has no \v or \e).
func escapedByte(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case 'f':
		return '\f'
	case 'a':
		return 7
	}
	return c
}

// foldClass adds the other case of every ASCII letter in c.
func foldClass(c match.Class) match.Class {
	for b := 'A'; b <= 'Z'; b++ {
		if c.Has(byte(b)) || c.Has(byte(b|0x20)) {
			c.Add(byte(b))
			c.Add(byte(b | 0x20))
		}
	}
	return c
}

func isAlpha(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }
