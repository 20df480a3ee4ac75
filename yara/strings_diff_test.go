package yara

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// TestStringsDiffYara generates strings of every kind and modifier from
// real files, searches them with compileString, the matcher and confirm,
// and compares every match (offset, length as yara prints it, data) with
// what `yara -s` reports for the same rules on the same files.
func TestStringsDiffYara(t *testing.T) {
	yaraBin := testenv.NeedTool(t, "yara")
	files := testenv.Files(6, 4<<20, "/usr/bin/*")
	if len(files) < 3 {
		t.Skipf("skipping: too few sample files in /usr/bin (%d)", len(files))
	}
	seed := int64(1)
	if s := os.Getenv("GLASSAV_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()

	// A sample file made of slices of the real files with transformed
	// copies of some of their text (wide, xored, upper case, base64), so
	// that every modifier has something to find.
	var sample []byte
	var texts [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		off := rng.Intn(len(b))
		chunk := b[off:min(len(b), off+64<<10)]
		sample = append(sample, chunk...)
		for i := 0; i < 12; i++ {
			if txt := printableRun(chunk, rng); txt != nil {
				texts = append(texts, txt)
			}
		}
	}
	for _, txt := range texts {
		sample = append(sample, '(')
		switch rng.Intn(7) {
		case 6:
			sample = append(sample, wideBytes([]byte(base64.StdEncoding.EncodeToString(append([]byte("x")[:rng.Intn(2)], txt...))))...)
		case 5:
			sample = append(sample, base64.StdEncoding.EncodeToString(wideBytes(txt))...)
		case 0:
			sample = append(sample, wideBytes(txt)...)
		case 1:
			k := byte(rng.Intn(256))
			for _, c := range txt {
				sample = append(sample, c^k)
			}
		case 2:
			sample = append(sample, bytes.ToUpper(txt)...)
		case 3:
			sample = append(sample, base64.StdEncoding.EncodeToString(append([]byte("xy")[:rng.Intn(3)], txt...))...)
		default:
			sample = append(sample, txt...)
		}
		sample = append(sample, ')')
	}
	samplePath := filepath.Join(dir, "sample")
	if err := os.WriteFile(samplePath, sample, 0o644); err != nil {
		t.Fatal(err)
	}

	// The strings: one rule per string so that yara lists each apart.
	n := 400
	if testing.Short() {
		n = 100
	}
	if s := os.Getenv("GLASSAV_DIFF_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var decls []string
	for len(decls) < n {
		var d string
		switch rng.Intn(3) {
		case 0:
			d = genText(texts[rng.Intn(len(texts))], rng)
		case 1:
			d = genHex(sample, rng)
		default:
			d = genRegexp(texts[rng.Intn(len(texts))], rng)
		}
		src := "rule r { strings: $a = " + d + " condition: $a }"
		f, err := Parse("g.yar", []byte(src), nil)
		if err != nil {
			continue
		}
		if _, err := Check(&CheckConfig{}, f); err != nil {
			continue
		}
		decls = append(decls, d)
	}
	var rules strings.Builder
	for i, d := range decls {
		fmt.Fprintf(&rules, "rule r%d { strings: $a = %s condition: $a }\n", i, d)
	}
	rulesPath := filepath.Join(dir, "gen.yar")
	if err := os.WriteFile(rulesPath, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(rulesPath, []byte(rules.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var strs []*String
	for _, r := range f.Rules {
		strs = append(strs, r.Strings[0])
	}

	total, compared := 0, 0
	byKind := map[string]int{}
	for _, path := range append([]string{samplePath}, files[:3]...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := runYaraS(t, yaraBin, rulesPath, path)
		got := searchStrings(t, strs, data)
		for i, ms := range got {
			rule := fmt.Sprintf("r%d", i)
			var lines []string
			for _, m := range ms {
				lines = append(lines, yaraMatchLine(m, strs[i].Kind == HexPattern))
			}
			w := want[rule]
			total += len(w)
			for _, c := range declKinds(decls[i]) {
				byKind[c] += len(w)
			}
			compared++
			if strings.Join(lines, "\n") != strings.Join(w, "\n") {
				var alone []string
				for _, m := range searchStrings(t, strs[i:i+1], data)[0] {
					alone = append(alone, yaraMatchLine(m, strs[i].Kind == HexPattern))
				}
				k := firstDiff(lines, w)
				t.Errorf("%s: %s: %d matches, yara %d; from #%d:\n  glassav: %s\n  alone:   %s\n  yara:    %s", filepath.Base(path), decls[i],
					len(lines), len(w), k, clip(from(lines, k)), clip(from(alone, k)), clip(from(w, k)))
			}
		}
	}
	// Two empty results must not agree: the sample holds many matches.
	if total < 300 {
		t.Errorf("yara found only %d matches over %d strings; the comparison is too weak", total, compared)
	}
	for _, k := range []string{"text", "hex", "regexp", "nocase", "wide", "xor", "base64", "base64wide", "fullword", "chained", "hexalt"} {
		if byKind[k] < 3 {
			t.Errorf("only %d yara matches of %s strings; the comparison does not cover them", byKind[k], k)
		}
	}
	t.Logf("compared %d (string, file) pairs, %d matches by yara, seed %d; by kind %v", compared, total, seed, byKind)
}

func firstDiff(a, b []string) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

func from(lines []string, k int) []string {
	if k > len(lines) {
		return nil
	}
	return lines[k:]
}

func clip(lines []string) string {
	s := strings.Join(lines, " | ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// declKinds names what a generated string declaration exercises.
func declKinds(d string) []string {
	var ks []string
	switch d[0] {
	case '"':
		ks = append(ks, "text")
	case '{':
		ks = append(ks, "hex")
		if strings.Contains(d, "|") {
			ks = append(ks, "hexalt")
		}
		for _, f := range strings.Fields(d) {
			var lo, hi int
			if n, _ := fmt.Sscanf(f, "[%d-%d]", &lo, &hi); n == 2 && hi > 200 {
				ks = append(ks, "chained")
			}
		}
	default:
		ks = append(ks, "regexp")
	}
	_, mods, _ := strings.Cut(d[strings.LastIndexAny(d, "\"/}")+1:], " ")
	for _, m := range strings.Fields(mods) {
		m, _, _ = strings.Cut(m, "(")
		ks = append(ks, m)
	}
	return ks
}

// runYaraS runs yara -s and returns, per rule, its match lines
// (offset:length:data).
func runYaraS(t *testing.T, bin, rules, file string) map[string][]string {
	t.Helper()
	cmd := exec.Command(bin, "-s", "-L", "-w", rules, file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("yara: %v: %s", err, errb.String())
	}
	res := map[string][]string{}
	rule := ""
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "0x") {
			rule, _, _ = strings.Cut(line, " ")
			res[rule] = res[rule][:0]
			continue
		}
		// 0xOFF:LEN:$a: DATA
		parts := strings.SplitN(line, ":", 4)
		if len(parts) != 4 {
			t.Fatalf("unexpected yara line %q", line)
		}
		res[rule] = append(res[rule], parts[0]+":"+parts[1]+":"+strings.TrimPrefix(parts[3], " "))
	}
	return res
}

// yaraMatchLine renders m as yara -s -L prints it.
func yaraMatchLine(m StringMatch, hex bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "0x%x:%d:", m.Offset, len(m.Data))
	data, more := m.Data, ""
	if hex && len(data) > 64 {
		// yara prints at most 64 bytes of a hex string's match.
		data, more = data[:64], " ..."
	}
	for i, c := range data {
		switch {
		case hex:
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%02X", c)
		case c >= 32 && c <= 126:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\x%02X", c)
		}
	}
	b.WriteString(more)
	return b.String()
}

// printableRun returns 4..16 bytes of printable text from b, or nil.
func printableRun(b []byte, rng *rand.Rand) []byte {
	for try := 0; try < 200; try++ {
		i := rng.Intn(len(b))
		j := i
		for j < len(b) && j-i < 16 && b[j] >= 0x20 && b[j] < 0x7f {
			j++
		}
		if j-i >= 4 {
			return append([]byte(nil), b[i:j]...)
		}
	}
	return nil
}

// quoteText writes b as a yara text string.
func quoteText(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	s.WriteByte('"')
	return s.String()
}

func genText(txt []byte, rng *rand.Rand) string {
	txt = txt[:4+rng.Intn(len(txt)-3)]
	d := quoteText(txt)
	switch rng.Intn(11) {
	case 8:
		d += " base64 wide"
	case 9:
		d += " base64wide ascii wide"
	case 10:
		d += " xor(32) wide"
	case 0:
		d += " nocase"
	case 1:
		d += " wide"
	case 2:
		d += " ascii wide nocase"
	case 3:
		d += " xor"
	case 4:
		d += " xor(1-200) wide ascii"
	case 5:
		d += " base64"
	case 6:
		d += " base64wide base64"
	}
	if rng.Intn(4) == 0 && !strings.Contains(d, "base64") {
		d += " fullword"
	}
	return d
}

func genHex(data []byte, rng *rand.Rand) string {
	n := 4 + rng.Intn(10)
	off := rng.Intn(len(data) - 1200)
	seg := data[off : off+n]
	var toks []string
	for i, c := range seg {
		switch r := rng.Intn(20); {
		case r == 0 && i > 0 && i < len(seg)-1:
			toks = append(toks, "??")
		case r == 1:
			toks = append(toks, fmt.Sprintf("%X?", c>>4))
		case r == 2:
			toks = append(toks, fmt.Sprintf("?%X", c&15))
		case r == 3 && i > 0:
			toks = append(toks, fmt.Sprintf("( %02X | %02X )", c, byte(rng.Intn(256))))
		case r == 4 && i > 0:
			toks = append(toks, fmt.Sprintf("( %02X %02X | %02X )", byte(rng.Intn(256)), c, c))
		default:
			toks = append(toks, fmt.Sprintf("%02X", c))
		}
	}
	switch rng.Intn(4) {
	case 0: // a short jump to more bytes
		skip := rng.Intn(8)
		lo := rng.Intn(skip + 1)
		more := data[off+n+skip : off+n+skip+3]
		toks = append(toks, fmt.Sprintf("[%d-%d]", lo, skip+rng.Intn(4)), fmt.Sprintf("%02X %02X %02X", more[0], more[1], more[2]))
	case 1: // a long jump (yara chains the pieces)
		skip := 250 + rng.Intn(600)
		more := data[off+n+skip : off+n+skip+4]
		toks = append(toks, fmt.Sprintf("[%d-%d]", skip-rng.Intn(200), skip+rng.Intn(50)), fmt.Sprintf("%02X %02X %02X %02X", more[0], more[1], more[2], more[3]))
	}
	return "{ " + strings.Join(toks, " ") + " }"
}

func genRegexp(txt []byte, rng *rand.Rand) string {
	var b strings.Builder
	greedy := rng.Intn(2) == 0
	lazy := ""
	if !greedy {
		lazy = "?"
	}
	// The first two bytes stay literal and are letters or digits: yara
	// then finds the regexp from an atom at its start, and its match ends
	// are those of a backtracking engine from there (with atoms further
	// in, they depend on which atom yara picked, which glassav does not
	// model; runs of one common byte such as spaces make poor atoms).
	for len(txt) > 3 && !(isAlnumByte(txt[0]) && isAlnumByte(txt[1])) {
		txt = txt[1:]
	}
	for i, c := range txt[:3+rng.Intn(len(txt)-2)] {
		var atom string
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			atom = string(c)
		default:
			atom = fmt.Sprintf("\\x%02x", c)
		}
		r := rng.Intn(12)
		if i < 2 {
			r = 99
		}
		switch r {
		case 0:
			atom = "."
		case 1:
			atom = "[a-z0-9]"
		case 2:
			atom = "\\w"
		case 3:
			atom = "[^\\n]"
		case 4:
			atom = "(" + atom + "|\\s)"
		case 5:
			atom = "(" + atom + "|" + atom + "[a-z])"
		case 6:
			atom = "(" + atom + "[^a]|" + atom + ")"
		case 7:
			atom = "\\b" + atom
		}
		b.WriteString(atom)
		if i < 2 {
			continue
		}
		switch rng.Intn(10) {
		case 0:
			b.WriteString("+" + lazy)
		case 1:
			b.WriteString("*" + lazy)
		case 2:
			b.WriteString("{1,3}" + lazy)
		case 3:
			b.WriteString("?" + lazy)
		}
	}
	d := "/" + b.String() + "/"
	switch rng.Intn(8) {
	case 0:
		d += "i"
	case 1:
		d += "s"
	case 2:
		d += " nocase"
	case 3:
		d += " wide ascii"
	case 4:
		d += " fullword"
	case 5:
		d += "is wide nocase"
	case 6:
		d += " wide"
	}
	return d
}
