package yara

import "github.com/glassav/glassav/match"

// yara warns at compile time that a string "may slow down scanning" when
// the best atoms it can extract from it are poor: its Aho-Corasick
// automaton then reports candidates too often. glassav's matcher picks its
// atoms differently, but the warning is part of yara's interface (yara -w
// silences it, rule authors rely on it), so the checker reproduces yara's
// heuristic: a quality score per atom of up to 4 bytes, the best window of
// each run of fixed bytes, the weakest branch of an alternation, and a
// warning below the threshold yara uses.

const (
	maxAtomLen             = 4
	atomWarnThreshold      = 38 // yara: the quality of atom "61 61"
	atomMaskAny       byte = 0x00
)

// atomByte is one position of an atom: a byte under a mask (0xFF exact,
// 0xF0 or 0x0F a nibble, 0x00 any byte).
type atomByte struct{ val, mask byte }

// commonAtomByte reports the bytes yara scores low: they are frequent in
// every kind of file.
func commonAtomByte(b byte) bool { return b == 0x00 || b == 0x20 || b == 0xCC || b == 0xFF }

// atomQuality scores an atom as yara's heuristic does: exact bytes count
// 20 (letters 18, common bytes 12), nibbles 4, unknown bytes -10; two
// points per distinct exact byte, or a heavy penalty when the only exact
// byte is a common one.
func atomQuality(a []atomByte) int {
	q := 0
	var seen [256]bool
	unique := 0
	for _, x := range a {
		switch x.mask {
		case 0x00:
			q -= 10
		case 0x0F, 0xF0:
			q += 4
		case 0xFF:
			b := x.val
			switch {
			case commonAtomByte(b):
				q += 12
			case 'a' <= b|0x20 && b|0x20 <= 'z':
				q += 18
			default:
				q += 20
			}
			if !seen[b] {
				seen[b] = true
				unique++
			}
		}
	}
	if unique == 1 && (seen[0x00] || seen[0x20] || seen[0x90] || seen[0xCC] || seen[0xFF]) {
		q -= 10 * len(a)
	} else {
		q += 2 * unique
	}
	return q
}

// trimAtom drops unknown bytes at both ends; an atom with as many unknown
// as exact bytes shrinks to its first byte, as yara does.
func trimAtom(a []atomByte) []atomByte {
	for len(a) > 0 && a[0].mask == 0 {
		a = a[1:]
	}
	for len(a) > 0 && a[len(a)-1].mask == 0 {
		a = a[:len(a)-1]
	}
	any, exact := 0, 0
	for _, x := range a {
		switch x.mask {
		case 0xFF:
			exact++
		case 0x00:
			any++
		}
	}
	if len(a) > 0 && any >= exact {
		a = a[:1]
	}
	return a
}

// bestWindow returns the quality of the best (trimmed) window of up to
// maxAtomLen positions of a run, and false for an empty run.
func bestWindow(run []atomByte) (int, bool) {
	if len(run) == 0 {
		return 0, false
	}
	if len(run) <= maxAtomLen {
		a := trimAtom(run)
		if len(a) == 0 {
			return 0, false
		}
		return atomQuality(a), true
	}
	best, ok := 0, false
	for i := 0; i+maxAtomLen <= len(run); i++ {
		a := trimAtom(run[i : i+maxAtomLen])
		if len(a) == 0 {
			continue
		}
		if q := atomQuality(a); !ok || q > best {
			best, ok = q, true
		}
	}
	return best, ok
}

// hexQuality returns the quality of the atoms yara would choose for a hex
// token sequence: the best of its runs and alternations, an alternation
// being as good as its weakest branch. ok is false when no atom exists.
func hexQuality(toks []HexToken) (best int, ok bool) {
	var run []atomByte
	take := func(q int, has bool) {
		if has && (!ok || q > best) {
			best, ok = q, true
		}
	}
	flush := func() {
		take(bestWindow(run))
		run = run[:0]
	}
	for _, t := range toks {
		switch t.Kind {
		case HexByte:
			if t.Not {
				flush()
				continue
			}
			run = append(run, atomByte{t.Value & t.Mask, t.Mask})
		case HexJump:
			flush()
		case HexAlt:
			flush()
			worst, all := 0, true
			for i, alt := range t.Alts {
				q, has := hexQuality(alt)
				if !has {
					all = false
					break
				}
				if i == 0 || q < worst {
					worst = q
				}
			}
			take(worst, all && len(t.Alts) > 0)
		}
	}
	flush()
	return best, ok
}

// textQuality returns the quality of a text string's atoms after its
// modifiers: yara picks the best 4-byte window of the text, then derives
// the wide and xor forms from it and keeps the worst of them.
func textQuality(s *String) (int, bool) {
	text := s.Text
	if len(text) == 0 {
		return 0, false
	}
	atomOf := func(b []byte) []atomByte {
		a := make([]atomByte, len(b))
		for i, x := range b {
			a[i] = atomByte{x, 0xFF}
		}
		return a
	}
	best := text[:min(len(text), maxAtomLen)]
	bq := atomQuality(atomOf(best))
	for i := maxAtomLen; i < len(text); i++ {
		w := text[i-maxAtomLen+1 : i+1]
		if q := atomQuality(atomOf(w)); q > bq {
			best, bq = w, q
		}
	}
	if s.Mods.Base64 || s.Mods.Base64Wide {
		return bq, true
	}
	var forms [][]byte
	if s.Mods.Wide {
		w := make([]byte, 0, maxAtomLen)
		for _, b := range best {
			if len(w) >= maxAtomLen {
				break
			}
			w = append(w, b, 0)
		}
		forms = append(forms, w[:min(len(w), maxAtomLen)])
	}
	if !s.Mods.Wide || s.Mods.ASCII {
		forms = append(forms, best)
	}
	worst, first := 0, true
	for _, f := range forms {
		lo, hi := 0, 0
		if s.Mods.XOR {
			lo, hi = s.Mods.XORMin, s.Mods.XORMax
		}
		for k := lo; k <= hi; k++ {
			x := make([]byte, len(f))
			for i, b := range f {
				x[i] = b ^ byte(k)
			}
			if q := atomQuality(atomOf(x)); first || q < worst {
				worst, first = q, false
			}
		}
	}
	return worst, true
}

// reQuality returns the quality of the atoms yara extracts from a
// regular expression's tree (lowered without the wide modifier, which
// yara applies to the atoms afterwards): runs of literal bytes and of
// '.' (an unknown byte) are cut by classes, assertions and optional or
// unbounded repeats; a repeat of at least n adds its body min(n, 4)
// times; an alternation is as good as its weakest branch.
func reQuality(n *match.Node) (int, bool) {
	w := &reAtoms{}
	w.walk(n)
	w.flush()
	return w.best, w.ok
}

type reAtoms struct {
	run  []atomByte
	best int
	ok   bool
}

func (w *reAtoms) take(q int, ok bool) {
	if ok && (!w.ok || q > w.best) {
		w.best, w.ok = q, true
	}
}

func (w *reAtoms) flush() {
	w.take(bestWindow(w.run))
	w.run = w.run[:0]
}

func (w *reAtoms) walk(n *match.Node) {
	switch n.Op {
	case match.OpLiteral:
		for _, b := range n.Lit {
			w.run = append(w.run, atomByte{b, 0xFF})
		}
	case match.OpClass:
		switch k := n.Class.Count(); {
		case k == 1:
			w.run = append(w.run, atomByte{lowestByte(n.Class), 0xFF})
		case k >= 255: // '.', with or without the s flag
			w.run = append(w.run, atomByte{0, atomMaskAny})
		default:
			w.flush()
		}
	case match.OpConcat:
		for _, sub := range n.Sub {
			w.walk(sub)
		}
	case match.OpAlt:
		w.flush()
		worst, all := 0, true
		for i, sub := range n.Sub {
			q, ok := reQuality(sub)
			if !ok {
				all = false
				break
			}
			if i == 0 || q < worst {
				worst = q
			}
		}
		w.take(worst, all && len(n.Sub) > 0)
	case match.OpRepeat:
		if sub := n.Sub[0]; n.Min > 0 && !(sub.Op == match.OpClass && sub.Class.Count() >= 255) {
			times := min(n.Min, maxAtomLen)
			if n.Max < 0 && n.Min == 1 {
				times = 1
			}
			for range times {
				w.walk(sub)
			}
		}
		w.flush()
	default: // assertions, empty
		w.flush()
	}
}

func lowestByte(c match.Class) byte {
	for b := 0; b < 256; b++ {
		if c.Has(byte(b)) {
			return byte(b)
		}
	}
	return 0
}

// slowString reports whether yara would warn that s may slow down
// scanning.
func slowString(s *String) bool {
	var q int
	var ok bool
	switch s.Kind {
	case TextPattern:
		q, ok = textQuality(s)
	case HexPattern:
		q, ok = hexQuality(s.Hex)
	case RegexpPattern:
		if s.Mods.Base64 || s.Mods.Base64Wide {
			return false
		}
		n, err := lowerRegexp(s.Re.Source, reFlags{nocase: s.Re.NoCase, dotAll: s.Re.DotAll})
		if err != nil {
			return false // the checker reports the error
		}
		q, ok = reQuality(n)
	default:
		return false
	}
	return !ok || q < atomWarnThreshold
}
