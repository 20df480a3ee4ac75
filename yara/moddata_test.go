package yara

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// This file holds the module-data differential harness the binary-format
// module tests share: yara -D prints every value a module computed for a
// file, and WriteModuleData prints glassav's in the same format, so the two
// texts must be equal line for line.

// peerModuleData returns what yara -D prints of module for file (without
// the blank line that ends each module), and yara's exit code.
func peerModuleData(t testing.TB, module, file string) (string, int) {
	t.Helper()
	yaraBin := testenv.NeedTool(t, "yara")
	rule := filepath.Join(t.TempDir(), "d.yar")
	src := fmt.Sprintf("import %q\nrule glassav_module_data { condition: false }\n", module)
	if err := os.WriteFile(rule, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(yaraBin, "-D", rule, file)
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("yara -D %s: %v", file, err)
		}
		code = ee.ExitCode()
	}
	if errb.Len() > 0 {
		t.Logf("yara -D %s: stderr: %s", file, errb.String())
	}
	return strings.TrimRight(out.String(), "\n"), code
}

// ourModuleData returns what glassav's module prints for the file's data.
func ourModuleData(t testing.TB, m Module, data []byte) string {
	t.Helper()
	obj, err := m.Load(&ScanContext{Data: data})
	if err != nil {
		t.Fatalf("%s.Load: %v", m.Name(), err)
	}
	var b bytes.Buffer
	WriteModuleData(&b, m.Name(), obj)
	return strings.TrimRight(b.String(), "\n")
}

// moduleDataDiff compares glassav's module data for file with yara's and
// returns the number of lines yara printed and up to limit differing lines
// (as "-yara" / "+glassav" pairs with their line numbers). It fails the
// test when yara itself fails on the file.
func moduleDataDiff(t testing.TB, m Module, file string, limit int) (lines int, diffs []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want, code := peerModuleData(t, m.Name(), file)
	if code != 0 {
		t.Fatalf("yara -D %s: exit %d", file, code)
	}
	got := ourModuleData(t, m, data)
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)) && len(diffs) < limit; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("line %d:\n  -yara    %q\n  +glassav %q", i+1, w, g))
		}
	}
	return len(wl), diffs
}

// TestModuleDataHarness checks the harness on a module with no binary
// format: the tests module prints the same data as yara's.
func TestModuleDataHarness(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(f, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, diffs := moduleDataDiff(t, newTestsModule(), f, 10)
	if n < 10 {
		t.Fatalf("yara -D printed %d lines of the tests module; want at least 10", n)
	}
	if len(diffs) > 0 {
		t.Fatalf("tests module data differs from yara -D:\n%s", strings.Join(diffs, "\n"))
	}
}
