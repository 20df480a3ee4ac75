package yara

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleConditions are conditions over module values whose outcome hinges
// on how the evaluator and the modules meet: undefined arguments, NaN
// results, boolean arguments, overloads, cached digests, arrays and
// dictionaries of the tests module. Each is checked against yara 4.2.3
// through glassav's Compile and Scan.
var moduleConditions = []string{
	`not defined console.log(tests.undefined.i)`,
	`console.log(tests.undefined.i) or true`,
	`not defined math.to_number(tests.undefined.i == 1)`,
	`math.to_number(not defined math.entropy(20, 1)) == 1`,
	`not defined hash.md5(tests.undefined.i, 1)`,
	`not defined math.mean("")`,
	`not defined math.deviation("", 1.0)`,
	`not defined math.mean(0, 0)`,
	`math.entropy(0, 0) == 0.0`,
	`math.serial_correlation(0, 0) == -100000.0`,
	`math.serial_correlation("BCA") == -33.0`,
	`math.percentage(0x6c, 0, 5) != 0.4`, // float32 division
	`math.percentage(0x6c, 0, 5) > 0.4`,
	`not defined tests.fsum(0.0 \ 0.0, 1.0)`,
	`math.min(-1, 1) == 1 and math.max(-1, -2) == -1`,
	`math.abs(-9223372036854775807 - 1) == -9223372036854775807 - 1`,
	`math.in_range(math.entropy(0, filesize), 2.0, 4.0)`,
	`math.MEAN_BYTES == 127.5`,
	`hash.md5(0, filesize) == hash.md5(0, filesize) and hash.md5(0, 5) != hash.md5(0, filesize)`,
	`hash.md5(0, filesize) == "6f5902ac237024bdd0c176cb93063dc4"`,
	`hash.md5(0, 5) == hash.md5("hello")`,
	`hash.crc32("123456789") == 0xcbf43926`,
	`hash.checksum32(0, filesize) == 1126`,
	`not defined hash.sha1(12, 0) and defined hash.sha1(11, 0)`,
	`tests.match(/fo+/, "xxfoooo") == 7`,
	`tests.match(/ab|b/, "abb") == 2`,
	`tests.length("foo\x00bar") == 3`,
	`tests.string_array[3] == "foo\x00bar"`,
	`not defined tests.string_array[4]`,
	`tests.integer_array[256] == 256 and not defined tests.integer_array[3]`,
	`for any item in tests.struct_array : (item.i == 1)`,
	`for all k, v in tests.struct_dict : (k == "foo" and v.s == "foo" and v.i == 1)`,
	`for any k, v in tests.string_dict : (k == "bar" and v == "bar")`,
	`not defined tests.empty_struct_array[0].struct_dict["x"].unused`,
	`tests.foobar(tests.constants.two) == "bar"`,
	`tests.isum(tests.constants.one, tests.constants.two) == 3`,
	`tests.fsum(1.5, 2.25, 0.25) == 4.0`,
	`tests.constants.foo contains "o" and tests.empty() == ""`,
	`time.now() > 1700000000`,
	`console.hex(tests.constants.two) and console.log("x", 1.5)`,
}

func TestModuleConditionsPeer(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "hello")
	content := []byte("hello world\n")
	if err := os.WriteFile(data, content, 0o644); err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, m := range []string{"hash", "math", "time", "console", "tests"} {
		fmt.Fprintf(&src, "import %q\n", m)
	}
	for i, c := range moduleConditions {
		fmt.Fprintf(&src, "rule c%d { condition: %s }\n", i, c)
		fmt.Fprintf(&src, "rule n%d { condition: not (%s) }\n", i, c)
	}
	ym := yaraMatches(t, src.String(), data, "")
	// Every condition above is true for yara: the list documents yara.
	for i, c := range moduleConditions {
		if !ym[fmt.Sprintf("c%d", i)] {
			t.Errorf("yara 4.2.3 does not hold %s", c)
		}
	}
	sameRules(t, data, src.String(), glassavMatches(t, src.String(), content, nil, nil), ym)
}
