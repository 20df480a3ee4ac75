package difftest

import (
	"fmt"
	"strings"
)

// Body is a body pattern cut from a file: its hex form and the file offset
// at which a match of it starts.
type Body struct {
	Hex   string
	Start int64
}

// BodyFunc cuts one body pattern from data; ok is false when the file offers
// no suitable place (too short, no varied bytes, no text).
type BodyFunc func(g *Gen, data []byte) (b Body, ok bool)

// Every pattern keeps at least lead static bytes in front of and tail static
// bytes behind an operator, so each part is long enough for ClamAV (which
// wants two consecutive static bytes per part, three for a static pattern).
const (
	lead = 4
	tail = 3
)

// PlainHex cuts 4..40 static bytes.
func PlainHex(g *Gen, data []byte) (Body, bool) {
	n := g.between(4, 40)
	s, ok := g.cut(data, n, 0, int64(len(data)))
	if !ok {
		return Body{}, false
	}
	return Body{hx(data[s : s+int64(n)]), s}, true
}

// wildcards cuts n bytes and replaces a few inner bytes by what repl
// returns for them.
func (g *Gen) wildcards(data []byte, repl func(c byte) string) (Body, bool) {
	n := g.between(lead+tail+2, 32)
	s, ok := g.cut(data, n, 0, int64(len(data)))
	if !ok {
		return Body{}, false
	}
	b := data[s : s+int64(n)]
	var sb strings.Builder
	sb.WriteString(hx(b[:lead]))
	k := 0
	for i := lead; i < n-tail; i++ {
		if g.r.IntN(3) == 0 || (k == 0 && i == n-tail-1) {
			sb.WriteString(repl(b[i]))
			k++
			continue
		}
		sb.WriteString(hx(b[i : i+1]))
	}
	sb.WriteString(hx(b[n-tail:]))
	return Body{sb.String(), s}, true
}

// AnyByteHex uses "??".
func AnyByteHex(g *Gen, data []byte) (Body, bool) {
	return g.wildcards(data, func(byte) string { return "??" })
}

// NibbleHex uses "x?" and "?x" (one nibble fixed).
func NibbleHex(g *Gen, data []byte) (Body, bool) {
	return g.wildcards(data, func(c byte) string {
		h := hx([]byte{c})
		if g.r.IntN(2) == 0 {
			return h[:1] + "?"
		}
		return "?" + h[1:]
	})
}

// AltHex uses single-byte alternatives "(aa|bb)" that include the real byte.
func AltHex(g *Gen, data []byte) (Body, bool) {
	return g.wildcards(data, func(c byte) string {
		opts := []string{hx([]byte{c})}
		for range g.between(1, 3) {
			opts = append(opts, hx([]byte{g.otherByte(c)}))
		}
		return g.alternation(opts)
	})
}

// NegAltHex uses negated single-byte alternatives "!(aa|bb)" that exclude
// the real byte.
func NegAltHex(g *Gen, data []byte) (Body, bool) {
	return g.wildcards(data, func(c byte) string {
		var opts []string
		for range g.between(2, 3) {
			opts = append(opts, hx([]byte{g.otherByte(c)}))
		}
		return "!" + g.alternation(opts)
	})
}

// multiAlt cuts lead + k + tail bytes and replaces the k middle ones by an
// alternation built by alts.
func (g *Gen) multiAlt(data []byte, alts func(real []byte) string) (Body, bool) {
	k := g.between(2, 4)
	n := lead + k + tail + g.between(0, 8)
	s, ok := g.cut(data, n, 0, int64(len(data)))
	if !ok {
		return Body{}, false
	}
	b := data[s : s+int64(n)]
	return Body{hx(b[:lead]) + alts(b[lead:lead+k]) + hx(b[lead+k:]), s}, true
}

// MultiAltHex uses fixed-length multi-byte alternatives "(aabb|ccdd)".
func MultiAltHex(g *Gen, data []byte) (Body, bool) {
	return g.multiAlt(data, func(real []byte) string {
		opts := []string{hx(real)}
		for range g.between(1, 3) {
			opts = append(opts, hx(g.otherBytes(real)))
		}
		return g.alternation(opts)
	})
}

// NegMultiAltHex uses negated fixed-length alternatives "!(aabb|ccdd)".
func NegMultiAltHex(g *Gen, data []byte) (Body, bool) {
	return g.multiAlt(data, func(real []byte) string {
		var opts []string
		for range g.between(2, 3) {
			opts = append(opts, hx(g.otherBytes(real)))
		}
		return "!" + g.alternation(opts)
	})
}

// VarAltHex uses generic alternatives of different lengths, one of which is
// the real bytes, some holding "??".
func VarAltHex(g *Gen, data []byte) (Body, bool) {
	return g.multiAlt(data, func(real []byte) string {
		r := hx(real)
		if g.r.IntN(2) == 0 { // a wildcard inside the matching alternative
			r = r[:2] + "??" + r[4:]
		}
		opts := []string{r}
		for range g.between(1, 3) {
			other := make([]byte, g.between(1, 5))
			for i := range other {
				other[i] = g.otherByte(real[0])
			}
			opts = append(opts, hx(other))
		}
		return g.alternation(opts)
	})
}

// twoParts cuts part A at s and part B gap bytes after A's end.
func (g *Gen) twoParts(data []byte, minGap, maxGap int) (a, b []byte, start int64, gap int, ok bool) {
	la, lb := g.between(lead, 16), g.between(lead, 16)
	gap = g.between(minGap, maxGap)
	s, ok := g.cut(data, la+gap+lb, 0, int64(len(data)))
	if !ok {
		return nil, nil, 0, 0, false
	}
	w := data[s : s+int64(la+gap+lb)]
	if !varied(w[:la]) || !varied(w[la+gap:]) {
		return nil, nil, 0, 0, false
	}
	return w[:la], w[la+gap:], s, gap, true
}

// StarHex joins two parts with "*".
func StarHex(g *Gen, data []byte) (Body, bool) {
	a, b, s, _, ok := g.twoParts(data, 0, 4096)
	if !ok {
		return Body{}, false
	}
	return Body{hx(a) + "*" + hx(b), s}, true
}

// FixedGapHex joins two parts with "{n}", n both below and above the 128
// at which ClamAV stops expanding the gap inline.
func FixedGapHex(g *Gen, data []byte) (Body, bool) {
	a, b, s, gap, ok := g.twoParts(data, 1, 300)
	if !ok {
		return Body{}, false
	}
	return Body{fmt.Sprintf("%s{%d}%s", hx(a), gap, hx(b)), s}, true
}

// UpToGapHex joins two parts with "{-n}", n at least the real gap.
func UpToGapHex(g *Gen, data []byte) (Body, bool) {
	a, b, s, gap, ok := g.twoParts(data, 0, 200)
	if !ok {
		return Body{}, false
	}
	return Body{fmt.Sprintf("%s{-%d}%s", hx(a), gap+g.between(0, 40), hx(b)), s}, true
}

// AtLeastGapHex joins two parts with "{n-}", n at most the real gap.
func AtLeastGapHex(g *Gen, data []byte) (Body, bool) {
	a, b, s, gap, ok := g.twoParts(data, 1, 400)
	if !ok {
		return Body{}, false
	}
	return Body{fmt.Sprintf("%s{%d-}%s", hx(a), g.between(0, gap), hx(b)), s}, true
}

// RangeGapHex joins two parts with "{n-m}" around the real gap.
func RangeGapHex(g *Gen, data []byte) (Body, bool) {
	a, b, s, gap, ok := g.twoParts(data, 1, 300)
	if !ok {
		return Body{}, false
	}
	lo := g.between(0, gap)
	return Body{fmt.Sprintf("%s{%d-%d}%s", hx(a), lo, gap+g.between(0, 50), hx(b)), s}, true
}

// ShortRangeHex uses "[n-m]" (m ≤ 32) between a multi-byte part and a single
// byte, in either order, as ClamAV requires.
func ShortRangeHex(g *Gen, data []byte) (Body, bool) {
	la := g.between(lead, 12)
	gap := g.between(0, 32)
	single := g.r.IntN(2) == 0
	n := la + gap + 1
	s, ok := g.cut(data, n, 0, int64(len(data)))
	if !ok {
		return Body{}, false
	}
	w := data[s : s+int64(n)]
	lo := g.between(0, gap)
	hi := min(32, gap+g.between(0, 8))
	if single { // aa[x-y]HEX
		return Body{fmt.Sprintf("%s[%d-%d]%s", hx(w[:1]), lo, hi, hx(w[1+gap:])), s}, true
	}
	return Body{fmt.Sprintf("%s[%d-%d]%s", hx(w[:la]), lo, hi, hx(w[la+gap:])), s}, true
}

// Boundary marks for text: (B) word boundary, (L) line end, (W) non-word
// character. BoundaryHex cuts a run of text that a marker can frame: it
// starts after a space or line end and ends before one.
func BoundaryHex(g *Gen, data []byte) (Body, bool) {
	for range 200 {
		s := g.r.IntN(max(1, len(data)-64)) + 1
		if s >= len(data) {
			continue
		}
		prev := data[s-1]
		if !isAlnum(data[s]) || !(prev == ' ' || prev == '\n') {
			continue
		}
		e := s
		for e < len(data) && e-s < 48 && data[e] != '\n' && data[e] != '\r' {
			e++
		}
		// back up to just before a space or line end, after a word
		for e > s && !(isAlnum(data[e-1]) && (e == len(data) || data[e] == ' ' || data[e] == '\n')) {
			e--
		}
		if e-s < 6 || !varied(data[s:e]) {
			continue
		}
		left, right := "(B)", "(B)"
		if prev == '\n' && g.r.IntN(2) == 0 {
			left = "(L)"
		} else if g.r.IntN(3) == 0 {
			left = "(W)"
		}
		if e < len(data) && data[e] == '\n' && g.r.IntN(2) == 0 {
			right = "(L)"
		}
		switch g.r.IntN(3) {
		case 0:
			return Body{left + hx(data[s:e]), int64(s)}, true
		case 1:
			return Body{hx(data[s:e]) + right, int64(s)}, true
		}
		return Body{left + hx(data[s:e]) + right, int64(s)}, true
	}
	return Body{}, false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
