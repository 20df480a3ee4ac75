package bundle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/clamav"
)

// freshclamTestdata returns ClamAV's signed test databases test-N.cvd and
// test-N.cdiff, skipping (failing under CI=true) without the shared data.
func freshclamTestdata(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "testdata", "clamav", "clamav-unit-tests", "unit_tests", "input", "freshclam_testfiles")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing (%v); skipping", err)
	}
	return dir
}

func readShared(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(freshclamTestdata(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportClamAV imports test-1.cvd with the updates test-2..6.cdiff and
// expects the content of ClamAV's own test-6.cvd, then refuses tampered
// and incomplete inputs.
func TestImportClamAV(t *testing.T) {
	in := map[string][]byte{"test.cvd": readShared(t, "test-1.cvd")}
	for v := 2; v <= 6; v++ {
		in[fmt.Sprintf("test-%d.cdiff", v)] = readShared(t, fmt.Sprintf("test-%d.cdiff", v))
	}
	out, notes, err := ImportClamAV(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out["test.cld"] == nil || len(notes) != 1 || !strings.Contains(notes[0], "+ 5 .cdiff = version 6") {
		t.Fatalf("import gave %d files, notes %q", len(out), notes)
	}
	got, err := clamav.ReadContainer("test.cld", out["test.cld"])
	if err != nil {
		t.Fatal(err)
	}
	want, err := clamav.ReadContainer("test-6.cvd", readShared(t, "test-6.cvd"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Version != 6 || len(got.Files) != len(want.Files) {
		t.Fatalf("version %d, %d members; want 6, %d", got.Header.Version, len(got.Files), len(want.Files))
	}
	for _, f := range want.Files {
		if g := got.File(f.Name); g == nil || !bytes.Equal(g.Data, f.Data) {
			t.Errorf("member %s differs from test-6.cvd", f.Name)
		}
	}
	// The import is itself reproducible.
	again, _, err := ImportClamAV(in)
	if err != nil || !bytes.Equal(again["test.cld"], out["test.cld"]) {
		t.Errorf("second import differs (%v)", err)
	}
	// And the result test-compiles.
	res, err := CheckFiles(context.Background(), out)
	if err != nil || res.Signatures == 0 {
		t.Errorf("test-compile of the imported database: %v, %+v", err, res)
	}

	refuse := func(name string, mod func(map[string][]byte), want string) {
		t.Run(name, func(t *testing.T) {
			m := make(map[string][]byte)
			for k, v := range in {
				m[k] = v
			}
			mod(m)
			_, _, err := ImportClamAV(m)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("ImportClamAV: %v, want an error containing %q", err, want)
			}
		})
	}
	refuse("tampered cvd", func(m map[string][]byte) {
		b := bytes.Clone(m["test.cvd"])
		b[len(b)-100] ^= 1
		m["test.cvd"] = b
	}, "test.cvd")
	refuse("tampered cdiff", func(m map[string][]byte) {
		b := bytes.Clone(m["test-4.cdiff"])
		b[len(b)/2] ^= 1
		m["test-4.cdiff"] = b
	}, "test-4.cdiff")
	refuse("gap", func(m map[string][]byte) { delete(m, "test-3.cdiff") }, "missing")
	refuse("orphan cdiff", func(m map[string][]byte) { delete(m, "test.cvd") }, "no test.cvd")
	refuse("bad name", func(m map[string][]byte) { m["test.cdiff"] = nil }, "NAME-VERSION")
}

func TestReadSourceImports(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"test.cvd": "test-2.cvd", "test-3.cdiff": "test-3.cdiff"} {
		if err := os.WriteFile(filepath.Join(dir, name), readShared(t, src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "local.ndb"), testFiles()["test.ndb"], 0o644)
	src, err := ReadSource(dir, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Files) != 2 || src.Files["test.cld"] == nil || src.Files["local.ndb"] == nil {
		t.Errorf("files %v", len(src.Files))
	}
}

func TestCheckFiles(t *testing.T) {
	ctx := context.Background()
	res, err := CheckFiles(ctx, testFiles())
	if err != nil {
		t.Fatal(err)
	}
	if res.YARA != 1 || res.Signatures != 3 {
		t.Errorf("counts %+v, want 3 signatures of which 1 YARA rule", res)
	}
	bad := []struct {
		name, file, content, want string
	}{
		{"bad ndb", "bad.ndb", "Broken:0:*:zz\n", "bad.ndb"},
		{"bad hdb", "bad.hdb", "nothex:68:Name\n", "bad.hdb"},
		{"bad yara syntax", "bad.yar", "rule { condition: }\n", "bad.yar"},
		{"bad yara reference", "bad.yar", "rule r { condition: $nope }\n", "bad.yar"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			files := testFiles()
			files[tt.file] = []byte(tt.content)
			if _, err := CheckFiles(ctx, files); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckFiles: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
