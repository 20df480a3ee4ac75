package yara

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// This file holds the harness the module tests share: a module function
// call that runs in Go and renders as YARA source, and a check of Go's
// results against yara's own. The peer check writes, for every call, a
// rule whose condition is `call == <Go's result>` (or `not defined call`),
// and requires yara to match every one of them: yara then computed the
// same value, bit for bit for floats (the literal is the shortest decimal
// that reads back as the same float64). A sample of negated rules must not
// match, so a yara that matched everything would fail.

// modCall is one call of a module function.
type modCall struct {
	mod, fn string
	sig     string  // the overload: one letter per argument (i f s b r)
	args    []Value // ints, floats, strings; b as an int 0 or 1; r by re
	re      string  // source of the regexp argument, between the slashes
	reFlags string  // its flags: "", "i", "s", "is"
}

func (c modCall) String() string { return c.src() }

// src renders the call as YARA source.
func (c modCall) src() string {
	var b strings.Builder
	b.WriteString(c.mod + "." + c.fn + "(")
	for i, k := range c.sig {
		if i > 0 {
			b.WriteString(", ")
		}
		a := c.args[i]
		switch k {
		case 'i':
			b.WriteString(yaraInt(a.Int))
		case 'f':
			b.WriteString(yaraFloat(a.Float))
		case 's':
			b.WriteString(yaraString(a.Str))
		case 'b':
			b.WriteString(strconv.FormatBool(a.Int != 0))
		case 'r':
			b.WriteString("/" + c.re + "/" + c.reFlags)
		}
	}
	b.WriteString(")")
	return b.String()
}

// eval runs the call in Go against the module's loaded object.
func (c modCall) eval(t testing.TB, obj *Object, sc *ScanContext) Value {
	t.Helper()
	f := obj.Fields[c.fn]
	if f == nil || f.Kind != KindFunc {
		t.Fatalf("%s: no function %s.%s", c, c.mod, c.fn)
	}
	for _, o := range f.Funcs {
		if o.Args == c.sig {
			args := append([]Value(nil), c.args...)
			for i, k := range c.sig {
				switch k {
				case 'i', 'b':
					args[i].Kind = KindInt
				case 'f':
					args[i].Kind = KindFloat
				case 's':
					args[i].Kind = KindString
				case 'r':
					re, err := CompileRegex(RegexpSource{Source: c.re,
						NoCase: strings.Contains(c.reFlags, "i"), DotAll: strings.Contains(c.reFlags, "s")})
					if err != nil {
						t.Fatalf("%s: %v", c, err)
					}
					args[i] = Value{Re: re}
				}
			}
			v := o.Call(sc, args)
			if !v.Undefined && v.Kind != o.Ret {
				t.Fatalf("%s: result kind %d, declared %d", c, v.Kind, o.Ret)
			}
			return v
		}
	}
	t.Fatalf("%s: no overload %s.%s(%s)", c, c.mod, c.fn, c.sig)
	return Value{}
}

// yaraInt renders i as a YARA integer expression (the minimum has no
// literal).
func yaraInt(i int64) string {
	if i == math.MinInt64 {
		return "(-9223372036854775807 - 1)"
	}
	if i < 0 {
		return "(" + strconv.FormatInt(i, 10) + ")"
	}
	return strconv.FormatInt(i, 10)
}

// yaraFloat renders a finite f as a YARA float expression: YARA's float
// literals have a point and no exponent.
func yaraFloat(f float64) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	if math.Signbit(f) {
		return "(-" + s + ")"
	}
	return s
}

// yaraString renders b as a YARA string literal.
func yaraString(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, `\x%02x`, c)
		}
	}
	s.WriteByte('"')
	return s.String()
}

// yaraValue renders a defined value as a YARA literal.
func yaraValue(v Value) string {
	switch v.Kind {
	case KindInt:
		return yaraInt(v.Int)
	case KindFloat:
		return yaraFloat(v.Float)
	case KindString:
		return yaraString(v.Str)
	}
	panic(fmt.Sprintf("yaraValue: kind %d", v.Kind))
}

// peerCase is a call with the value Go computed for it.
type peerCase struct {
	call modCall
	got  Value
}

// evalAll runs the calls in Go over the data of file (module data md for
// the tests module) and returns them with their values.
func evalAll(t testing.TB, mod Module, data, md []byte, calls []modCall) []peerCase {
	t.Helper()
	sc := &ScanContext{Data: data, ModuleData: md}
	obj, err := mod.Load(sc)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]peerCase, len(calls))
	for i, c := range calls {
		out[i] = peerCase{c, c.eval(t, obj, sc)}
	}
	return out
}

// peerAgrees checks that yara 4.2.3 computes the values in cases when it
// scans file (yara -x tests=mdFile when mdFile is not empty). It returns
// the number of rules yara matched.
func peerAgrees(t *testing.T, file, mdFile string, cases []peerCase) int {
	t.Helper()
	mods := map[string]bool{}
	var src strings.Builder
	for _, c := range cases {
		mods[c.call.mod] = true
	}
	for m := range mods {
		fmt.Fprintf(&src, "import %q\n", m)
	}
	want := map[string]int{}  // rule name → case that must match
	never := map[string]int{} // negated rules that must not match
	for i, c := range cases {
		name := fmt.Sprintf("r%d", i)
		cond := "not defined " + c.call.src()
		if !c.got.Undefined {
			cond = c.call.src() + " == " + yaraValue(c.got)
			if i%3 == 0 {
				neg := fmt.Sprintf("n%d", i)
				never[neg] = i
				fmt.Fprintf(&src, "rule %s { condition: %s != %s }\n", neg, c.call.src(), yaraValue(c.got))
			}
		} else if i%3 == 0 {
			neg := fmt.Sprintf("n%d", i)
			never[neg] = i
			fmt.Fprintf(&src, "rule %s { condition: defined %s }\n", neg, c.call.src())
		}
		want[name] = i
		fmt.Fprintf(&src, "rule %s { condition: %s }\n", name, cond)
	}
	matched := 0
	ym := yaraMatches(t, src.String(), file, mdFile)
	for name := range ym {
		if i, ok := never[name]; ok {
			t.Errorf("%s on %s: yara matched the negated rule (value %s)", cases[i].call, file, show(cases[i].got))
		}
		if _, ok := want[name]; ok {
			delete(want, name)
			matched++
		}
	}
	// The same rules through glassav's compiler and evaluator must match
	// exactly the rules yara matched.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var md []byte
	if mdFile != "" {
		if md, err = os.ReadFile(mdFile); err != nil {
			t.Fatal(err)
		}
	}
	sameRules(t, file, src.String(), glassavMatches(t, src.String(), data, md, nil), ym)
	for _, i := range want {
		t.Errorf("%s on %s: glassav computes %s, yara 4.2.3 does not", cases[i].call, file, show(cases[i].got))
	}
	if matched < len(cases) {
		t.Errorf("yara matched %d of %d rules on %s", matched, len(cases), file)
	}
	return matched
}

// yaraMatches runs yara 4.2.3 with the rules src over file (with -x
// tests=mdFile when mdFile is not empty) and returns the rules it matched.
// yara must succeed.
func yaraMatches(t *testing.T, src, file, mdFile string) map[string]bool {
	t.Helper()
	yara := testenv.NeedTool(t, "yara")
	rules := filepath.Join(t.TempDir(), "peer.yar")
	if err := os.WriteFile(rules, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-w"}
	if mdFile != "" {
		args = append(args, "-x", "tests="+mdFile)
	}
	args = append(args, rules, file)
	out, err := exec.Command(yara, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("yara %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, rest, ok := strings.Cut(line, " "); ok && rest == file {
			m[name] = true
		}
	}
	return m
}

// glassavMatches compiles the rules src with glassav and scans data (md
// as the tests module's data, console output to console) and returns the
// rules that matched.
func glassavMatches(t *testing.T, src string, data, md []byte, console io.Writer) map[string]bool {
	t.Helper()
	f, err := Parse("peer.yar", []byte(src), nil)
	if err != nil {
		t.Fatalf("glassav parse: %v", err)
	}
	rules, _, err := Compile(nil, f)
	if err != nil {
		t.Fatalf("glassav compile: %v", err)
	}
	opt := &ScanOptions{Console: console}
	if md != nil {
		opt.ModuleData = map[string][]byte{"tests": md}
	}
	res, err := rules.Scan(context.Background(), data, opt)
	if err != nil {
		t.Fatalf("glassav scan: %v", err)
	}
	m := map[string]bool{}
	for _, r := range res.Matched() {
		m[r.Rule.Name] = true
	}
	return m
}

// sameRules reports the rules one of glassav and yara matched and the other
// did not.
func sameRules(t *testing.T, file, src string, glassav, yara map[string]bool) {
	t.Helper()
	for name := range yara {
		if !glassav[name] {
			t.Errorf("rule %s matches %s with yara, not with glassav: %s", name, file, ruleText(src, name))
		}
	}
	for name := range glassav {
		if !yara[name] {
			t.Errorf("rule %s matches %s with glassav, not with yara: %s", name, file, ruleText(src, name))
		}
	}
}

// ruleText returns the line of src declaring rule name.
func ruleText(src, name string) string {
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "rule "+name+" ") {
			return l
		}
	}
	return "?"
}

// treeConds returns, for every scalar under o (reached by the YARA
// expression path), a condition that holds when yara's value is o's:
// `path == value`, or `not defined path` for unset values, array items
// and dictionary keys, including one item past each array's end and a key
// absent from each dictionary.
func treeConds(path string, o *Object) []string {
	switch o.Kind {
	case KindInt, KindFloat, KindString:
		if !o.Defined {
			return []string{"not defined " + path}
		}
		return []string{path + " == " + yaraValue(Value{Kind: o.Kind, Int: o.Int, Float: o.Float, Str: o.Str})}
	case KindStruct:
		var out []string
		for _, name := range o.Order {
			if o.Fields[name].Since43 {
				continue // yara 4.2.3 has no such member
			}
			out = append(out, treeConds(path+"."+name, o.Fields[name])...)
		}
		return out
	case KindArray:
		var out []string
		for i, it := range o.Items {
			p := fmt.Sprintf("%s[%d]", path, i)
			if it == nil {
				it = unsetLike(o.Elem)
			}
			out = append(out, treeConds(p, it)...)
		}
		return append(out, treeConds(fmt.Sprintf("%s[%d]", path, len(o.Items)), unsetLike(o.Elem))...)
	case KindDict:
		var out []string
		for _, k := range o.Keys {
			out = append(out, treeConds(path+"["+yaraString([]byte(k))+"]", o.Dict[k])...)
		}
		return append(out, treeConds(path+`["no such key"]`, unsetLike(o.Elem))...)
	}
	return nil
}

// unsetLike returns an object of elem's shape with nothing set, what yara
// shows for a missing array item or dictionary key.
func unsetLike(elem *Object) *Object {
	switch elem.Kind {
	case KindStruct:
		var ms []member
		for _, name := range elem.Order {
			u := unsetLike(elem.Fields[name])
			u.Since43 = elem.Fields[name].Since43
			ms = append(ms, member{name, u})
		}
		return structOf(ms...)
	case KindArray:
		return arrayOf(elem.Elem)
	case KindDict:
		return dictOf(elem.Elem)
	}
	return &Object{Kind: elem.Kind}
}

// show prints a value for a failure message.
func show(v Value) string {
	if v.Undefined {
		return "undefined"
	}
	if v.Kind == KindFloat {
		return fmt.Sprintf("%v (%s)", v.Float, yaraFloat(v.Float))
	}
	return yaraValue(v)
}

// peerFiles returns real files for the differential tests: a sample of
// system programs and libraries of assorted sizes, and a few small files
// with edge-case contents written to dir.
func peerFiles(t *testing.T, dir string) []string {
	t.Helper()
	files := testenv.Files(6, 1<<20, "/usr/bin/[a-c]*", "/usr/lib/x86_64-linux-gnu/libz*", "/etc/*.conf")
	files = append(files, testenv.Files(3, 64<<10, "/etc/passwd", "/usr/share/common-licenses/*")...)
	small := map[string][]byte{
		"one":    {'A'},
		"same":   []byte(strings.Repeat("A", 4000)),
		"ramp":   ramp(70000),
		"mixed6": []byte("ABCDEF123456987"),
	}
	for name, b := range small {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if len(files) < 8 {
		t.Fatalf("only %d sample files", len(files))
	}
	return files
}

// ramp is n bytes of a pseudo-random walk: neither uniform nor constant.
func ramp(n int) []byte {
	b := make([]byte, n)
	x := uint32(12345)
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x>>16) & byte(0x3f+i%192)
	}
	return b
}

// rangesOf returns (offset, length) pairs over data of size n: whole,
// shifted, inner, tail, past the end, empty and the undefined ones.
func rangesOf(n int64) [][2]int64 {
	r := [][2]int64{
		{0, n}, {1, n}, {0, n / 2}, {n / 3, n / 3}, {n - 1, 10}, {n - 1, 1},
		{0, 0}, {n / 2, 0}, {n, 0}, {n, 1}, {-1, 5}, {0, -1}, {n + 5, 3},
		{0, math.MaxInt64}, {3, 15}, {2, 4},
	}
	if n > 1024 {
		r = append(r, [2]int64{1000, 48}, [2]int64{768, 8}, [2]int64{1024, 8})
	}
	seen := map[[2]int64]bool{}
	out := r[:0]
	for _, x := range r {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// cut returns up to max bytes of data from off, for string arguments.
func cut(data []byte, off, max int) []byte {
	if off > len(data) {
		off = len(data)
	}
	end := min(off+max, len(data))
	return data[off:end]
}
