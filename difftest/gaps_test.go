package difftest

import (
	"os"
	"testing"
)

// knownGaps lists the features where glassav is known to differ from
// clamscan 1.4.6, with what differs. Their differences are logged, not
// failed, so that CI stays usable while the gap is open; clamscan's own
// checks (exit code, minimum hits) still fail. DIFFTEST_STRICT=1 fails them
// too. Remove an entry once its subtest logs no difference.
var knownGaps = map[string]string{}

// tolerated reports whether t's differences are a known gap, logging why.
func tolerated(t *testing.T) bool {
	t.Helper()
	why, ok := knownGaps[t.Name()]
	if !ok || why == "" || os.Getenv("DIFFTEST_STRICT") == "1" {
		return false
	}
	t.Logf("known gap (differences logged, not failed; DIFFTEST_STRICT=1 fails them): %s", why)
	return true
}
