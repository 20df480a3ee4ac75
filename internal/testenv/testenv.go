// Package testenv holds what glassav's tests share about their environment:
// the peer programs they compare against and the real files they sample.
// A missing peer skips a test with a clear message, except under CI=true,
// where the test command must have installed it and its absence fails.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NeedTool returns the path of the external program name, skipping the
// test when it is absent (failing under CI=true).
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (required under CI=true): %v", name, err)
		}
		t.Skipf("%s not found: skipping the comparison with it", name)
	}
	return p
}

// Files returns up to max distinct, non-empty regular files of at most
// maxSize bytes matching the globs, in glob order.
func Files(max int, maxSize int64, globs ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range globs {
		ms, _ := filepath.Glob(g)
		for _, m := range ms {
			if len(out) >= max {
				return out
			}
			fi, err := os.Stat(m)
			if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > maxSize || seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}
