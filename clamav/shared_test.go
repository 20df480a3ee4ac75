package clamav

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns ../shared/testdata/clamav (relative to the repository),
// skipping the test when it is absent, or failing it when CI=true.
func sharedDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "testdata", "clamav")
	if _, err := os.Stat(d); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data not available (%v)", err)
	}
	return d
}
