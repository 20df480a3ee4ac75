package clamav

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
)

// logicCases are logical expressions over three subsignatures evaluated on
// a file where subsignature 0 matches 3 times, 1 once and 2 never
// (logicData). want is what clamscan 1.4.6 reported: FOUND or OK.
var logicCases = []struct {
	expr string
	want bool
}{
	{"2", false},
	{"0&2", false},
	{"0|2", true},
	{"2|0", true},
	{"0|1&2", true},    // 0|(1&2): the first top-level operator splits
	{"0&1|2", true},    // 0&(1|2)
	{"2&1|0", false},   // 2&(1|0), not (2&1)|0
	{"(0|1&2)", false}, // inside parentheses the last operator splits: (0|1)&2
	{"(0&1|2)", true},
	{"(2&1|0)", true},
	{"0&(1|2)", true},
	{"(0|1)&2", false},
	{"(0|1|2)>1,2", true},
	{"(0|2)>2,2", false},   // count 3, but only one distinct subsignature
	{"(0=3|2)>2,2", false}, // same
	{"(0|2=0)>2,2", true},  // 2=0 holds and adds subsignature 2 to the set
	{"(0|2=0)>2,3", false},
	{"(2=0&1)>0,2", true},
	{"((0|1)>3)&(2=0)", true}, // 0 and 1 together matched 4 times
	{"((0|1)>4)&(2=0)", false},
	{"(0>2)&(1=1)&(2<1)", true},
	{"0>2&1=1&2<1", true},
	{"0>3&1&2=0", false},
	{"(0|1|2)=4", true},
	{"(0|1|2)=4,2", true},
	{"(0|1|2)=4,3", false},
	{"(0&1&2=0)>3,3", true},
	{"(0&1&2=0)>3,4", false},
	{"(0&1&2=0)<5", true},
	{"(0&1&2)<1", true}, // the group is false, its count 0
	{"(0&2)=0", true},
	{"(0|1)>3|2", true},
	{"2|(0|1)>3", true},
	{"0<3|1&2", false},
	{"(0<3|1)&2=0", true},
	{"(0|1)<5,2&2=0", true},
	{"((0|1)<5,2)&2=0", true},
	{"(0=3&1=1)>3,2&2<1", true},
	{"((0|1)>0,2|2=0)>0,2", false}, // a group's set does not pass upward
	{"((0|1)>0,2|2=0)>0,1", true},
	{"(0=3|1)>3,2&2<1", true},
}

// logicData is the scanned file of logicCases; the subsignatures are
// "aaaa", "bbbb" and "cccc".
const logicData = "aaaa_1 bbbb_1 aaaa_2 aaaa_3 zzzzzzz\n"

func TestLogicEval(t *testing.T) {
	counts := []int{3, 1, 0}
	for _, tt := range logicCases {
		e, err := parseLogic(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got := e.Eval(func(i int) int { return counts[i] }); got != tt.want {
			t.Errorf("%s: Eval = %v, clamscan: %v", tt.expr, got, tt.want)
		}
		if m := e.MaxSub(); m != 2 {
			t.Errorf("%s: MaxSub = %d, want 2", tt.expr, m)
		}
	}
}

func TestLogicParseErrors(t *testing.T) {
	for _, tt := range []struct{ expr, err string }{
		{"", "missing argument"},
		{"(0)>2", "missing '('"},
		{"((0|1))>3", "missing '('"},
		{"(0|1", "missing ')'"},
		{"0)", "missing '('"},
		{"&1", "missing left argument"},
		{"0&", "missing right argument"},
		{"x", `cannot parse "x"`},
		{"0>", "missing number after '>'"},
		{"(0|1)>x", "missing number after '>'"},
		{"0&(|1)", "missing argument"},
	} {
		_, err := parseLogic(tt.expr)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want %q", tt.expr, err, tt.err)
		}
	}
}

type logicFileCase struct{ verdict, expr string }

func readLogicFile(t *testing.T) []logicFileCase {
	data, err := os.ReadFile(filepath.Join("testdata", "logic.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []logicFileCase
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		v, e, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		out = append(out, logicFileCase{v, e})
	}
	return out
}

func logicLine(expr string) string {
	return "L;Engine:51-255,Target:0;" + expr + ";61616161;62626262;63636363\n"
}

// TestLogicFile: random expressions load, fail and evaluate as in clamscan.
func TestLogicFile(t *testing.T) {
	cases := readLogicFile(t)
	if len(cases) < 250 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		set := ir.NewSet()
		err := LoadFile(set, "x.ldb", []byte(logicLine(c.expr)), Options{})
		got := "2"
		if err == nil {
			got = "0"
			if set.Rules[0].Cond.Eval(func(i int) int { return []int{3, 1, 0}[i] }) {
				got = "1"
			}
		}
		if got != c.verdict {
			t.Errorf("%s: glassav %s (err %v), clamscan %s", c.expr, got, err, c.verdict)
		}
	}
}

func TestLogicFileClamscan(t *testing.T) {
	bin := clamscanBin(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.WriteFile(data, []byte(logicData), 0o644)
	db := filepath.Join(dir, "x.ldb")
	for _, c := range readLogicFile(t) {
		os.WriteFile(db, []byte(logicLine(c.expr)), 0o644)
		err := exec.Command(bin, "--no-summary", "-d", db, data).Run()
		got := "0"
		if ee, ok := err.(*exec.ExitError); ok {
			got = fmt.Sprint(ee.ExitCode())
		}
		if got != c.verdict {
			t.Errorf("%s: clamscan exit %s, file says %s", c.expr, got, c.verdict)
		}
	}
}
