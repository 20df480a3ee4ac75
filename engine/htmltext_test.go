package engine

import (
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// TestHTMLInTextAsClamscan holds the normalised-text view (target 7) to
// clamscan on ASCII text whose HTML starts past the first KiB: clamscan
// re-types such a file as HTML and no longer matches target-7 signatures
// on it, while the same text without the tag matches. Both files are
// scanned by both tools; clamscan must find the control file (exit 1), so
// the comparison is not two empty results.
func TestHTMLInTextAsClamscan(t *testing.T) {
	clamscan := testenv.NeedTool(t, "clamscan")
	dir := t.TempDir()
	text := strings.Repeat("Plain Configuration Text, line after line.\n", 40) // > 1 KiB
	files := map[string]string{
		"plain.cfg": text + "The Marker Words Here\n",
		"html.cfg":  text + "The Marker Words Here\n<html>\n<body>\n<pre>x</pre>\n</body>\n</html>\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Target 7 (normalised ASCII): lower-cased, whitespace squeezed.
	sig := "Text.Marker:7:*:" + hex.EncodeToString([]byte("the marker words here")) + "\n"
	r, db := loadDB(t, map[string]string{"text.ndb": sig})
	for name, wantFound := range map[string]bool{"plain.cfg": true, "html.cfg": false} {
		path := filepath.Join(dir, name)
		out, err := exec.Command(clamscan, "--no-summary", "-d", filepath.Join(db, "text.ndb"), path).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if peer := code == 1; peer != wantFound {
			t.Fatalf("%s: clamscan exit %d, want found=%v (the premise of this test):\n%s", name, code, wantFound, out)
		}
		res := scanFile(t, r, path, deep(1))
		if got := len(res.Matches) > 0; got != wantFound {
			t.Errorf("%s: glassav found=%v, clamscan found=%v", name, got, wantFound)
		}
	}
}
