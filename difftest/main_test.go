package difftest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The glassav binary under test, built once by TestMain.
var (
	glassavBin string
	glassavErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "difftest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	glassavBin = filepath.Join(dir, "glassav")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", glassavBin, "github.com/glassav/glassav/cmd/glassav").CombinedOutput()
	cancel()
	if err != nil {
		glassavErr = fmt.Errorf("go build ./cmd/glassav: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// inCI reports whether missing peers must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// clamscanOnly lets a developer validate the generators against clamscan
// while glassav does not build yet (DIFFTEST_CLAMSCAN_ONLY=1).
func clamscanOnly() bool { return os.Getenv("DIFFTEST_CLAMSCAN_ONLY") == "1" }

// need skips (or, in CI, fails) a test when a peer it compares against is
// absent.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if inCI() {
		t.Fatalf("%s unavailable (CI=true): %v", what, err)
	}
	t.Skipf("%s unavailable: %v", what, err)
}

func needClamscan(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("clamscan")
	need(t, "clamscan (apt-get install clamav)", err)
	return p
}

// needGlassav returns the built binary, failing the test when it did not
// build (it is this repository's own product: never a skip).
func needGlassav(t *testing.T) string {
	t.Helper()
	if clamscanOnly() {
		return ""
	}
	if glassavErr != nil {
		t.Fatalf("glassav does not build, nothing to compare: %v", glassavErr)
	}
	return glassavBin
}

// sharedDir returns ../shared relative to the repository root.
func sharedDir(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../shared")
	if err == nil {
		_, err = os.Stat(p)
	}
	need(t, "../shared", err)
	return p
}

// seed is the generators' seed: DIFFTEST_SEED or a fixed default.
func seed(t *testing.T) uint64 {
	if s := os.Getenv("DIFFTEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DIFFTEST_SEED: %v", err)
		}
		return v
	}
	return 20261129
}
