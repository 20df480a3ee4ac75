package filetype

import "github.com/glassav/glassav/match"

// maxPatternSteps bounds the work of searching one pattern entry through a
// header (all start positions together), so a hostile .ftm pattern (nested
// repeats) or header cannot make detection slow. The header is at most
// headerSize bytes, so honest patterns need far fewer steps.
const maxPatternSteps = 1 << 16

// maxPatternDepth bounds the nesting of a pattern tree accepted by
// WithMagic, so matching cannot exhaust the stack.
const maxPatternDepth = 64

// matcher runs a pattern tree over a header by backtracking. It is a small,
// direct matcher for the few magic patterns a detector holds; the engine's
// signature matcher is a different beast.
type matcher struct {
	data  []byte
	start int // where the current attempt started (for ClamAV boundaries)
	steps int
}

// matchEnd returns where the shortest match of n starting exactly at pos
// ends, or -1 when there is none. Repeats are tried shortest first, so the
// end is the earliest one, where ClamAV's matcher would report the match.
// Steps are counted across calls on the same matcher.
func (m *matcher) matchEnd(n *match.Node, pos int) int {
	m.start = pos
	end := -1
	m.node(n, pos, func(e int) bool { end = e; return true })
	return end
}

// node matches n at i and calls k with each end position until k accepts.
func (m *matcher) node(n *match.Node, i int, k func(int) bool) bool {
	m.steps++
	if m.steps > maxPatternSteps || n == nil {
		return false
	}
	switch n.Op {
	case match.OpEmpty:
		return k(i)
	case match.OpLiteral:
		if len(n.Lit) > len(m.data)-i {
			return false
		}
		for j, c := range n.Lit {
			d := m.data[i+j]
			if n.Fold {
				c, d = lower(c), lower(d)
			}
			if c != d {
				return false
			}
		}
		return k(i + len(n.Lit))
	case match.OpClass:
		if i >= len(m.data) || !n.Class.Has(m.data[i]) {
			return false
		}
		return k(i + 1)
	case match.OpConcat:
		return m.concat(n.Sub, i, k)
	case match.OpAlt:
		for _, s := range n.Sub {
			if m.node(s, i, k) {
				return true
			}
		}
		return false
	case match.OpRepeat:
		if len(n.Sub) != 1 {
			return false
		}
		if s := n.Sub[0]; s.Op == match.OpClass {
			return m.classRun(n, &s.Class, i, k)
		}
		return m.repeat(n, 0, i, k)
	case match.OpAssert:
		if m.assert(n.Assert, i) {
			return k(i)
		}
		return false
	}
	return false
}

func (m *matcher) concat(subs []*match.Node, i int, k func(int) bool) bool {
	if len(subs) == 0 {
		return k(i)
	}
	return m.node(subs[0], i, func(e int) bool { return m.concat(subs[1:], e, k) })
}

// classRun matches a repeat of a single byte class (a gap or a class
// repeat) without recursion: it finds the longest run and tries lengths,
// shortest first (greediness does not change whether a header matches).
func (m *matcher) classRun(n *match.Node, c *match.Class, i int, k func(int) bool) bool {
	max := len(m.data) - i
	if n.Max >= 0 && n.Max < max {
		max = n.Max
	}
	run := 0
	for run < max && c.Has(m.data[i+run]) {
		run++
	}
	if run < n.Min {
		return false
	}
	for l := n.Min; l <= run; l++ {
		if m.steps++; m.steps > maxPatternSteps {
			return false
		}
		if k(i + l) {
			return true
		}
	}
	return false
}

func (m *matcher) repeat(n *match.Node, count, i int, k func(int) bool) bool {
	more := func() bool {
		if n.Max >= 0 && count >= n.Max {
			return false
		}
		return m.node(n.Sub[0], i, func(e int) bool {
			return e > i && m.repeat(n, count+1, e, k) // an empty iteration cannot make progress
		})
	}
	if count < n.Min {
		return more()
	}
	return k(i) || more()
}

func (m *matcher) assert(a match.Assertion, p int) bool {
	d := m.data
	switch a {
	case match.AssertBegin:
		return p == 0
	case match.AssertEnd:
		return p == len(d)
	case match.AssertWordBoundary, match.AssertNotWordBoundary:
		before := p > 0 && isWord(d[p-1])
		after := p < len(d) && isWord(d[p])
		return (before != after) == (a == match.AssertWordBoundary)
	case match.AssertLineStart:
		return p == 0 || d[p-1] == '\n'
	case match.AssertLineEnd:
		return p == len(d) || d[p] == '\n'
	case match.AssertClamBoundary, match.AssertClamLineEnd, match.AssertClamNonAlnum:
		// At the start of a match ClamAV looks at the byte before it,
		// elsewhere at the byte at the position.
		var b byte
		edge := false
		if p == m.start {
			if p == 0 {
				edge = true
			} else {
				b = d[p-1]
			}
		} else if p >= len(d) {
			edge = true
		} else {
			b = d[p]
		}
		switch a {
		case match.AssertClamBoundary:
			return edge || !isAlnum(b)
		case match.AssertClamLineEnd:
			return edge || b == '\r' || b == '\n'
		default:
			return !edge && !isAlnum(b)
		}
	}
	return false
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func isWord(b byte) bool { return b == '_' || isAlnum(b) }

// prefix returns the literal bytes every match of n starts with (possibly
// none), used to find candidate starts quickly, and whether they match in
// either case.
func prefix(n *match.Node) ([]byte, bool) {
	for n != nil {
		switch n.Op {
		case match.OpLiteral:
			if n.Fold {
				return toLower(n.Lit), true
			}
			return n.Lit, false
		case match.OpConcat:
			if len(n.Sub) == 0 {
				return nil, false
			}
			n = n.Sub[0]
		default:
			return nil, false
		}
	}
	return nil, false
}

func toLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower(c)
	}
	return out
}

// depthOK reports whether n nests no deeper than limit.
func depthOK(n *match.Node, limit int) bool {
	if n == nil {
		return true
	}
	if limit <= 0 {
		return false
	}
	for _, s := range n.Sub {
		if !depthOK(s, limit-1) {
			return false
		}
	}
	return true
}
