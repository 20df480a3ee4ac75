package yara

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

func TestTimeNow(t *testing.T) {
	fixed := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	sc := &ScanContext{Now: fixed}
	obj := loaded(t, newTimeModule(), sc)
	if got := call1(t, obj, sc, "now", ""); !same(got, iv(fixed.Unix())) {
		t.Errorf("time.now() = %+v, want %d", got, fixed.Unix())
	}
	before := time.Now().Unix()
	got := call1(t, obj, &ScanContext{}, "now", "")
	after := time.Now().Unix()
	if got.Undefined || got.Int < before || got.Int > after {
		t.Errorf("time.now() without a scan time = %+v, want the clock (%d..%d)", got, before, after)
	}
}

// TestTimePeer checks that yara's time.now() is the same clock as
// glassav's: Unix time in seconds. yara runs a moment after glassav, so
// the rule allows a few seconds; a rule with the value one day off must
// not match.
func TestTimePeer(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	data := filepath.Join(dir, "dummy")
	rules := filepath.Join(dir, "time.yar")
	v := evalAll(t, newTimeModule(), []byte("dummy"), nil, []modCall{{mod: "time", fn: "now"}})[0].got.Int
	src := fmt.Sprintf("import \"time\"\n"+
		"rule now { condition: time.now() >= %d and time.now() <= %d }\n"+
		"rule day_off { condition: time.now() >= %d and time.now() <= %d }\n", v, v+10, v+86400, v+86410)
	if err := os.WriteFile(data, []byte("dummy"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rules, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(yara, "-w", rules, data).Output()
	if err != nil {
		t.Fatalf("yara: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "now "+data {
		t.Errorf("yara printed %q, want only the rule now", got)
	}
}
