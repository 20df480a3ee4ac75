package yara

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir returns the project's shared reference folder, skipping the
// test when it is absent (failing under CI=true).
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %s missing: %v", dir, err)
		}
		t.Skipf("skipping: shared data %s not present (%v)", dir, err)
	}
	return dir
}

type corpusCase struct {
	Source    string         `json:"source"`
	Rule      string         `json:"rule"`
	Expect    string         `json:"expect"`
	ErrorCode string         `json:"error_code"`
	Externals map[string]any `json:"externals"`
	Module    any            `json:"module"`
	NeedsFile []string       `json:"needs_files"`
}

func readCorpus(t *testing.T, path string) []corpusCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var c corpusCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// harnessExternals are the variables yara's test harness (and the corpus
// validation) defines for every case.
func harnessExternals(extra map[string]any) map[string]any {
	ext := map[string]any{"var_zero": int64(0), "var_one": int64(1), "var_true": true, "var_false": false}
	for k, v := range extra {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			v = int64(f)
		}
		ext[k] = v
	}
	return ext
}

// compileCase parses and checks one corpus rule.
func compileCase(c corpusCase, dataDir string) error {
	src := strings.ReplaceAll(c.Rule, "$TOP_SRCDIR/tests/data", dataDir)
	f, err := Parse("case.yar", []byte(src), &Config{ReadFile: os.ReadFile})
	if err != nil {
		return err
	}
	_, err = Check(&CheckConfig{Externals: harnessExternals(c.Externals)}, f)
	return err
}

// errorCodeWords maps libyara error codes to words (alternatives separated
// by '|') our message for the same failure contains, to count how many
// rejections are for yara's reason.
var errorCodeWords = map[string]string{
	"ERROR_SYNTAX_ERROR":                 "syntax error|integer overflow in|too many loop variables",
	"ERROR_INTEGER_OVERFLOW":             "overflow",
	"ERROR_INVALID_HEX_STRING":           "invalid hex string",
	"ERROR_INVALID_REGULAR_EXPRESSION":   "regular expression",
	"ERROR_INVALID_MODIFIER":             "invalid modifier|xor range|xor lower bound|base64 alphabet|multiple alphabets",
	"ERROR_DUPLICATED_STRING_IDENTIFIER": "duplicated string identifier",
	"ERROR_DUPLICATED_IDENTIFIER":        "duplicated identifier",
	"ERROR_UNREFERENCED_STRING":          "unreferenced string",
	"ERROR_UNDEFINED_IDENTIFIER":         "undefined identifier",
	"ERROR_UNDEFINED_STRING":             "undefined string",
	"ERROR_INVALID_PERCENTAGE":           "percentage must be",
	"ERROR_INVALID_MODULE_NAME":          "module name",
	"ERROR_WRONG_TYPE":                   "wrong type|type mismatch",
	"ERROR_INVALID_OPERAND":              "invalid operand",
	"ERROR_INVALID_VALUE":                "invalid value",
	"ERROR_DUPLICATED_MODIFIER":          "duplicated modifier",
	"ERROR_IDENTIFIER_MATCHES_WILDCARD":  "wildcard",
	"ERROR_DUPLICATED_TAG_IDENTIFIER":    "duplicated tag",
}

// knownDivergences are corpus cases (by source) we cannot decide yet:
// their errors need module schemas (which fields are arrays, dictionaries
// or structures), the later module work.
var knownDivergences = map[string]string{
	"yara/tests/test-rules.c:2259": "two loop variables over an array: needs the tests module schema",
	"yara/tests/test-rules.c:2275": "one loop variable over a dictionary: needs the tests module schema",
	"yara/tests/test-rules.c:2291": "integer array element compared with a string: needs the tests module schema",
}

// TestConformance runs every case of yara-test-cases.jsonl through Parse
// and Check: cases yara 4.2.3 compiles must pass, cases it rejects must be
// rejected.
func TestConformance(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	dataDir, err := filepath.Abs(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	cases := readCorpus(t, filepath.Join(dir, "yara-test-cases.jsonl"))
	var okPass, okTotal, errRejected, errTotal, msgMatch, diverged, withModule int
	for _, c := range cases {
		if c.Module != nil {
			withModule++
		}
		err := compileCase(c, dataDir)
		why, known := knownDivergences[c.Source]
		if c.Expect == "error" {
			errTotal++
			if err == nil {
				if known {
					diverged++
					t.Logf("%s: known divergence (%s)", c.Source, why)
					continue
				}
				t.Errorf("%s: yara rejects (%s) but we accept:\n%s", c.Source, c.ErrorCode, c.Rule)
				continue
			}
			errRejected++
			if w, ok := errorCodeWords[c.ErrorCode]; ok && containsAny(err.Error(), w) {
				msgMatch++
			} else {
				t.Logf("%s: %s, our message: %v", c.Source, c.ErrorCode, err)
			}
			continue
		}
		okTotal++
		if err != nil {
			t.Errorf("%s: yara compiles but we reject: %v\n%s", c.Source, err, c.Rule)
			continue
		}
		okPass++
	}
	t.Logf("%d cases (%d import a module): compiling cases accepted: %d/%d; error cases rejected: %d/%d (%d with a message for yara's reason, %d known divergences)",
		len(cases), withModule, okPass, okTotal, errRejected, errTotal, msgMatch, diverged)
}

// TestConformanceWarnings counts how many of yara's warnings we also give.
func TestConformanceWarnings(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	cases := readCorpus(t, filepath.Join(dir, "yara-test-cases-warnings.jsonl"))
	var warnWant, warnGot, quietWant, quietGot int
	for _, c := range cases {
		f, err := Parse("case.yar", []byte(c.Rule), nil)
		if err != nil {
			t.Errorf("%s: %v", c.Source, err)
			continue
		}
		ws, err := Check(&CheckConfig{Externals: harnessExternals(c.Externals)}, f)
		if err != nil {
			t.Errorf("%s: %v", c.Source, err)
			continue
		}
		if c.Expect == "warning" {
			warnWant++
			if len(ws) > 0 {
				warnGot++
			}
		} else {
			quietWant++
			if len(ws) == 0 {
				quietGot++
			} else {
				t.Errorf("%s: unexpected warning %v", c.Source, ws[0])
			}
		}
	}
	t.Logf("warnings given: %d/%d; no-warning cases quiet: %d/%d", warnGot, warnWant, quietGot, quietWant)
}

func containsAny(s, alternatives string) bool {
	for _, w := range strings.Split(alternatives, "|") {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// upstreamDivergences are cases of the upstream-only tier where we keep
// yara 4.2.3's behaviour or lack a module.
var upstreamDivergences = map[string]string{
	"yara/tests/test-rules.c:2542": "{,0} is an error in 4.2.3",
	"yara/tests/test-rules.c:2543": "{,0} is an error in 4.2.3",
	"yara/tests/test-rules.c:2745": "{0,0} is an error in 4.2.3",
	"yara/tests/test-rules.c:2746": "{0} is an error in 4.2.3",
	"yara/tests/test-pb.c:44":      "pb_tests module",
	"yara/tests/test-pb.c:55":      "pb_tests module",
}

// TestConformanceUpstream runs the second tier: upstream YARA (4.3+)
// expectations yara 4.2.3 could not confirm. We follow them where the
// brief asks for the 4.3-4.5 additions and the stricter checks.
func TestConformanceUpstream(t *testing.T) {
	dir := sharedDir(t, "testdata/yara")
	dataDir, err := filepath.Abs(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	agree, n, known := 0, 0, 0
	for _, c := range readCorpus(t, filepath.Join(dir, "yara-test-cases-dropped.jsonl")) {
		if c.Expect != "error" && c.Expect != "match" && c.Expect != "nomatch" {
			continue
		}
		n++
		err := compileCase(c, dataDir)
		if (err != nil) == (c.Expect == "error") {
			agree++
			continue
		}
		if why, ok := upstreamDivergences[c.Source]; ok {
			known++
			t.Logf("%s: known divergence (%s)", c.Source, why)
			continue
		}
		t.Errorf("%s: upstream expects %s, we got %v:\n%s", c.Source, c.Expect, err, c.Rule)
	}
	t.Logf("upstream-only cases agreeing: %d/%d (%d known divergences)", agree, n, known)
}
