package match

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// refSet is a set of positions.
type refSet map[int]bool

// refStep returns the positions reachable by matching n from each position
// of in. start is the match start, for the ClamAV assertions. It is the
// specification the Matcher is checked against: plain set semantics over
// the syntax tree, no atoms, no automata.
func refStep(n *Node, data []byte, start int, in refSet) refSet {
	out := refSet{}
	switch n.Op {
	case OpEmpty:
		return in
	case OpLiteral:
		for p := range in {
			if p+len(n.Lit) > len(data) {
				continue
			}
			ok := true
			for i, b := range n.Lit {
				c := foldClass(b, n.Fold)
				if !c.Has(data[p+i]) {
					ok = false
					break
				}
			}
			if ok {
				out[p+len(n.Lit)] = true
			}
		}
	case OpClass:
		for p := range in {
			if p < len(data) && n.Class.Has(data[p]) {
				out[p+1] = true
			}
		}
	case OpConcat:
		out = in
		for _, s := range n.Sub {
			out = refStep(s, data, start, out)
		}
	case OpAlt:
		for _, s := range n.Sub {
			for p := range refStep(s, data, start, in) {
				out[p] = true
			}
		}
	case OpRepeat:
		cur := in
		for i := 0; i < n.Min && len(cur) > 0; i++ {
			cur = refStep(n.Sub[0], data, start, cur)
		}
		for p := range cur {
			out[p] = true
		}
		frontier := cur
		for i := n.Min; (n.Max < 0 || i < n.Max) && len(frontier) > 0; i++ {
			next := refStep(n.Sub[0], data, start, frontier)
			frontier = refSet{}
			for p := range next {
				if !out[p] {
					out[p] = true
					frontier[p] = true
				}
			}
			if n.Max >= 0 {
				// Bounded: positions reached again at a higher count
				// can still lead further; keep all of them.
				frontier = next
			}
		}
	case OpAssert:
		for p := range in {
			if assertAt(n.Assert, data, p, p == start) {
				out[p] = true
			}
		}
	}
	return out
}

// refHits is the reference result of one pattern.
func refHits(n *Node, data []byte, max int) []Hit {
	var hs []Hit
	for st := 0; st <= len(data); st++ {
		ends := refStep(n, data, st, refSet{st: true})
		if len(ends) == 0 {
			continue
		}
		e := -1
		for p := range ends {
			if e < 0 || p < e {
				e = p
			}
		}
		hs = append(hs, Hit{int64(st), int64(e)})
		if len(hs) == max {
			break
		}
	}
	return hs
}

// parsePat reads the compact test notation, tokens separated by spaces:
//
//	4d        a byte            ??  any byte        4? ?d  nibbles
//	!4d       any byte but 4d   [41-43]  a byte range
//	{n} {n-m} {n-} *  gaps     (4142|43)  alternatives (hex, no spaces)
//	'text' i'text'  literals    (B) (L) (W) ^ $ \b \B ^^ $$  assertions
//	(?:...)   a nested pattern (round trip through parsePat), e.g. (?:41 ??)
//	x{n,m}    repeat the previous token (m may be empty: unbounded)
func parsePat(t testing.TB, s string) *Node {
	t.Helper()
	n, err := parsePatErr(s)
	if err != nil {
		t.Fatalf("parsePat(%q): %v", s, err)
	}
	return n
}

func parsePatErr(s string) (*Node, error) {
	var subs []*Node
	toks := strings.Fields(s)
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		if strings.HasPrefix(tok, "(?:") {
			depth := 0
			j := i
			var parts []string
			for ; j < len(toks); j++ {
				depth += strings.Count(toks[j], "(?:")
				depth -= strings.Count(toks[j], ":)")
				parts = append(parts, toks[j])
				if depth == 0 {
					break
				}
			}
			inner := strings.Join(parts, " ")
			inner = strings.TrimSuffix(strings.TrimPrefix(inner, "(?:"), ":)")
			n, err := parsePatErr(inner)
			if err != nil {
				return nil, err
			}
			subs = append(subs, n)
			i = j
			continue
		}
		n, err := parseTok(tok, subs)
		if err != nil {
			return nil, fmt.Errorf("token %q: %w", tok, err)
		}
		if n.Op == OpRepeat && n.Sub == nil {
			if len(subs) == 0 {
				return nil, fmt.Errorf("repeat without operand")
			}
			n.Sub = []*Node{subs[len(subs)-1]}
			subs[len(subs)-1] = n
			continue
		}
		subs = append(subs, n)
	}
	return Cat(subs...), nil
}

func parseTok(tok string, prev []*Node) (*Node, error) {
	switch tok {
	case "??":
		return Cls(AnyByte()), nil
	case "*":
		return Gap(0, -1), nil
	case "(B)":
		return &Node{Op: OpAssert, Assert: AssertClamBoundary}, nil
	case "(L)":
		return &Node{Op: OpAssert, Assert: AssertClamLineEnd}, nil
	case "(W)":
		return &Node{Op: OpAssert, Assert: AssertClamNonAlnum}, nil
	case "^":
		return &Node{Op: OpAssert, Assert: AssertBegin}, nil
	case "$":
		return &Node{Op: OpAssert, Assert: AssertEnd}, nil
	case `\b`:
		return &Node{Op: OpAssert, Assert: AssertWordBoundary}, nil
	case `\B`:
		return &Node{Op: OpAssert, Assert: AssertNotWordBoundary}, nil
	case "^^":
		return &Node{Op: OpAssert, Assert: AssertLineStart}, nil
	case "$$":
		return &Node{Op: OpAssert, Assert: AssertLineEnd}, nil
	case "()":
		return &Node{Op: OpEmpty}, nil
	}
	switch {
	case strings.HasPrefix(tok, "x{"):
		a, b, _ := strings.Cut(strings.Trim(tok[1:], "{}"), ",")
		min, err := strconv.Atoi(a)
		if err != nil {
			return nil, err
		}
		max := -1
		if b != "" {
			if max, err = strconv.Atoi(b); err != nil {
				return nil, err
			}
		}
		return &Node{Op: OpRepeat, Min: min, Max: max, Greedy: true}, nil
	case strings.HasPrefix(tok, "{"):
		body := strings.Trim(tok, "{}")
		a, b, rng := strings.Cut(body, "-")
		min, err := strconv.Atoi(a)
		if err != nil {
			return nil, err
		}
		max := min
		if rng {
			max = -1
			if b != "" {
				if max, err = strconv.Atoi(b); err != nil {
					return nil, err
				}
			}
		}
		return Gap(min, max), nil
	case strings.HasPrefix(tok, "i'"):
		return &Node{Op: OpLiteral, Lit: []byte(strings.Trim(tok[1:], "'")), Fold: true}, nil
	case strings.HasPrefix(tok, "'"):
		return Lit([]byte(strings.Trim(tok, "'"))), nil
	case strings.HasPrefix(tok, "("):
		var alts []*Node
		for _, a := range strings.Split(strings.Trim(tok, "()"), "|") {
			b, err := hex.DecodeString(a)
			if err != nil {
				return nil, err
			}
			alts = append(alts, Lit(b))
		}
		return Alt(alts...), nil
	case strings.HasPrefix(tok, "!"):
		b, err := hex.DecodeString(tok[1:])
		if err != nil || len(b) != 1 {
			return nil, fmt.Errorf("bad negated byte")
		}
		var c Class
		c.Add(b[0])
		c.Negate()
		return Cls(c), nil
	case strings.HasPrefix(tok, "["):
		a, b, _ := strings.Cut(strings.Trim(tok, "[]"), "-")
		lo, err1 := hex.DecodeString(a)
		hi, err2 := hex.DecodeString(b)
		if err1 != nil || err2 != nil || len(lo) != 1 || len(hi) != 1 {
			return nil, fmt.Errorf("bad range")
		}
		var c Class
		c.AddRange(lo[0], hi[0])
		return Cls(c), nil
	case len(tok) == 2 && (tok[0] == '?' || tok[1] == '?'):
		var c Class
		for b := 0; b < 256; b++ {
			hx := fmt.Sprintf("%02x", b)
			if (tok[0] == '?' || tok[0] == hx[0]) && (tok[1] == '?' || tok[1] == hx[1]) {
				c.Add(byte(b))
			}
		}
		return Cls(c), nil
	}
	b, err := hex.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	return Lit(b), nil
}

// fmtHits renders hits as "s:e s:e".
func fmtHits(hs []Hit) string {
	var b strings.Builder
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", h.Start, h.End)
	}
	return b.String()
}

// scanAll compiles pats and returns every pattern's hits.
func scanAll(t testing.TB, pats []*Node, data []byte, workers int, tweak func(*Matcher)) [][]Hit {
	t.Helper()
	m, err := Compile(pats, Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if tweak != nil {
		tweak(m)
	}
	h := NewHits()
	if err := m.Scan(t.Context(), data, workers, h); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	out := make([][]Hit, len(pats))
	matched := map[int]bool{}
	for _, p := range h.Matched() {
		matched[p] = true
	}
	for p := range pats {
		out[p] = append([]Hit(nil), h.Of(p)...)
		if matched[p] != (len(out[p]) > 0) {
			t.Errorf("pattern %d: Matched()=%v but %d hits", p, matched[p], len(out[p]))
		}
	}
	if !sort.IntsAreSorted(h.Matched()) {
		t.Errorf("Matched not sorted: %v", h.Matched())
	}
	return out
}
