package clamav

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/glassav/glassav/match"
)

// Limits on body signatures. ClamAV reads database lines into fixed buffers;
// these bounds keep a hostile database from making the parser allocate or
// recurse without end.
const (
	maxHexText     = 64 << 10 // characters of one body signature as written
	maxHexExpanded = 1 << 20  // characters after {n} gaps are expanded to ??
	maxAltNest     = 15       // nesting of generic alternatives (ClamAV's limit)
	maxAlts        = 4096     // alternatives in one (..|..) group, after expansion
	maxBracketGap  = 32       // largest [n-m] distance (ClamAV's AC_CH_MAXDIST)
	minBMLen       = 3        // a purely static signature in ClamAV's Boyer-Moore matcher
	minACDepth     = 2        // ClamAV's Aho-Corasick minimum depth
)

// ErrUnsupported marks a construct ClamAV accepts that glassav cannot
// express yet. A loader skips the signature with a warning instead of
// failing the load, because clamscan loads it.
var ErrUnsupported = errors.New("unsupported")

// hexOpts are the loader context that changes how ClamAV accepts a body
// signature.
type hexOpts struct {
	// bm: a signature without wildcards would go to ClamAV's Boyer-Moore
	// matcher, which needs at least 3 bytes.
	bm bool
	// nocase is the ::i modifier: literals fold ASCII case.
	nocase bool
	// modified: the logical subsignature has ::i ::w ::f or ::a, which
	// makes ClamAV treat fixed alternatives as generic ones (which cannot
	// be negated).
	modified bool
	// prefilter: the target type's matcher has ClamAV's shift-or
	// prefilter (targets 0, 1, 4 and 7), which rejects patterns it cannot
	// index.
	prefilter bool
}

// hasPrefilter reports whether ClamAV builds its shift-or prefilter for a
// target type's matcher (verified with clamscan for targets 0..14).
func hasPrefilter(target int) bool {
	return target == 0 || target == 1 || target == 4 || target == 7
}

// ParseHex parses ClamAV body-signature hex syntax (as in .ndb, .ldb
// subsignatures, .db and .ftm) into a pattern tree, and rejects what
// ClamAV's loader rejects for a signature in its Aho-Corasick matcher: parts
// (between * and {n-m} gaps) without two consecutive static bytes, parts
// shorter than two elements, [n-m] between two multi-byte sides, negated
// generic alternatives, and so on.
func ParseHex(s string) (*match.Node, error) { return parseHex(s, hexOpts{prefilter: true}) }

func parseHex(s string, o hexOpts) (*match.Node, error) {
	if len(s) == 0 {
		return nil, errors.New("empty body signature")
	}
	if len(s) > maxHexText {
		return nil, fmt.Errorf("body signature longer than %d characters", maxHexText)
	}
	s, err := expandSmallGaps(s)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(s, "{*") {
		return parseSplit(s, o)
	}
	if o.bm && !o.modified && !strings.ContainsAny(s, "?([") {
		// ClamAV's Boyer-Moore path: plain hex, at least 3 bytes.
		b, err := decodeStatic(s)
		if err != nil {
			return nil, err
		}
		if len(b) < minBMLen {
			return nil, fmt.Errorf("static signature of %d bytes is too short (ClamAV needs %d)", len(b), minBMLen)
		}
		return match.Lit(b), nil
	}
	return parsePart(s, o)
}

// expandSmallGaps rewrites leading {n} gaps with 0 < n < 128 into n "??",
// as ClamAV does before splitting: it expands the first '{' while that one
// is such a gap, and leaves the rest to the split.
func expandSmallGaps(s string) (string, error) {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return s, nil
		}
		n, width, ok := scanBraceCount(s[i:])
		if !ok || n <= 0 || n >= 128 {
			return s, nil
		}
		s = s[:i] + strings.Repeat("??", n) + s[i+width:]
		if len(s) > maxHexExpanded {
			return "", fmt.Errorf("body signature longer than %d characters after expanding {n}", maxHexExpanded)
		}
	}
}

// scanBraceCount reads "{n}" the way C's sscanf("%c%u%c") does (spaces and
// a '+' before the digits are allowed) and returns n and the width of the
// text up to and including the first '}'.
func scanBraceCount(s string) (n, width int, ok bool) {
	i := 1
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && s[i] == '+' {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i || j >= len(s) || s[j] != '}' || j-i > 6 {
		return 0, 0, false
	}
	v, _ := strconv.Atoi(s[i:j])
	return v, j + 1, true
}

// parseSplit handles signatures split into parts by '*' and '{...}' gaps;
// each part is an Aho-Corasick pattern of its own in ClamAV.
func parseSplit(s string, o hexOpts) (*match.Node, error) {
	var subs []*match.Node
	var unsupported error // the first part glassav cannot express
	nest := 0
	start := 0
	part := func(end int) error {
		p := s[start:end]
		if p == "" {
			return errors.New("empty part next to '*' or '{}' gap")
		}
		n, err := parsePart(p, o)
		if errors.Is(err, ErrUnsupported) {
			if unsupported == nil {
				unsupported = err
			}
			return nil
		}
		if err != nil {
			return err
		}
		subs = append(subs, n)
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			nest++
		case ')':
			nest--
		case '*':
			if nest > 0 {
				return nil, errors.New("'*' inside an alternative")
			}
			if err := part(i); err != nil {
				return nil, err
			}
			subs = append(subs, match.Gap(0, -1))
			start = i + 1
		case '{':
			if nest > 0 {
				return nil, errors.New("ranged gap {..} inside an alternative")
			}
			if err := part(i); err != nil {
				return nil, err
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return nil, errors.New("missing '}'")
			}
			g, err := parseGap(s[i+1 : i+j])
			if err != nil {
				return nil, err
			}
			subs = append(subs, g)
			i += j
			start = i + 1
		}
	}
	if err := part(len(s)); err != nil {
		return nil, err
	}
	if unsupported != nil {
		return nil, unsupported
	}
	return match.Cat(subs...), nil
}

// parseGap parses the inside of a {..} gap that splits a signature: n, -n,
// n-, n-m. ClamAV reads a 0 bound as "no bound", so {0} and {-0} are '*';
// a range with min > max never matches.
func parseGap(g string) (*match.Node, error) {
	bad := fmt.Errorf("invalid gap {%s}", g)
	if !strings.Contains(g, "-") {
		if !isNumber(g) {
			return nil, bad
		}
		n := atoiSat(g)
		if n == 0 {
			return match.Gap(0, -1), nil
		}
		return match.Gap(n, n), nil
	}
	// ClamAV splits at '-' by position: "-5" is (none, 5), "5-" is (5, none).
	fields := strings.Split(g, "-")
	if len(fields) > 3 || (len(fields) == 3 && fields[2] != "") {
		return nil, bad
	}
	lo, hi := 0, 0
	if fields[0] != "" {
		if !isNumber(fields[0]) {
			return nil, bad
		}
		lo = atoiSat(fields[0])
	}
	if len(fields) > 1 && fields[1] != "" {
		if !isNumber(fields[1]) {
			return nil, bad
		}
		hi = atoiSat(fields[1])
	}
	switch {
	case hi == 0:
		return match.Gap(lo, -1), nil
	case lo > hi:
		return match.Cls(match.Class{}), nil // never matches, as in ClamAV
	}
	return match.Gap(lo, hi), nil
}

// elemKind is the kind of one element of an Aho-Corasick part.
type elemKind uint8

const (
	eByte     elemKind = iota // static byte
	eNibHi                    // a?
	eNibLo                    // ?a
	eAny                      // ??
	eAltChar                  // (aa|bb) one-byte alternatives
	eAltFixed                 // (aabb|ccdd) fixed-length alternatives
	eAltGen                   // generic alternatives
	eMark                     // (B) (L) (W) inside a pattern: consumes one byte of a class
)

type elem struct {
	kind elemKind
	b    byte
	neg  bool
	set  match.Class // eAltChar, eMark
	strs [][]byte    // eAltFixed
	node *match.Node // eAltGen
}

// special reports whether ClamAV stores e as a "special" (a parenthesised
// construct) and, if so, whether it is a one-byte alternative, the only
// special its prefilter can use.
func (e elem) special() (isSpecial, altChar bool) {
	switch e.kind {
	case eAltChar:
		return true, true
	case eAltFixed, eAltGen, eMark:
		return true, false
	}
	return false, false
}

// parsePart parses one Aho-Corasick part and applies ClamAV's acceptance
// rules for it.
func parsePart(p string, o hexOpts) (*match.Node, error) {
	if len(p)/2 < minACDepth {
		return nil, fmt.Errorf("part %q is too short", p)
	}
	core := p
	var pre, post *match.Node // [n-m] anchored single bytes
	if strings.IndexByte(p, '[') >= 0 {
		var err error
		core, pre, post, err = splitBrackets(p, o)
		if err != nil {
			return nil, err
		}
	}
	var left, right *match.Node
	var unsupported error
	elems, err := parseElems(core, o, &left, &right, &unsupported)
	if err != nil {
		return nil, err
	}
	if len(elems) < minACDepth {
		return nil, fmt.Errorf("part %q is shorter than 2 elements", p)
	}
	if o.prefilter {
		if err := checkPrefilter(elems); err != nil {
			return nil, fmt.Errorf("part %q: %w", p, err)
		}
	}
	if !hasStaticPair(elems) {
		return nil, fmt.Errorf("part %q has no 2 consecutive static bytes", p)
	}
	if unsupported != nil {
		return nil, unsupported
	}
	var subs []*match.Node
	if left != nil {
		subs = append(subs, left)
	}
	if pre != nil {
		subs = append(subs, pre)
	}
	subs = append(subs, lowerElems(elems, o.nocase)...)
	if post != nil {
		subs = append(subs, post)
	}
	if right != nil {
		subs = append(subs, right)
	}
	if len(subs) == 1 {
		return subs[0], nil
	}
	return match.Cat(subs...), nil
}

// splitBrackets removes up to two [n-m] gaps, each between a single byte
// and the rest of the part, as ClamAV's loader does, and returns the rest
// and the nodes for "byte, gap" before it and "gap, byte" after it.
func splitBrackets(p string, o hexOpts) (core string, pre, post *match.Node, err error) {
	hex := p
	for i := 0; i < 2; i++ {
		k := strings.IndexByte(hex, '[')
		if k < 0 {
			break
		}
		left, rest := hex[:k], hex[k+1:]
		e := strings.IndexByte(rest, ']')
		if e < 0 {
			return "", nil, nil, errors.New("missing ']'")
		}
		lo, hi, ok := parseBracket(rest[:e])
		if !ok || lo > hi || hi > maxBracketGap {
			return "", nil, nil, fmt.Errorf("invalid range [%s] (0..%d)", rest[:e], maxBracketGap)
		}
		after := rest[e+1:]
		gap := match.Gap(lo, hi)
		switch {
		case len(left) == 2:
			if i == 1 {
				return "", nil, nil, errors.New("[n-m] needs a single byte on one side")
			}
			b, err := pairNode(left, o.nocase)
			if err != nil {
				return "", nil, nil, err
			}
			pre = match.Cat(b, gap)
			hex = after
		case len(after) == 2:
			b, err := pairNode(after, o.nocase)
			if err != nil {
				return "", nil, nil, err
			}
			post = match.Cat(gap, b)
			hex = left
			i = 1
		default:
			return "", nil, nil, errors.New("[n-m] needs a single byte on one side")
		}
	}
	return hex, pre, post, nil
}

func parseBracket(s string) (lo, hi int, ok bool) {
	a, b, dash := strings.Cut(s, "-")
	if !isNumber(a) || a == "" {
		return 0, 0, false
	}
	lo = atoiSat(a)
	if !dash {
		return lo, lo, true
	}
	if !isNumber(b) || b == "" {
		return 0, 0, false
	}
	return lo, atoiSat(b), true
}

// parseElems parses a part without [n-m] gaps into elements; (B) (L) (W) at
// the very start or end become the assertions *left and *right.
//
// A construct glassav cannot express (a negated boundary at an edge) is
// reported in unsupported, not as an error, so that the caller still
// applies ClamAV's other checks: the signature must fail where clamscan
// fails, and only be skipped where clamscan loads it.
func parseElems(h string, o hexOpts, left, right **match.Node, unsupported *error) ([]elem, error) {
	out := make([]elem, 0, len(h)/2)
	for i := 0; i < len(h); {
		neg := false
		if h[i] == '!' {
			if i+1 >= len(h) || h[i+1] != '(' {
				return nil, fmt.Errorf("invalid character '!' at %d", i)
			}
			neg = true
			i++
		}
		if h[i] == '(' {
			j, err := closeParen(h, i)
			if err != nil {
				return nil, err
			}
			content := h[i+1 : j]
			if content == "" {
				return nil, errors.New("empty ()")
			}
			atStart, atEnd := i == 0, j == len(h)-1
			if content == "B" || content == "L" || content == "W" {
				switch {
				case atEnd || atStart:
					if neg {
						if *unsupported == nil {
							*unsupported = fmt.Errorf("negated !(%s) at the edge of a pattern: %w", content, ErrUnsupported)
						}
						break
					}
					a := boundaryAssert(content[0])
					if atEnd {
						*right = a
					} else {
						*left = a
					}
				default:
					out = append(out, elem{kind: eMark, neg: neg, set: markClass(content[0], neg)})
				}
			} else {
				e, err := parseAlt(content, neg, o)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			i = j + 1
			continue
		}
		if neg {
			return nil, errors.New("'!' must precede '('")
		}
		if i+1 >= len(h) {
			return nil, fmt.Errorf("odd number of hex digits in %q", h)
		}
		e, err := parsePair(h[i : i+2])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		i += 2
	}
	return out, nil
}

// closeParen returns the index of the ')' matching the '(' at i.
func closeParen(h string, i int) (int, error) {
	depth := 0
	for j := i; j < len(h); j++ {
		switch h[j] {
		case '(':
			depth++
			if depth > maxAltNest+1 {
				return 0, fmt.Errorf("alternatives nested deeper than %d", maxAltNest)
			}
		case ')':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, errors.New("missing ')'")
}

func boundaryAssert(c byte) *match.Node {
	a := match.AssertClamBoundary
	switch c {
	case 'L':
		a = match.AssertClamLineEnd
	case 'W':
		a = match.AssertClamNonAlnum
	}
	return &match.Node{Op: match.OpAssert, Assert: a}
}

// markClass is the byte class a (B), (L) or (W) inside a pattern consumes:
// ClamAV's word-boundary characters, CR/LF, or any non-alphanumeric byte.
func markClass(c byte, neg bool) match.Class {
	var cl match.Class
	switch c {
	case 'B':
		// Inside a pattern (B) consumes one byte that is a boundary on either
		// side: the union of ClamAV's before and after sets.
		for _, b := range []byte("\n\r \"'-./<=>@_") {
			cl.Add(b)
		}
	case 'L':
		cl.Add('\n') // a lone CR is no line end (clamscan 1.4.6)
	case 'W':
		cl.AddRange('0', '9')
		cl.AddRange('A', 'Z')
		cl.AddRange('a', 'z')
		cl.Negate()
	}
	if neg {
		cl.Negate()
	}
	return cl
}

func parsePair(s string) (elem, error) {
	hi, lo := s[0], s[1]
	switch {
	case hi == '?' && lo == '?':
		return elem{kind: eAny}, nil
	case hi == '?':
		v, ok := hexVal(lo)
		if !ok {
			return elem{}, fmt.Errorf("invalid hex %q", s)
		}
		return elem{kind: eNibLo, b: v}, nil
	case lo == '?':
		v, ok := hexVal(hi)
		if !ok {
			return elem{}, fmt.Errorf("invalid hex %q", s)
		}
		return elem{kind: eNibHi, b: v << 4}, nil
	}
	a, ok1 := hexVal(hi)
	b, ok2 := hexVal(lo)
	if !ok1 || !ok2 {
		return elem{}, fmt.Errorf("invalid hex %q", s)
	}
	return elem{kind: eByte, b: a<<4 | b}, nil
}

func pairNode(s string, nocase bool) (*match.Node, error) {
	e, err := parsePair(s)
	if err != nil {
		return nil, err
	}
	return lowerElems([]elem{e}, nocase)[0], nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func decodeStatic(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits in %q", s)
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := hexVal(s[2*i])
		lo, ok2 := hexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("invalid hex %q", s[2*i:2*i+2])
		}
		b[i] = hi<<4 | lo
	}
	return b, nil
}

// splitAlts splits the inside of (..) at top-level '|'.
func splitAlts(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseAlt parses an alternative group. Like ClamAV, it treats groups of
// equal-length plain hex strings as fixed alternatives (negatable) and
// everything else as generic alternatives (not negatable).
func parseAlt(content string, neg bool, o hexOpts) (elem, error) {
	alts := splitAlts(content)
	if len(alts) > maxAlts {
		return elem{}, fmt.Errorf("more than %d alternatives", maxAlts)
	}
	fixed := !o.modified
	for _, a := range alts {
		if a == "" || len(a)%2 != 0 || len(a) != len(alts[0]) || !isHexDigits(a) {
			fixed = false
			break
		}
	}
	if fixed {
		if len(alts[0]) == 2 {
			var cl match.Class
			for _, a := range alts {
				b, _ := decodeStatic(a)
				cl.Add(b[0])
			}
			if neg {
				cl.Negate()
			}
			return elem{kind: eAltChar, neg: neg, set: cl}, nil
		}
		var strs [][]byte
		for _, a := range alts {
			b, _ := decodeStatic(a)
			strs = append(strs, b)
		}
		if neg && len(strs[0]) > maxNegatedLen {
			return elem{}, fmt.Errorf("negated alternatives longer than %d bytes: %w", maxNegatedLen, ErrUnsupported)
		}
		return elem{kind: eAltFixed, neg: neg, strs: strs}, nil
	}
	if neg {
		return elem{}, errors.New("generic alternatives cannot be negated")
	}
	n, err := genericAlt(content, o.nocase, 0)
	if err != nil {
		return elem{}, err
	}
	return elem{kind: eAltGen, node: n}, nil
}

// genericAlt lowers a generic alternative group: each alternative is hex
// pairs, ??, nibbles and nested groups. A trailing empty alternative
// ("(aa|)") is accepted as ClamAV does and matches the empty string; any
// other empty alternative is an error.
func genericAlt(content string, nocase bool, depth int) (*match.Node, error) {
	if depth > maxAltNest {
		return nil, fmt.Errorf("alternatives nested deeper than %d", maxAltNest)
	}
	alts := splitAlts(content)
	if len(alts) > maxAlts {
		return nil, fmt.Errorf("more than %d alternatives", maxAlts)
	}
	var subs []*match.Node
	for k, a := range alts {
		if a == "" {
			if k == len(alts)-1 && k > 0 {
				subs = append(subs, &match.Node{Op: match.OpEmpty})
				continue
			}
			return nil, errors.New("empty alternative")
		}
		var seq []*match.Node
		var run []elem
		flush := func() {
			if len(run) > 0 {
				seq = append(seq, lowerElems(run, nocase)...)
				run = nil
			}
		}
		for i := 0; i < len(a); {
			switch {
			case a[i] == '!':
				return nil, errors.New("generic alternatives cannot contain negations")
			case a[i] == '(':
				j, err := closeParen(a, i)
				if err != nil {
					return nil, err
				}
				inner := a[i+1 : j]
				if inner == "B" || inner == "L" || inner == "W" {
					return nil, fmt.Errorf("(%s) inside alternatives", inner)
				}
				n, err := genericAlt(inner, nocase, depth+1)
				if err != nil {
					return nil, err
				}
				flush()
				seq = append(seq, n)
				i = j + 1
			default:
				if i+1 >= len(a) {
					return nil, fmt.Errorf("odd number of hex digits in alternative %q", a)
				}
				e, err := parsePair(a[i : i+2])
				if err != nil {
					return nil, err
				}
				run = append(run, e)
				i += 2
			}
		}
		flush()
		if len(seq) == 1 {
			subs = append(subs, seq[0])
		} else {
			subs = append(subs, match.Cat(seq...))
		}
	}
	if len(subs) == 1 {
		return subs[0], nil
	}
	return match.Alt(subs...), nil
}

func isHexDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexVal(s[i]); !ok {
			return false
		}
	}
	return true
}

// checkPrefilter applies the structural rule of ClamAV's shift-or
// prefilter, which fails the load when it cannot index a pattern: after
// skipping leading specials other than one-byte alternatives, at least two
// elements must come before the first such special, and not every adjacent
// pair of them may be "?? ??".
func checkPrefilter(elems []elem) error {
	allStatic := true
	for _, e := range elems {
		if e.kind != eByte {
			allStatic = false
			break
		}
	}
	if allStatic {
		return nil
	}
	i := 0
	for i < len(elems) {
		sp, ac := elems[i].special()
		if !sp || ac {
			break
		}
		i++
	}
	j := i
	for j < len(elems) {
		sp, ac := elems[j].special()
		if sp && !ac {
			break
		}
		j++
	}
	if j-i < 2 {
		return errors.New("ClamAV cannot build a prefilter for it (fewer than 2 elements before an alternative or (B)/(L)/(W))")
	}
	for k := i; k+1 < j; k++ {
		if elems[k].kind != eAny || elems[k+1].kind != eAny {
			return nil
		}
	}
	return errors.New("ClamAV cannot build a prefilter for it (only ?? before an alternative)")
}

func hasStaticPair(elems []elem) bool {
	for i := 0; i+1 < len(elems); i++ {
		if elems[i].kind == eByte && elems[i+1].kind == eByte {
			return true
		}
	}
	return false
}

// lowerElems turns elements into pattern nodes, merging runs of static
// bytes into literals and runs of ?? into fixed gaps.
func lowerElems(elems []elem, nocase bool) []*match.Node {
	var out []*match.Node
	for i := 0; i < len(elems); {
		e := elems[i]
		switch e.kind {
		case eByte:
			j := i
			for j < len(elems) && elems[j].kind == eByte {
				j++
			}
			lit := make([]byte, j-i)
			for k := range lit {
				lit[k] = elems[i+k].b
			}
			n := match.Lit(lit)
			n.Fold = nocase
			out = append(out, n)
			i = j
			continue
		case eAny:
			j := i
			for j < len(elems) && elems[j].kind == eAny {
				j++
			}
			if j-i == 1 {
				out = append(out, match.Cls(match.AnyByte()))
			} else {
				out = append(out, match.Gap(j-i, j-i))
			}
			i = j
			continue
		case eNibHi:
			var cl match.Class
			cl.AddRange(e.b, e.b|0x0f)
			out = append(out, match.Cls(cl))
		case eNibLo:
			var cl match.Class
			for h := 0; h < 16; h++ {
				cl.Add(byte(h<<4) | e.b)
			}
			out = append(out, match.Cls(cl))
		case eAltChar, eMark:
			out = append(out, match.Cls(e.set))
		case eAltFixed:
			if e.neg {
				out = append(out, notStrings(e.strs))
			} else {
				alts := make([]*match.Node, len(e.strs))
				for k, s := range e.strs {
					alts[k] = match.Lit(s)
				}
				out = append(out, match.Alt(alts...))
			}
		case eAltGen:
			out = append(out, e.node)
		}
		i++
	}
	return out
}

// maxNegatedLen bounds the length of negated fixed alternatives, whose
// complement tree grows with it.
const maxNegatedLen = 64

// notStrings returns a node matching every byte string of the common
// length of strs that is not one of strs, as a tree that follows the trie
// of strs: at each shared prefix, either a byte continuing none of them and
// then any bytes, or a byte continuing some of them and the complement of
// their rests.
func notStrings(strs [][]byte) *match.Node {
	return notFrom(strs, 0, len(strs[0]))
}

func notFrom(set [][]byte, d, n int) *match.Node {
	var next match.Class
	for _, s := range set {
		next.Add(s[d])
	}
	other := next
	other.Negate()
	var alts []*match.Node
	if other.Count() > 0 {
		switch rest := n - d - 1; {
		case rest == 0:
			alts = append(alts, match.Cls(other))
		case rest == 1:
			alts = append(alts, match.Cat(match.Cls(other), match.Cls(match.AnyByte())))
		default:
			alts = append(alts, match.Cat(match.Cls(other), match.Gap(rest, rest)))
		}
	}
	if d+1 < n {
		for b := 0; b < 256; b++ {
			if !next.Has(byte(b)) {
				continue
			}
			var sub [][]byte
			for _, s := range set {
				if s[d] == byte(b) {
					sub = append(sub, s)
				}
			}
			alts = append(alts, match.Cat(match.Lit([]byte{byte(b)}), notFrom(sub, d+1, n)))
		}
	}
	switch len(alts) {
	case 0:
		return match.Cls(match.Class{})
	case 1:
		return alts[0]
	}
	return match.Alt(alts...)
}

// isNumber reports whether s is only decimal digits (ClamAV's cli_isnumber,
// which accepts the empty string).
func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoiSat converts digits to int, saturating instead of overflowing.
func atoiSat(s string) int {
	const limit = 1 << 31
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > limit {
			return limit
		}
	}
	return n
}
