package difftest

import (
	"bytes"
	"fmt"
	"strings"
)

// LDBLine formats a logical signature: Name;TDB;Expr;Sub0;Sub1;...
func LDBLine(name, tdb, expr string, subsigs ...string) string {
	return name + ";" + tdb + ";" + expr + ";" + strings.Join(subsigs, ";")
}

// TDB formats a target description block with Engine:81-255 (needed for
// subsignature modifiers) first, then Target, then extra keys in order.
func TDB(target int, extra ...string) string {
	parts := append([]string{"Engine:81-255", fmt.Sprintf("Target:%d", target)}, extra...)
	return strings.Join(parts, ",")
}

// absent returns 8 random bytes' hex that do not occur in data.
func (g *Gen) absent(data []byte) string {
	for {
		b := g.otherBytes(make([]byte, 8))
		if !bytes.Contains(data, b) {
			return hx(b)
		}
	}
}

// static returns n static bytes cut anywhere in data.
func (g *Gen) static(data []byte, n int) (Body, bool) {
	s, ok := g.cut(data, n, 0, int64(len(data)))
	if !ok {
		return Body{}, false
	}
	return Body{hx(data[s : s+int64(n)]), s}, true
}

// repeated finds a short static pattern (4..6 bytes) that occurs between 2
// and 12 times in data, and returns it with its occurrence count.
func (g *Gen) repeated(data []byte) (pat []byte, count int, ok bool) {
	for range 400 {
		n := g.between(4, 6)
		s, ok := g.cut(data, n, 0, int64(len(data)))
		if !ok {
			return nil, 0, false
		}
		p := data[s : s+int64(n)]
		if c := countOverlapping(data, p); c >= 2 && c <= 12 {
			return p, c, true
		}
	}
	return nil, 0, false
}

// wideString finds a UTF-16LE run of 6..40 printable ASCII characters and
// returns the ASCII text.
func wideString(g *Gen, data []byte) ([]byte, bool) {
	for range 64 {
		i := g.r.IntN(max(1, len(data)-2)) &^ 1
		j := i
		var text []byte
		for j+1 < len(data) && data[j+1] == 0 && data[j] >= 0x20 && data[j] < 0x7f && len(text) < 40 {
			text = append(text, data[j])
			j += 2
		}
		if len(text) >= 6 && varied(text) {
			return text, true
		}
	}
	// scan sequentially from a random start: wide runs are rare in code
	start := g.r.IntN(max(1, len(data)))
	for k := range len(data) - 1 {
		i := (start + k) % (len(data) - 1)
		var text []byte
		for j := i; j+1 < len(data) && data[j+1] == 0 && data[j] >= 0x20 && data[j] < 0x7f && len(text) < 40; j += 2 {
			text = append(text, data[j])
		}
		if len(text) >= 8 && varied(text) {
			return text, true
		}
	}
	return nil, false
}

// word finds a whole word of 5..24 letters/digits bounded by non-alphanumeric
// bytes (for ::f).
func word(g *Gen, data []byte) ([]byte, bool) {
	for range 400 {
		s := g.r.IntN(max(1, len(data)-1)) + 1
		if s >= len(data) || isAlnum(data[s-1]) || !isAlnum(data[s]) {
			continue
		}
		e := s
		for e < len(data) && isAlnum(data[e]) {
			e++
		}
		if e-s >= 5 && e-s <= 24 && e < len(data) && varied(data[s:e]) {
			return data[s:e], true
		}
	}
	return nil, false
}

// flipCase swaps the case of some letters.
func (g *Gen) flipCase(b []byte) []byte {
	out := bytes.Clone(b)
	for i, c := range out {
		if g.r.IntN(2) == 0 {
			switch {
			case c >= 'a' && c <= 'z':
				out[i] = c - 32
			case c >= 'A' && c <= 'Z':
				out[i] = c + 32
			}
		}
	}
	return out
}

// textRun finds 6..24 bytes of letters in data (for ::i).
func textRun(g *Gen, data []byte) ([]byte, bool) {
	for range 400 {
		n := g.between(6, 24)
		if len(data) <= n {
			return nil, false
		}
		s := g.r.IntN(len(data) - n)
		w := data[s : s+n]
		letters := 0
		good := true
		for _, c := range w {
			switch {
			case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
				letters++
			case c < 0x20 || c >= 0x7f:
				good = false
			}
		}
		if good && letters >= 4 && varied(w) {
			return w, true
		}
	}
	return nil, false
}
