package clamav

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
)

type acceptCase struct {
	loads bool   // clamscan 1.4.6 loads the line
	ext   string // database type
	line  string
}

// readAcceptance reads testdata/acceptance.txt: randomly generated .ndb and
// .ldb lines (hex syntax, offsets, targets, modifiers) with clamscan's
// verdict on each.
func readAcceptance(t *testing.T) []acceptCase {
	f, err := os.Open(filepath.Join("testdata", "acceptance.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []acceptCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			t.Fatalf("bad line %q", sc.Text())
		}
		out = append(out, acceptCase{f[0] == "0", f[1], f[2]})
	}
	return out
}

// TestAcceptanceFile: glassav loads exactly the lines clamscan loads (a
// line glassav cannot express is skipped with a warning, not refused).
func TestAcceptanceFile(t *testing.T) {
	cases := readAcceptance(t)
	if len(cases) < 1000 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		err := LoadFile(ir.NewSet(), "x."+c.ext, []byte(c.line+"\n"), Options{})
		if (err == nil) != c.loads {
			t.Errorf("%s: err = %v, clamscan loads it: %v", c.line, err, c.loads)
		}
	}
}

func TestAcceptanceFileClamscan(t *testing.T) {
	bin := clamscanBin(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range readAcceptance(t) {
		db := filepath.Join(dir, "x."+c.ext)
		os.WriteFile(db, []byte(c.line+"\n"), 0o644)
		err := exec.Command(bin, "--no-summary", "-d", db, empty).Run()
		if (err == nil) != c.loads {
			t.Errorf("%s: clamscan err = %v, file says loads: %v", c.line, err, c.loads)
		}
	}
}
