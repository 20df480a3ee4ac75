package yara

import (
	"fmt"
	"sort"

	"github.com/glassav/glassav/match"
)

// Limits yara applies to string matches.
const (
	// maxMatchData is how many bytes of a match yara keeps (MAX_MATCH_DATA).
	maxMatchData = 512
	// reScanLimit is how far yara's regular-expression engine looks from
	// the atom it found (YR_RE_SCAN_LIMIT): longer matches are cut or lost.
	reScanLimit = 4096
	// proveBudget bounds the priority verifier's work per match (thread
	// steps, a few milliseconds).
	proveBudget = 1 << 20
)

// stringProg is one YARA string lowered for the matcher: a pattern tree per
// variant (ascii, wide, one per xor or base64 form when they must be told
// apart) and what confirm needs to turn the matcher's hits into yara's
// matches.
type stringProg struct {
	s    *String
	pats []*match.Node
	vars []variant
}

// variant is what confirm knows about one pattern of a string.
type variant struct {
	end   endRule
	fixed int         // endFixed: the length of every match
	prog  *match.Prog // endPriority
	wide  bool        // fullword checks look at 16-bit units
	// xor: plain holds the pattern bytes before xor; the key is recovered
	// from the first byte of the match.
	xor   bool
	plain []byte
	// window: yara verifies the pattern within reScanLimit bytes of where
	// it found it (regular expressions, hex strings without long jumps).
	window bool
}

// endRule says how confirm finds the end of a match.
type endRule uint8

const (
	// endFixed: every match has the same length.
	endFixed endRule = iota
	// endShortest: the smallest end, which the matcher reports. Hex
	// strings without alternatives: their jumps are lazy.
	endShortest
	// endPriority: the end a backtracking engine would choose, which the
	// priority verifier computes.
	endPriority
)

// compileString lowers s into the matcher's patterns.
func compileString(s *String) (*stringProg, error) {
	p := &stringProg{s: s}
	var err error
	switch s.Kind {
	case TextPattern:
		err = p.text()
	case HexPattern:
		err = p.hex()
	case RegexpPattern:
		err = p.regexp()
	default:
		err = fmt.Errorf("unknown pattern kind %d", s.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("string %s: %w", s.ID, err)
	}
	return p, nil
}

// nodes returns the patterns to search, one per variant; confirm takes the
// index of the pattern a hit belongs to.
func (p *stringProg) nodes() []*match.Node { return p.pats }

// confirm turns hit h of pattern k (nodes()[k]) into yara's matches,
// appended to dst: zero or one normally. It applies what the matcher does
// not know: the match end a backtracking engine with Perl priorities gives
// (yara reports that, not the shortest), the fullword check, the xor key,
// yara's 4,096-byte window for regular expressions and hex strings, and the
// 512-byte cap on the data kept.
//
// yara measures its window, and runs its priorities, from the atom it found
// the pattern by; confirm measures from the start of the match. The two
// agree when the pattern begins with its atom (a literal prefix), which is
// what the differential test against yara exercises.
func (p *stringProg) confirm(data []byte, k int, h match.Hit, dst []StringMatch) []StringMatch {
	if k < 0 || k >= len(p.vars) {
		return dst
	}
	v := &p.vars[k]
	start := int(h.Start)
	if start < 0 || start > len(data) {
		return dst
	}
	var end int
	switch v.end {
	case endFixed:
		end = start + v.fixed
		if end > len(data) {
			return dst
		}
	case endShortest:
		end = int(h.End)
		if end < start || end > len(data) {
			return dst
		}
	default:
		limit := len(data)
		if v.window && start+reScanLimit < limit {
			limit = start + reScanLimit
		}
		e, ok, exhausted := v.prog.MatchAtBudget(data, start, limit, proveBudget)
		switch {
		case exhausted:
			// Too costly to settle: keep the shortest end.
			end = int(h.End)
		case !ok:
			return dst
		default:
			end = e
		}
	}
	if end == start {
		return dst // yara never reports an empty match
	}
	if v.window && end-start > reScanLimit {
		return dst
	}
	if p.s.Mods.Fullword && !fullwordOK(data, start, end, v.wide) {
		return dst
	}
	m := StringMatch{Offset: int64(start), Length: int64(end - start)}
	if v.xor {
		if len(v.plain) == 0 || end <= start {
			return dst
		}
		m.XorKey = data[start] ^ v.plain[0]
		m.HasXorKey = true
		if int(m.XorKey) < p.s.Mods.XORMin || int(m.XorKey) > p.s.Mods.XORMax {
			return dst
		}
	}
	n := end - start
	if n > maxMatchData {
		n = maxMatchData
	}
	m.Data = append([]byte(nil), data[start:start+n]...)
	return append(dst, m)
}

// fullwordOK reports whether data[start:end] stands alone as yara's fullword
// requires: no ASCII letter or digit just before or after it; for wide
// strings, no such character followed by a zero byte.
func fullwordOK(data []byte, start, end int, wide bool) bool {
	if wide {
		if start >= 2 && data[start-1] == 0 && isAlnumByte(data[start-2]) {
			return false
		}
		if end+1 < len(data) && data[end+1] == 0 && isAlnumByte(data[end]) {
			return false
		}
		return true
	}
	if start > 0 && isAlnumByte(data[start-1]) {
		return false
	}
	if end < len(data) && isAlnumByte(data[end]) {
		return false
	}
	return true
}

func isAlnumByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// widths returns which of the ascii and wide forms a string has: ascii by
// default, wide alone when only wide is given.
func (m *Modifiers) widths() (ascii, wide bool) {
	return m.ASCII || !m.Wide, m.Wide
}

// wideBytes interleaves a zero byte after every byte of b, as yara's wide
// modifier does (UTF-16LE for ASCII text).
func wideBytes(b []byte) []byte {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = c
	}
	return out
}

// addFixed adds a pattern whose matches all have the same length.
func (p *stringProg) addFixed(n *match.Node, length int, v variant) {
	v.end, v.fixed = endFixed, length
	p.pats = append(p.pats, n)
	p.vars = append(p.vars, v)
}

// addVar adds a pattern whose matches may differ in length: their end is
// the shortest one or, with priority, the one the priority verifier
// chooses.
func (p *stringProg) addVar(n *match.Node, v variant, priority bool) error {
	lo, hi := treeLen(n)
	switch {
	case lo == hi:
		v.end, v.fixed = endFixed, lo
	case priority:
		prog, err := match.CompileProg(n)
		if err != nil {
			// Too large to unroll (nested counted repeats): settle
			// for the shortest end rather than reject what yara
			// accepts.
			v.end = endShortest
			break
		}
		v.end, v.prog = endPriority, prog
	default:
		v.end = endShortest
	}
	p.pats = append(p.pats, n)
	p.vars = append(p.vars, v)
	return nil
}

// text lowers a text string with its modifiers.
func (p *stringProg) text() error {
	m := &p.s.Mods
	if len(p.s.Text) == 0 {
		return fmt.Errorf("empty string")
	}
	if m.Base64 || m.Base64Wide {
		return p.base64()
	}
	ascii, wide := m.widths()
	forms := [][]byte{}
	wides := []bool{}
	if ascii {
		forms, wides = append(forms, p.s.Text), append(wides, false)
	}
	if wide {
		forms, wides = append(forms, wideBytes(p.s.Text)), append(wides, true)
	}
	for i, b := range forms {
		v := variant{wide: wides[i]}
		if m.XOR {
			v.xor, v.plain = true, b
			alts := make([]*match.Node, 0, m.XORMax-m.XORMin+1)
			for k := m.XORMin; k <= m.XORMax; k++ {
				x := make([]byte, len(b))
				for j, c := range b {
					x[j] = c ^ byte(k)
				}
				alts = append(alts, match.Lit(x))
			}
			n := alts[0]
			if len(alts) > 1 {
				n = match.Alt(alts...)
			}
			p.addFixed(n, len(b), v)
			continue
		}
		n := match.Lit(b)
		n.Fold = m.NoCase
		p.addFixed(n, len(b), v)
	}
	return nil
}

// hex lowers a hex string. Its jumps are lazy, so without alternatives
// the shortest match is yara's; alternatives are tried in order. yara
// splits a hex string at jumps longer than 200 bytes and chains the pieces,
// so only hex strings without such jumps are held to its 4,096-byte window.
//
// Known divergence: when yara takes its atoms from inside an alternation
// (a short or weak prefix before alternatives of different lengths, as in
// { 51 ( 52 53 | 52 ) }), it verifies from each alternative separately and
// keeps the first match found, usually the shorter; confirm reports the
// first alternative that matches (51 52 53 where yara says 51 52).
func (p *stringProg) hex() error {
	n, err := hexTree(p.s.Hex, 0)
	if err != nil {
		return err
	}
	// With long jumps yara matches the pieces apart and chains them with
	// the shortest gaps; only alternatives within a piece have priorities,
	// which the shortest end approximates.
	alts, long := hexShape(p.s.Hex)
	return p.addVar(n, variant{window: !long}, alts && !long)
}

// hexShape reports whether toks hold alternatives and jumps longer than
// yara's chaining threshold.
func hexShape(toks []HexToken) (alts, long bool) {
	for _, t := range toks {
		switch t.Kind {
		case HexAlt:
			alts = true
		case HexJump:
			if t.Max < 0 || t.Max > maxJumpInAlt || t.Min > maxJumpInAlt {
				long = true
			}
		}
	}
	return alts, long
}

// regexp lowers a regular-expression string in its ascii and wide forms.
func (p *stringProg) regexp() error {
	m := &p.s.Mods
	ascii, wide := m.widths()
	for _, w := range []bool{false, true} {
		if (w && !wide) || (!w && !ascii) {
			continue
		}
		n, err := lowerRegexp(p.s.Re.Source, reFlags{nocase: m.NoCase || p.s.Re.NoCase, dotAll: p.s.Re.DotAll, wide: w})
		if err != nil {
			return fmt.Errorf("invalid regular expression: %w", err)
		}
		if err := p.addVar(n, variant{wide: w, window: true}, true); err != nil {
			return err
		}
	}
	return nil
}

// hexTree lowers a hex token sequence.
func hexTree(toks []HexToken, depth int) (*match.Node, error) {
	if depth > maxHexDepth {
		return nil, fmt.Errorf("hex alternatives nested too deeply")
	}
	subs := make([]*match.Node, 0, len(toks))
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			subs = append(subs, match.Lit(lit))
			lit = nil
		}
	}
	for _, t := range toks {
		switch t.Kind {
		case HexByte:
			if t.Mask == 0xFF && !t.Not {
				lit = append(lit, t.Value)
				continue
			}
			flush()
			var c match.Class
			for b := 0; b < 256; b++ {
				if byte(b)&t.Mask == t.Value&t.Mask {
					c.Add(byte(b))
				}
			}
			if t.Not {
				c.Negate()
			}
			subs = append(subs, match.Cls(c))
		case HexJump:
			flush()
			subs = append(subs, hexJump(t.Min, t.Max))
		case HexAlt:
			flush()
			alts := make([]*match.Node, 0, len(t.Alts))
			for _, a := range t.Alts {
				n, err := hexTree(a, depth+1)
				if err != nil {
					return nil, err
				}
				alts = append(alts, n)
			}
			subs = append(subs, match.Alt(alts...))
		default:
			return nil, fmt.Errorf("unknown hex token kind %d", t.Kind)
		}
	}
	flush()
	if len(subs) == 1 {
		return subs[0], nil
	}
	return match.Cat(subs...), nil
}

// maxNodeRepeat is the largest repeat count a match.Node may carry.
const maxNodeRepeat = 1 << 16

// hexJump lowers [min-max] to a lazy gap. Bounds beyond what a node can
// carry become a chain of maximal gaps and, for the upper bound, an
// unbounded one.
func hexJump(min, max int) *match.Node {
	var subs []*match.Node
	for min > maxNodeRepeat {
		subs = append(subs, lazyGap(maxNodeRepeat, maxNodeRepeat))
		min -= maxNodeRepeat
		if max >= 0 {
			max -= maxNodeRepeat
		}
	}
	if max > maxNodeRepeat {
		max = -1
	}
	subs = append(subs, lazyGap(min, max))
	if len(subs) == 1 {
		return subs[0]
	}
	return match.Cat(subs...)
}

func lazyGap(min, max int) *match.Node {
	n := match.Gap(min, max)
	n.Greedy = false
	return n
}

// treeLen returns the shortest and longest match length of n (hi < 0:
// unbounded).
func treeLen(n *match.Node) (lo, hi int) {
	switch n.Op {
	case match.OpLiteral:
		return len(n.Lit), len(n.Lit)
	case match.OpClass:
		return 1, 1
	case match.OpConcat:
		for _, s := range n.Sub {
			a, b := treeLen(s)
			lo += a
			if hi >= 0 {
				if b < 0 {
					hi = -1
				} else {
					hi += b
				}
			}
		}
		return lo, hi
	case match.OpAlt:
		for i, s := range n.Sub {
			a, b := treeLen(s)
			if i == 0 || a < lo {
				lo = a
			}
			if i == 0 || hi >= 0 && (b < 0 || b > hi) {
				hi = b
			}
		}
		return lo, hi
	case match.OpRepeat:
		a, b := treeLen(n.Sub[0])
		lo = a * n.Min
		switch {
		case n.Max < 0 || b < 0:
			if b == 0 || n.Max == 0 {
				return lo, 0
			}
			return lo, -1
		}
		return lo, b * n.Max
	}
	return 0, 0
}

// base64 lowers the base64 and base64wide modifiers: yara encodes the text
// (and its wide form when wide is given) at the three alignments a 3-byte
// group can have, drops the characters that depend on the unknown bytes
// around it, and searches the alternation of the results.
func (p *stringProg) base64() error {
	m := &p.s.Mods
	alphabet := m.Alphabet
	if alphabet == "" {
		alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	}
	if len(alphabet) != 64 {
		return fmt.Errorf("base64 alphabet must be 64 bytes long")
	}
	var alts [][]byte
	add := func(text []byte) {
		if m.Base64 {
			alts = append(alts, base64Forms(text, alphabet, false)...)
		}
		if m.Base64Wide {
			alts = append(alts, base64Forms(text, alphabet, true)...)
		}
	}
	if m.Wide {
		add(wideBytes(p.s.Text))
	}
	if m.ASCII || !m.Wide {
		add(p.s.Text)
	}
	subs := make([]*match.Node, 0, len(alts))
	for _, a := range alts {
		if len(a) > 0 {
			subs = append(subs, match.Lit(a))
		}
	}
	if len(subs) == 0 {
		return fmt.Errorf("string too short for base64")
	}
	n := subs[0]
	if len(subs) > 1 {
		n = match.Alt(subs...)
	}
	return p.addVar(n, variant{}, true)
}

// base64Forms returns yara's base64 search strings for text: for each
// number i of bytes before it in its 3-byte group (1 is skipped for a
// one-byte text), the encoding of i filler bytes and text with the
// characters that depend on the fillers (i+1 when i > 0) and on the
// missing bytes after it (pad+1, pad counting the '=' padding, when pad >
// 0) cut off; widened for base64wide.
func base64Forms(text []byte, alphabet string, wide bool) [][]byte {
	var out [][]byte
	for i := 0; i <= 2; i++ {
		if i == 1 && len(text) == 1 {
			continue
		}
		buf := make([]byte, 0, i+len(text))
		for j := 0; j < i; j++ {
			buf = append(buf, 'A')
		}
		buf = append(buf, text...)
		enc := base64Encode(buf, alphabet)
		pad := 0
		if r := len(buf) % 3; r != 0 {
			pad = 3 - r
		}
		lead, trail := 0, 0
		if i > 0 {
			lead = i + 1
		}
		if pad > 0 {
			trail = pad + 1
		}
		if lead+trail >= len(enc) {
			continue
		}
		s := enc[lead : len(enc)-trail]
		if wide {
			s = wideBytes(s)
		}
		out = append(out, s)
	}
	return out
}

// base64Encode encodes b with alphabet and '=' padding.
func base64Encode(b []byte, alphabet string) []byte {
	out := make([]byte, 0, (len(b)+2)/3*4)
	for len(b) >= 3 {
		out = append(out, alphabet[b[0]>>2], alphabet[(b[0]&3)<<4|b[1]>>4], alphabet[(b[1]&0xF)<<2|b[2]>>6], alphabet[b[2]&0x3F])
		b = b[3:]
	}
	switch len(b) {
	case 1:
		out = append(out, alphabet[b[0]>>2], alphabet[(b[0]&3)<<4], '=', '=')
	case 2:
		out = append(out, alphabet[b[0]>>2], alphabet[(b[0]&3)<<4|b[1]>>4], alphabet[(b[1]&0xF)<<2], '=')
	}
	return out
}

// matches returns the string's matches in data given the hits of its
// patterns (hits(k) for nodes()[k]), in yara's order: by offset, one per
// offset (the first variant's when two variants match at the same offset,
// as yara keeps one match per offset and string).
func (p *stringProg) matches(data []byte, hits func(k int) []match.Hit, dst []StringMatch) []StringMatch {
	base := len(dst)
	for k := range p.pats {
		for _, h := range hits(k) {
			dst = p.confirm(data, k, h, dst)
		}
	}
	out := dst[base:]
	if len(p.pats) > 1 {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	}
	w := 0
	for i, m := range out {
		if i > 0 && m.Offset == out[w-1].Offset {
			continue
		}
		out[w] = m
		w++
	}
	return dst[:base+w]
}
