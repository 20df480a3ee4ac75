package exe

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

// TestParsePEHeaders checks that ParsePEHeaders agrees with Parse on
// real executables in everything but the import text and the version
// information.
func TestParsePEHeaders(t *testing.T) {
	files := samples(200, "/usr/share/clamav-testfiles/*", "/work/shared/testdata/yara/data/*")
	pe := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		full, ferr := Parse(data)
		head, herr := ParsePEHeaders(data)
		if ferr != nil || full.Format != PE {
			if herr == nil {
				t.Errorf("%s: ParsePEHeaders succeeds where Parse says %v", f, ferr)
			}
			continue
		}
		pe++
		if herr != nil {
			t.Errorf("%s: %v", f, herr)
			continue
		}
		if head.PE.HasImports || head.PE.Imports != nil || head.PE.VersionInfo != nil {
			t.Errorf("%s: ParsePEHeaders read imports or version information", f)
		}
		full.PE.Imports, full.PE.HasImports, full.PE.VersionInfo = nil, false, nil
		if !reflect.DeepEqual(full, head) {
			t.Errorf("%s: ParsePEHeaders %+v, Parse %+v", f, head, full)
		}
	}
	if pe < 10 {
		t.Errorf("only %d PE files among %d samples", pe, len(files))
	}
	if _, err := ParsePEHeaders([]byte("\x7fELF\x02\x01\x01")); !errors.Is(err, ErrUnknown) {
		t.Errorf("ELF: %v, want ErrUnknown", err)
	}
}
