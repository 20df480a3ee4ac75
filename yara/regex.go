package yara

import (
	"context"
	"fmt"

	"github.com/glassav/glassav/match"
)

// Regex is a compiled YARA regular expression used outside string
// patterns: the right operand of `matches` and regular-expression
// arguments of module functions. It works on raw bytes.
type Regex struct {
	src  RegexpSource
	prog *match.Prog
	// m replaces prog for expressions too large for the priority
	// verifier: it finds the leftmost start with its shortest end.
	m *match.Matcher
}

// CompileRegex compiles src (the text between the slashes) with its flags.
func CompileRegex(src RegexpSource) (*Regex, error) {
	n, err := lowerRegexp(src.Source, reFlags{nocase: src.NoCase, dotAll: src.DotAll})
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression /%s/: %w", src.Source, err)
	}
	prog, err := match.CompileProg(n)
	if err == nil {
		return &Regex{src: src, prog: prog}, nil
	}
	m, err := match.Compile([]*match.Node{n}, match.Options{MaxHitsPerPattern: 1})
	if err != nil {
		return nil, fmt.Errorf("regular expression /%s/: %w", src.Source, err)
	}
	return &Regex{src: src, m: m}, nil
}

// Find returns the leftmost match of re in b, with yara's priority
// semantics for its end. Like yara's `matches`, it finds nothing in an
// empty b (not even for /a*/), and only matches that end within the first
// 4,096 bytes of b (anchors still see all of b): `s matches /x/` is false
// when the only x comes later.
func (re *Regex) Find(b []byte) (start, end int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if re.prog != nil {
		return re.prog.FindLimit(b, reScanLimit)
	}
	hits := match.NewHits()
	if len(b) > reScanLimit {
		b = b[:reScanLimit] // anchors at the end differ here, a rare case
	}
	if err := re.m.Scan(context.Background(), b, 1, hits); err != nil {
		return 0, 0, false
	}
	if hs := hits.Of(0); len(hs) > 0 {
		return int(hs[0].Start), int(hs[0].End), true
	}
	return 0, 0, false
}

// Match reports whether re matches b, as yara's `matches` operator does.
func (re *Regex) Match(b []byte) bool {
	_, _, ok := re.Find(b)
	return ok
}

// String returns the expression as written, between slashes, with its
// flags.
func (re *Regex) String() string {
	s := "/" + re.src.Source + "/"
	if re.src.NoCase {
		s += "i"
	}
	if re.src.DotAll {
		s += "s"
	}
	return s
}
