package difftest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"

	"github.com/glassav/glassav/yara"
)

// YARARule is one generated YARA rule. Want says the generator built it to
// match the file its strings were cut from; negatives (near misses) have
// Want false and are compared like the others.
type YARARule struct {
	Name string
	Path string
	Src  string
	Want bool
}

// YARAFeature generates one rule of one form from a file.
type YARAFeature struct {
	Name string
	Gen  func(g *Gen, f *File) (YARARule, bool)
}

// YARAFeatures returns the rule forms the YARA differential test covers:
// every string kind and modifier that applies to real files, and the
// condition forms over them (offsets, counts, lengths, sets, loops,
// integer reads, arithmetic), plus near misses.
func YARAFeatures() []YARAFeature {
	return []YARAFeature{
		{"text", yText("", false)},
		{"text-nocase", yText("nocase", true)},
		{"text-ascii-wide", yText("ascii wide", false)},
		{"text-private", yText("private", false)},
		{"text-at", yCond(func(g *Gen, c *yCut) string { return fmt.Sprintf("$a at %d", c.first) })},
		{"text-in", yCond(func(g *Gen, c *yCut) string {
			return fmt.Sprintf("$a in (%d..%d)", max(0, c.first-int64(g.between(0, 50))), c.first+int64(g.between(0, 50)))
		})},
		{"text-count", yCond(func(g *Gen, c *yCut) string { return fmt.Sprintf("#a == %d", c.count) })},
		// Not "#a in (lo..hi)": yara 4.2.3 fails every scan with it (error 31).
		{"text-count-range", yCond(func(g *Gen, c *yCut) string { return fmt.Sprintf("#a >= 1 and #a <= %d", c.count+1) })},
		{"text-first", yCond(func(g *Gen, c *yCut) string { return fmt.Sprintf("@a[1] == %d", c.first) })},
		{"text-length", yCond(func(g *Gen, c *yCut) string { return fmt.Sprintf("!a[1] == %d and !a == %d", len(c.b), len(c.b)) })},
		{"text-loop", yCond(func(g *Gen, c *yCut) string {
			return fmt.Sprintf("for all i in (1..#a) : (@a[i] >= %d) and for any i in (1..#a) : (@a[i] == %d)", c.first, c.first)
		})},
		{"text-offset-arith", yCond(func(g *Gen, c *yCut) string {
			return fmt.Sprintf("(@a[1] + %d) %% 7 == %d and (@a[1] | 1) >= %d", len(c.b), (c.first+int64(len(c.b)))%7, c.first)
		})},
		{"wide", yWide},
		{"fullword", yFullword},
		{"xor", yXor(false)},
		{"xor-range", yXor(true)},
		{"hex", yHex(0)},
		{"hex-wildcard", yHex(1)},
		{"hex-nibble", yHex(2)},
		{"hex-alt", yHex(3)},
		{"hex-jump", yHexJump},
		{"regexp", yRegexp(false)},
		{"regexp-nocase", yRegexp(true)},
		{"regexp-repeat", yRegexpRepeat},
		{"of", yOf("2 of them")},
		{"of-any", yOf("any of ($a*, $c) and #b >= 1")},
		{"of-all", yOf("all of them")},
		{"for-of", yOf("for any of ($a, $b) : ($ at @a[1] or $ at @b[1])")},
		{"int-reads", yInts},
		{"filesize", yFilesize},
		{"near-miss", yNearMiss},
		{"cond-mix", yCondMix},
		{"rule-ref", yRuleRef},
		{"externals", yExternals},
		{"hash", yHash},
	}
}

// YARARules generates one rule of every form that applies to f, named
// y_<n>_<form>.
func (g *Gen) YARARules(f *File) []YARARule {
	var out []YARARule
	for _, ft := range YARAFeatures() {
		r, ok := ft.Gen(g, f)
		if !ok {
			continue
		}
		name := fmt.Sprintf("y_%d_%s", g.seq, strings.ReplaceAll(ft.Name, "-", "_"))
		r.Src = strings.Replace(r.Src, "rule "+r.Name+" ", "rule "+name+" ", 1)
		r.Name = name
		out = append(out, r)
	}
	return out
}

// YARASynthetic builds a file (to be written at path) from f's bytes for
// the modifiers real files rarely exercise: base64 and base64wide (standard
// and custom alphabets, at the three alignments), wide text, and xor with
// every key form. It returns the file and the rules that look for what was
// planted, each named y_<n>_<form>.
func (g *Gen) YARASynthetic(f *File, path string) (*File, []YARARule) {
	var data bytes.Buffer
	data.Write(f.Data[:min(len(f.Data), 2048)])
	syn := &File{Path: path}
	var rules []YARARule
	add := func(form, strs, cond string) {
		g.seq++
		r := g.yRule(syn, strings.ReplaceAll(form, "-", "_"), strs, cond, true)
		name := fmt.Sprintf("y_%d_%s", g.seq, strings.ReplaceAll(form, "-", "_"))
		r.Src = strings.Replace(r.Src, "rule "+r.Name+" ", "rule "+name+" ", 1)
		r.Name = name
		rules = append(rules, r)
	}
	pad := func() {
		n := g.between(1, 64)
		s, ok := g.cut(f.Data, n, 0, f.Size())
		if ok {
			data.Write(f.Data[s : s+int64(n)])
		} else {
			data.WriteString(strings.Repeat("-", n))
		}
		data.WriteByte('\n')
	}
	const custom = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210+/"
	for _, form := range []string{"base64", "base64wide", "base64-alphabet", "wide", "wide-nocase"} {
		c, ok := g.textCut(f)
		if !ok {
			continue
		}
		// Printable text: base64 strings of binary bytes are legal but
		// the point here is the encodings.
		text := make([]byte, len(c.b))
		for i, x := range c.b {
			text[i] = 'a' + x%26
		}
		switch form {
		case "base64", "base64wide", "base64-alphabet":
			enc := base64.StdEncoding
			mod := "base64"
			if form == "base64wide" {
				mod = "base64wide"
			}
			if form == "base64-alphabet" {
				enc = base64.NewEncoding(custom)
				mod = fmt.Sprintf("base64(%q)", custom)
			}
			lead := make([]byte, g.between(0, 2))
			for i := range lead {
				lead[i] = 'A' + byte(g.r.IntN(26))
			}
			e := enc.EncodeToString(append(lead, text...))
			if form == "base64wide" {
				e = string(wide([]byte(e)))
			}
			pad()
			data.WriteString(e)
			pad()
			add(form, fmt.Sprintf("$a = %s %s", yString(text), mod), "$a")
		default:
			pad()
			data.Write(wide(text))
			pad()
			mod := "wide"
			if form == "wide-nocase" {
				mod = "wide nocase"
				text = bytes.ToUpper(text)
			}
			add(form, fmt.Sprintf("$a = %s %s ascii", yString(text), mod), "$a and #a >= 1")
		}
	}
	syn.Data = data.Bytes()
	return syn, rules
}

// wide interleaves zero bytes, as UTF-16LE of ASCII.
func wide(b []byte) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, c, 0)
	}
	return out
}

// YARAExternals are the external variables generated rules use, with the
// values the tests define (yara -d).
var YARAExternals = []string{"ext_int=5", "ext_str=hello world", "ext_bool=true", "ext_float=1.5"}

// yCut is a string cut from a file with facts about it.
type yCut struct {
	b     []byte
	first int64 // offset of the first occurrence
	count int   // overlapping occurrences
}

// textCut picks a varied cut of 6 to 24 bytes and measures it.
func (g *Gen) textCut(f *File) (*yCut, bool) {
	n := g.between(6, 24)
	s, ok := g.cut(f.Data, n, 0, f.Size())
	if !ok {
		return nil, false
	}
	b := f.Data[s : s+int64(n)]
	c := countOverlapping(f.Data, b)
	if c > 50 {
		return nil, false // keep -s output small
	}
	return &yCut{b: b, first: int64(bytes.Index(f.Data, b)), count: c}, true
}

// yText renders a text string with escapes and the given modifiers.
func yText(mods string, flipCase bool) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		c, ok := g.textCut(f)
		if !ok {
			return YARARule{}, false
		}
		b := c.b
		if flipCase {
			b = bytes.Clone(b)
			letters := 0
			for i, x := range b {
				if x|0x20 >= 'a' && x|0x20 <= 'z' {
					letters++
					if g.r.IntN(2) == 0 {
						b[i] ^= 0x20
					}
				}
			}
			if letters == 0 {
				return YARARule{}, false
			}
		}
		cond := "$a"
		if strings.Contains(mods, "private") {
			cond = "$a and #a > 0"
		}
		return g.yRule(f, "text", fmt.Sprintf("$a = %s %s", yString(b), mods), cond, true), true
	}
}

// yCond wraps a text cut in a condition built from its facts.
func yCond(cond func(g *Gen, c *yCut) string) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		c, ok := g.textCut(f)
		if !ok {
			return YARARule{}, false
		}
		return g.yRule(f, "cond", "$a = "+yString(c.b), cond(g, c), true), true
	}
}

// yWide finds a UTF-16LE run of printable ASCII and matches it with wide.
func yWide(g *Gen, f *File) (YARARule, bool) {
	re := regexp.MustCompile(`(?:[\x20-\x7e]\x00){6,20}`)
	locs := re.FindAllIndex(f.Data, 200)
	if len(locs) == 0 {
		return YARARule{}, false
	}
	l := locs[g.r.IntN(len(locs))]
	var ascii []byte
	for i := l[0]; i < l[1]; i += 2 {
		ascii = append(ascii, f.Data[i])
	}
	mods := "wide"
	if g.r.IntN(2) == 0 {
		mods = "wide nocase"
	}
	return g.yRule(f, "wide", fmt.Sprintf("$a = %s %s", yString(ascii), mods), "$a", true), true
}

// yFullword takes a word bounded by non-alphanumerics and asks for it with
// fullword; half the time a word cut short, which fullword may reject.
func yFullword(g *Gen, f *File) (YARARule, bool) {
	re := regexp.MustCompile(`[^A-Za-z0-9][A-Za-z0-9]{4,16}[^A-Za-z0-9]`)
	locs := re.FindAllIndex(f.Data, 500)
	if len(locs) == 0 {
		return YARARule{}, false
	}
	l := locs[g.r.IntN(len(locs))]
	w := f.Data[l[0]+1 : l[1]-1]
	want := true
	if g.r.IntN(2) == 0 {
		w, want = w[:len(w)-1], false
	}
	return g.yRule(f, "fullword", fmt.Sprintf("$a = %s fullword", yString(w)), "$a", want), true
}

// yXor writes a cut xored with a key; the xor modifier finds the file's
// bytes under that key.
func yXor(ranged bool) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		c, ok := g.textCut(f)
		if !ok {
			return YARARule{}, false
		}
		k := byte(g.between(1, 255))
		b := make([]byte, len(c.b))
		for i := range b {
			b[i] = c.b[i] ^ k
		}
		mod := "xor"
		if ranged {
			lo := max(0, int(k)-g.between(0, 3))
			hi := min(255, int(k)+g.between(0, 3))
			mod = fmt.Sprintf("xor(%d-%d)", lo, hi)
		}
		return g.yRule(f, "xor", fmt.Sprintf("$a = %s %s", yString(b), mod), "$a", true), true
	}
}

// yHex renders a cut as a hex string: plain, with ?? wildcards, with
// nibble wildcards, or with an alternative holding the real bytes.
func yHex(kind int) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		c, ok := g.textCut(f)
		if !ok {
			return YARARule{}, false
		}
		var parts []string
		for i, x := range c.b {
			inner := i > 0 && i < len(c.b)-1
			switch {
			case kind == 1 && inner && g.r.IntN(4) == 0:
				parts = append(parts, "??")
			case kind == 2 && inner && g.r.IntN(4) == 0:
				if g.r.IntN(2) == 0 {
					parts = append(parts, fmt.Sprintf("%X?", x>>4))
				} else {
					parts = append(parts, fmt.Sprintf("?%X", x&15))
				}
			case kind == 3 && inner && i == len(c.b)/2:
				alts := []string{fmt.Sprintf("%02X", x), fmt.Sprintf("%02X %02X", g.otherByte(x), g.otherByte())}
				g.r.Shuffle(2, func(i, j int) { alts[i], alts[j] = alts[j], alts[i] })
				parts = append(parts, "( "+alts[0]+" | "+alts[1]+" )")
			default:
				parts = append(parts, fmt.Sprintf("%02X", x))
			}
		}
		return g.yRule(f, "hex", "$a = { "+strings.Join(parts, " ")+" }", "$a", true), true
	}
}

// yHexJump joins two cuts with a jump covering the real gap.
func yHexJump(g *Gen, f *File) (YARARule, bool) {
	a, b, _, gap, ok := g.twoParts(f.Data, 1, 60)
	if !ok {
		return YARARule{}, false
	}
	lo := max(0, gap-g.between(0, 5))
	hi := gap + g.between(0, 5)
	return g.yRule(f, "hexjump", fmt.Sprintf("$a = { %s [%d-%d] %s }", yHexBytes(a), lo, hi, yHexBytes(b)), "$a", true), true
}

// yRegexp renders a cut as a regular expression: escaped bytes, some
// replaced by '.' or a class holding them.
func yRegexp(nocase bool) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		c, ok := g.textCut(f)
		if !ok {
			return YARARule{}, false
		}
		var re strings.Builder
		for i, x := range c.b {
			inner := i > 0 && i < len(c.b)-1
			switch {
			case inner && x != '\n' && g.r.IntN(5) == 0:
				re.WriteString(".")
			case inner && g.r.IntN(5) == 0:
				lo := byte(max(0, int(x)-g.between(0, 20)))
				hi := byte(min(255, int(x)+g.between(0, 20)))
				fmt.Fprintf(&re, `[\x%02x-\x%02x]`, lo, hi)
			default:
				re.WriteString(yReByte(x))
			}
		}
		flags := ""
		if nocase {
			flags = "i"
		}
		return g.yRule(f, "regexp", fmt.Sprintf("$a = /%s/%s", re.String(), flags), "$a", true), true
	}
}

// yRegexpRepeat finds a run of one byte and matches it with a bounded
// repetition between two literal neighbours.
func yRegexpRepeat(g *Gen, f *File) (YARARule, bool) {
	c, ok := g.textCut(f)
	if !ok || len(c.b) < 8 {
		return YARARule{}, false
	}
	mid := c.b[2 : len(c.b)-2]
	return g.yRule(f, "regexprep", fmt.Sprintf("$a = /%s%s[\\x00-\\xff]{%d,%d}%s%s/",
		yReByte(c.b[0]), yReByte(c.b[1]), max(0, len(mid)-2), len(mid)+2, yReByte(c.b[len(c.b)-2]), yReByte(c.b[len(c.b)-1])), "$a", true), true
}

// yOf declares two real strings and one absent one under a set condition.
func yOf(cond string) func(g *Gen, f *File) (YARARule, bool) {
	return func(g *Gen, f *File) (YARARule, bool) {
		a, ok1 := g.textCut(f)
		b, ok2 := g.textCut(f)
		if !ok1 || !ok2 {
			return YARARule{}, false
		}
		fake := g.otherBytes(a.b)
		strs := fmt.Sprintf("$a = %s $b = %s $c = %s", yString(a.b), yString(b.b), yString(fake))
		want := !strings.HasPrefix(cond, "all") || bytes.Contains(f.Data, fake)
		if strings.HasPrefix(cond, "for any of") {
			strs += "\n    $d = " + yString(g.otherBytes(b.b))
			cond += " and #c >= 0 and #d >= 0"
		}
		return g.yRule(f, "of", strs, cond, want), true
	}
}

// yInts compares integer reads at a random offset with the file's bytes,
// through arithmetic and bitwise operators.
func yInts(g *Gen, f *File) (YARARule, bool) {
	if f.Size() < 16 {
		return YARARule{}, false
	}
	o := g.r.Int64N(f.Size() - 4)
	d := f.Data[o:]
	le32, be32 := binary.LittleEndian.Uint32(d), binary.BigEndian.Uint32(d)
	le16, be16 := binary.LittleEndian.Uint16(d), binary.BigEndian.Uint16(d)
	conds := []string{
		fmt.Sprintf("uint32(%d) == 0x%x", o, le32),
		fmt.Sprintf("uint32be(%d) == %d", o, be32),
		fmt.Sprintf("uint16(%d) & 0xff == %d", o, le16&0xff),
		fmt.Sprintf("uint16be(%d) >> 4 == %d", o, be16>>4),
		fmt.Sprintf("int8(%d) == %d", o, int8(d[0])),
		fmt.Sprintf("int16(%d) == %d", o, int16(le16)),
		fmt.Sprintf("int32be(%d) == %d", o, int32(be32)),
		fmt.Sprintf("(uint8(%d) ^ 0x5a) == %d", o, d[0]^0x5a),
		fmt.Sprintf("uint8(%d) * 3 - 1 == %d", o, int(d[0])*3-1),
		fmt.Sprintf("~uint8(%d) == %d", o, ^int64(d[0])),
		"uint32(filesize) == 0 or not defined uint32(filesize)",
	}
	g.r.Shuffle(len(conds), func(i, j int) { conds[i], conds[j] = conds[j], conds[i] })
	return g.yRule(f, "ints", "", strings.Join(conds[:3], " and "), true), true
}

// yFilesize bounds filesize around the file's size; half are off by one.
func yFilesize(g *Gen, f *File) (YARARule, bool) {
	n := f.Size()
	conds := []string{
		fmt.Sprintf("filesize == %d", n),
		fmt.Sprintf("filesize > %d and filesize < %d", n-1, n+1),
		fmt.Sprintf("filesize \\ 3 == %d and filesize %% 3 == %d", n/3, n%3),
		fmt.Sprintf("filesize == %dKB or filesize > %d", n>>10, n-1),
	}
	want := true
	cond := conds[g.r.IntN(len(conds))]
	if g.r.IntN(2) == 0 {
		cond, want = fmt.Sprintf("filesize == %d", n+1), false
	}
	return g.yRule(f, "filesize", "", cond, want), true
}

// yCondMix combines condition forms over two real strings and an absent
// one, every one true by construction: percentages, string-set loops,
// counts of an absent string, reads at match offsets, last occurrences,
// ranges anchored at filesize, integer loops, bitwise operators and
// undefined values (division by zero) under "or".
func yCondMix(g *Gen, f *File) (YARARule, bool) {
	a, ok1 := g.textCut(f)
	b, ok2 := g.textCut(f)
	if !ok1 || !ok2 || f.Size() < 8 {
		return YARARule{}, false
	}
	fake := g.otherBytes(a.b)
	if bytes.Contains(f.Data, fake) {
		return YARARule{}, false
	}
	n := f.Size()
	last := int64(bytes.LastIndex(f.Data, a.b))
	conds := []string{
		"50% of ($a, $b, $c, $d)",
		"for all of ($a, $b) : (# >= 1 and @[1] >= 0)",
		"not $c and #c == 0 and not defined @c[1]",
		fmt.Sprintf("uint8(@a[1]) == %d", a.b[0]),
		fmt.Sprintf("@a[#a] == %d", last),
		"!a[1] + @a[1] <= filesize",
		fmt.Sprintf("$a in (%d..filesize)", max(0, last-int64(g.between(0, 9)))),
		fmt.Sprintf("for any i in (0..3) : (uint8(i) == %d)", f.Data[g.r.IntN(4)]),
		fmt.Sprintf("(filesize & 0xff) == %d and filesize << 2 == %d and -filesize < 0", n&0xff, n*4),
		"filesize \\ (filesize - filesize) == 1 or $b",
		fmt.Sprintf("for 2 i in (1, 2, %d) : (i * 2 == 2 or i * 2 == 4)", 3+g.between(0, 5)),
		"any of ($a, $b) and none of ($c)",
	}
	g.r.Shuffle(len(conds), func(i, j int) { conds[i], conds[j] = conds[j], conds[i] })
	strs := fmt.Sprintf("$a = %s $b = %s $c = %s $d = %s", yString(a.b), yString(b.b), yString(fake), yString(g.otherBytes(b.b)))
	return g.yRule(f, "mix", strs, strings.Join(conds[:3], " and ")+" and #a+#b+#c+#d >= 0", true), true
}

// yRuleRef builds a private rule and a global-free reference to it.
func yRuleRef(g *Gen, f *File) (YARARule, bool) {
	a, ok := g.textCut(f)
	if !ok {
		return YARARule{}, false
	}
	g.seq++
	helper := fmt.Sprintf("y_helper_%d", g.seq)
	r := g.yRule(f, "ref", "$a = "+yString(a.b), helper+" and $a", true)
	r.Src = fmt.Sprintf("private rule %s { strings: $h = %s condition: $h }\n", helper, yString(a.b)) + r.Src
	return r, true
}

// yExternals tests the external variables defined with -d (see
// YARAExternals) together with a string.
func yExternals(g *Gen, f *File) (YARARule, bool) {
	c, ok := g.textCut(f)
	if !ok {
		return YARARule{}, false
	}
	conds := []string{
		"ext_int == 5 and ext_int * 2 == 10",
		`ext_str == "hello world" and ext_str startswith "hello" and ext_str contains "o w"`,
		`ext_bool and not (ext_float < 1.0)`,
		`ext_float == 1.5 and ext_str endswith "world" and ext_str iequals "HELLO WORLD"`,
		`ext_str matches /wor.d$/ and ext_str icontains "LO W"`,
	}
	return g.yRule(f, "ext", "$a = "+yString(c.b), "$a and "+conds[g.r.IntN(len(conds))], true), true
}

// yHash compares hash module digests of a window of the file with values
// computed here.
func yHash(g *Gen, f *File) (YARARule, bool) {
	if f.Size() < 2 {
		return YARARule{}, false
	}
	o := g.r.Int64N(f.Size() - 1)
	n := g.r.Int64N(min(f.Size()-o, 4096)) + 1
	w := f.Data[o : o+n]
	conds := []string{
		fmt.Sprintf("hash.md5(%d, %d) == \"%x\"", o, n, md5.Sum(w)),
		fmt.Sprintf("hash.sha1(%d, %d) == \"%x\"", o, n, sha1.Sum(w)),
		fmt.Sprintf("hash.sha256(%d, %d) == \"%x\"", o, n, sha256.Sum256(w)),
		fmt.Sprintf("hash.crc32(%d, %d) == 0x%x", o, n, crc32.ChecksumIEEE(w)),
		fmt.Sprintf("hash.md5(0, filesize) == \"%x\"", md5.Sum(f.Data)),
	}
	return g.yRule(f, "hash", "", conds[g.r.IntN(len(conds))], true), true
}

// yNearMiss changes one byte of a cut so that it occurs nowhere in the file.
func yNearMiss(g *Gen, f *File) (YARARule, bool) {
	c, ok := g.textCut(f)
	if !ok {
		return YARARule{}, false
	}
	b := bytes.Clone(c.b)
	i := g.r.IntN(len(b))
	b[i] = g.otherByte(b[i])
	if bytes.Contains(f.Data, b) {
		return YARARule{}, false
	}
	return g.yRule(f, "miss", "$a = "+yString(b), "$a", false), true
}

// yRule assembles a rule named after its form, with a meta line naming the
// file it was cut from.
func (g *Gen) yRule(f *File, family, strs, cond string, want bool) YARARule {
	g.seq++
	name := fmt.Sprintf("y_%s_%d", family, g.seq)
	var b strings.Builder
	fmt.Fprintf(&b, "rule %s : gen t_%s {\n  meta:\n    file = %s\n", name, family, yString([]byte(f.Path)))
	if strs != "" {
		fmt.Fprintf(&b, "  strings:\n    %s\n", strs)
	}
	fmt.Fprintf(&b, "  condition:\n    %s\n}\n", cond)
	return YARARule{Name: name, Path: f.Path, Src: b.String(), Want: want}
}

// yString renders bytes as a YARA text string: printable ASCII as is
// (quote and backslash escaped), the rest as \xHH.
func yString(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\x%02x`, c)
		}
	}
	s.WriteByte('"')
	return s.String()
}

func yHexBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, " ")
}

// yReByte renders one byte for a YARA regular expression.
func yReByte(c byte) string {
	if c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' {
		return string(c)
	}
	return fmt.Sprintf(`\x%02x`, c)
}

// BinaryModules are the YARA modules that parse a file format.
var BinaryModules = []string{"pe", "elf", "dotnet", "macho", "dex", "magic", "cuckoo", "lnk"}

// UnmatchedModules are the modules whose values glassav cannot share with
// yara 4.2.3 on this machine: Debian's yara answers magic with libmagic,
// of which glassav implements a documented subset, reads cuckoo reports
// glassav does not, and has no lnk. Comparisons over public rule sets
// leave out the rules that use them.
var UnmatchedModules = []string{"magic", "cuckoo", "lnk"}

var (
	identRe    = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	importLine = regexp.MustCompile(`^\s*import\s+"([^"]*)"`)
)

// FilterYARA returns the rules of a rule file that use none of modules,
// using glassav's own parser to find each rule's lines: a rule is dropped
// when its text names one of the modules (module.member), or names a
// dropped rule, or when drop (if not nil) says so. Imports of those modules
// are removed. It returns the filtered source and the names kept and
// dropped.
func FilterYARA(name string, src []byte, modules []string, drop func(rule string) bool) (out []byte, kept, dropped []string, err error) {
	moduleUse := regexp.MustCompile(`\b(?:` + strings.Join(modules, "|") + `)\.[A-Za-z_]`)
	f, err := yara.Parse(name, src, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	type span struct {
		name       string
		start, end int // line indexes, end exclusive
	}
	spans := make([]span, len(f.Rules))
	for i, r := range f.Rules {
		spans[i] = span{name: r.Name, start: r.Pos.Line - 1, end: len(lines)}
		if i > 0 {
			spans[i-1].end = spans[i].start
		}
	}
	gone := map[string]bool{}
	text := func(s span) []byte { return bytes.Join(lines[s.start:s.end], nil) }
	for _, s := range spans {
		t := text(s)
		if len(modules) > 0 && moduleUse.Match(t) || drop != nil && drop(s.name) {
			gone[s.name] = true
			continue
		}
		for _, id := range identRe.FindAll(t, -1) {
			if gone[string(id)] && string(id) != s.name {
				gone[s.name] = true
				break
			}
		}
	}
	var b bytes.Buffer
	if len(spans) > 0 {
		for _, l := range lines[:spans[0].start] {
			if m := importLine.FindSubmatch(l); m != nil && len(modules) > 0 && moduleUse.MatchString(string(m[1])+".x") {
				continue
			}
			b.Write(l)
		}
	}
	for _, s := range spans {
		if gone[s.name] {
			dropped = append(dropped, s.name)
			continue
		}
		kept = append(kept, s.name)
		b.Write(text(s))
		if s.end > 0 && !bytes.HasSuffix(lines[s.end-1], []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), kept, dropped, nil
}

// slowWarning matches yara's warning naming a rule with a slow string.
var slowWarning = regexp.MustCompile(`^warning: rule "([^"]+)" in .*: string "[^"]*" may slow down scanning`)

// SlowRules returns the rules yara's compiler warns about as slowing down
// scanning, from its standard error.
func SlowRules(stderr string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(stderr, "\n") {
		if m := slowWarning.FindStringSubmatch(l); m != nil {
			out[m[1]] = true
		}
	}
	return out
}
