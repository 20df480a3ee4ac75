package yara

import (
	"strings"
	"testing"
)

// TestCheckModuleTypes checks the typing of module members against the
// built-in modules' declarations, as yara types them.
func TestCheckModuleTypes(t *testing.T) {
	for _, tc := range []struct {
		cond string
		err  string // "" when yara compiles it
	}{
		{`tests.constants.one + 1 == 2`, ""},
		{`tests.constants.foo == "foo"`, ""},
		{`tests.constants.one + "x" == 1`, "type mismatch"},
		{`tests.constants.nope == 1`, `invalid field name "nope"`},
		{`tests.constants == 1`, "type mismatch"},
		{`tests.constants.one.two == 1`, "is not a structure"},
		{`tests.integer_array[0] == 0`, ""},
		{`tests.integer_array["a"] == 0`, "wrong type for array index"},
		{`tests.string_dict["foo"] == "foo"`, ""},
		{`tests.string_dict[0] == "foo"`, "wrong type for dictionary key"},
		{`tests.integer_array[1] == "x"`, "type mismatch"},
		{`tests.constants[0] == 1`, "is not an array or dictionary"},
		{`tests.isum(1, 2) == 3`, ""},
		{`tests.isum(1, 2, 3) == 6`, ""},
		{`tests.isum(1) == 1`, "wrong arguments"},
		{`tests.isum(1, "a") == 1`, "wrong arguments"},
		{`tests.fsum(1.0, 2.0) == 3.0`, ""},
		{`tests.match(/a/, "a") == 1`, ""},
		{`tests.constants.one(1) == 1`, "is not a function"},
		{`for any x in tests.integer_array : (x == 1)`, ""},
		{`for any k, v in tests.string_dict : (k == v)`, ""},
		{`for any k, v in tests.integer_array : (k == 1)`, "syntax error"},
		{`for any v in tests.string_dict : (v == "foo")`, "syntax error"},
		{`for any s in tests.struct_array : (s.i == 1)`, ""},
		{`for any s in tests.struct_array : (s.nope == 1)`, `invalid field name "nope"`},
		{`for any x in tests.constants : (true)`, "is not an array or dictionary"},
	} {
		src := `import "tests" rule t { condition: ` + tc.cond + ` }`
		f, err := Parse("t.yar", []byte(src), nil)
		if err != nil {
			t.Fatalf("%s: parse: %v", tc.cond, err)
		}
		_, _, err = Compile(nil, f)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.cond, err)
		case tc.err != "" && err == nil:
			t.Errorf("%s: compiled, want error %q", tc.cond, tc.err)
		case tc.err != "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("%s: error %q, want %q", tc.cond, err, tc.err)
		}
	}
}

// TestSlowStringWarnings checks the "may slow down scanning" warning
// against yara 4.2.3's answers for regular expressions (the corpus covers
// hex and text strings).
func TestSlowStringWarnings(t *testing.T) {
	for _, tc := range []struct {
		str  string
		warn bool
	}{
		{`/abc/`, false}, {`/a/`, true}, {`/ab/`, false}, {`/aa/`, false},
		{`/[0-9a-f]{32}/`, true}, {`/a(bcd|efg)h/`, false}, {`/ab(c|)/`, false},
		{`/(abc|de)+x/`, false}, {`/abc.{2,5}def/`, false}, {`/x{3}/`, false},
		{`/\x00\x01/`, true}, {`/a.b/`, true}, {`/a\wb/`, true}, {`/ab?c/`, true},
		{`/BADD|Bad Error Happened|/`, true}, {`/abc/ wide nocase`, false},
		{`"ab" xor(1-2)`, false}, {`"aa" wide`, false}, {`{ 61 ?? ?? 62 }`, true},
	} {
		f, err := Parse("t.yar", []byte(`rule t { strings: $a = `+tc.str+` condition: $a }`), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.str, err)
		}
		ws, err := Check(nil, f)
		if err != nil {
			t.Fatalf("%s: %v", tc.str, err)
		}
		got := false
		for _, w := range ws {
			got = got || strings.Contains(w.Msg, "may slow down scanning")
		}
		if got != tc.warn {
			t.Errorf("%s: warning %v, yara %v", tc.str, got, tc.warn)
		}
	}
}
