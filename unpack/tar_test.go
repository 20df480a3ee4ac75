package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// buildTar packs the payload with GNU tar in format fmt.
func buildTar(t *testing.T, format string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "payload"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("payload", filepath.Join(dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "tar", "--format="+format, "-cf", "a.tar", "sub")
	return filepath.Join(dir, "a.tar")
}

var tarFormats = []string{"v7", "ustar", "gnu", "posix"}

func TestTar(t *testing.T) {
	payload := readPayload(t)
	for _, f := range tarFormats {
		t.Run(f, func(t *testing.T) {
			data := readFile(t, buildTar(t, f))
			ms := unpackOK(t, tarFormat(), data)
			if len(ms) != 1 {
				t.Fatalf("%d members, want the one regular file", len(ms))
			}
			m := wantMember(t, ms, "payload", payload)
			if m.Offset < 0 || string(data[m.Offset:m.Offset+int64(len(payload))]) != string(payload) {
				t.Errorf("offset %d does not locate the member", m.Offset)
			}
		})
	}
}

// TestTarGzClamTestFiles opens the corpus's tar.gz through both formats.
func TestTarGzClamTestFiles(t *testing.T) {
	want := readFile(t, testFile(t, "clam.exe"))
	for _, name := range []string{"clam.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			gz := unpackOK(t, gzipFormat(), readFile(t, testFile(t, name)))
			if len(gz) != 1 {
				t.Fatalf("gzip: %d members", len(gz))
			}
			wantMember(t, unpackOK(t, tarFormat(), gz[0].Data), "clam.exe", want)
		})
	}
}

func TestTarDamaged(t *testing.T) {
	for _, f := range tarFormats {
		t.Run(f, func(t *testing.T) {
			data := readFile(t, buildTar(t, f))
			ms := unpackOK(t, tarFormat(), data)
			// Cuts inside the member's data or its header are errors (a
			// cut in the zero blocks that pad the end is not damage).
			for _, cut := range []int64{ms[0].Offset + int64(len(ms[0].Data))/2, ms[0].Offset - 300, 100} {
				if _, err := checkUnpack(t, tarFormat(), data[:cut], Limits{}); err == nil {
					t.Errorf("truncated at %d of %d bytes: no error", cut, len(data))
				}
			}
			for _, at := range []int{len(data) / 7, len(data) / 3, len(data) / 2, 130, 150} {
				d := bytes.Clone(data)
				d[at] ^= 0x55
				checkUnpack(t, tarFormat(), d, Limits{})
			}
		})
	}
}

func TestTarPeer(t *testing.T) {
	clamscanFinds(t, buildTar(t, "posix"), readPayload(t))
}

func FuzzUnpackTar(f *testing.F) {
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), []byte("hello, tar"), 0o644)
	var seeds [][]byte
	if err := runQuiet(dir, "tar", "--format=posix", "-cf", "a.tar", "x"); err == nil {
		if d, err := os.ReadFile(filepath.Join(dir, "a.tar")); err == nil {
			seeds = append(seeds, d)
		}
	}
	fuzzFormat(f, tarFormat(), seeds...)
}
