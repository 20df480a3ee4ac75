package yara

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// This file holds the elf module's differential tests and the helpers the
// format-module tests of elf, macho and dex share: every value of the
// module is compared with what yara 4.2.3 prints with -D for the same
// file, over real files and over mutated copies of them.

// dataDiffAll compares the module's data with yara -D's for every file and
// fails on any differing line. It requires yara to succeed on each file,
// and at least minFiles files and minLines lines compared, so that two
// empty outputs cannot agree.
func dataDiffAll(t *testing.T, m Module, files []string, minFiles, minLines int) {
	t.Helper()
	lines := 0
	for _, f := range files {
		n, diffs := moduleDataDiff(t, m, f, 8)
		lines += n
		if len(diffs) > 0 {
			t.Errorf("%s module data of %s differs from yara -D:\n%s", m.Name(), f, strings.Join(diffs, "\n"))
		}
	}
	t.Logf("%s: %d files, %d lines of yara -D compared", m.Name(), len(files), lines)
	if len(files) < minFiles || lines < minLines {
		t.Fatalf("compared %d files, %d lines; want at least %d files, %d lines", len(files), lines, minFiles, minLines)
	}
}

// mutantDiff compares the module's data with yara -D's over n mutated
// copies of each seed (see mutate): malformed headers, offsets and counts
// pointing anywhere, truncations. A mutant yara itself fails on (exit
// code not 0) is counted and left out; at least half must be compared.
func mutantDiff(t *testing.T, m Module, seeds [][]byte, n int) {
	t.Helper()
	testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	var compared, lines, failed int
	for si, seed := range seeds {
		rng := uint64(si*7919 + 17)
		for k := 0; k < n; k++ {
			b := mutate(seed, &rng)
			p := filepath.Join(dir, fmt.Sprintf("m%d-%d", si, k))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			want, code := peerModuleData(t, m.Name(), p)
			if code != 0 {
				failed++
				continue
			}
			got := ourModuleData(t, m, b)
			compared++
			lines += strings.Count(want, "\n") + 1
			if got != want {
				wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
				for i := 0; i < max(len(wl), len(gl)); i++ {
					var w, g string
					if i < len(wl) {
						w = wl[i]
					}
					if i < len(gl) {
						g = gl[i]
					}
					if w != g {
						t.Errorf("mutant %d of seed %d (%d bytes, kept in %s): line %d:\n  -yara    %q\n  +glassav %q", k, si, len(b), p, i+1, w, g)
						break
					}
				}
			}
		}
	}
	t.Logf("%s: %d mutants compared (%d lines), %d left out for yara's failure", m.Name(), compared, lines, failed)
	if compared < len(seeds)*n/2 {
		t.Fatalf("only %d of %d mutants compared", compared, len(seeds)*n)
	}
}

// mutate returns a copy of seed with a few random changes: bytes set,
// 16-, 32- or 64-bit fields set to small, large or boundary values, or the
// data cut short. The header area, where the offsets and counts are, is
// changed most often. rng is a xorshift state.
func mutate(seed []byte, rng *uint64) []byte {
	next := func() uint64 {
		*rng ^= *rng << 13
		*rng ^= *rng >> 7
		*rng ^= *rng << 17
		return *rng
	}
	b := append([]byte(nil), seed...)
	for i, n := 0, 1+int(next()%4); i < n && len(b) > 8; i++ {
		var off int
		if next()%2 == 0 {
			off = int(next() % uint64(min(len(b), 128)))
		} else {
			off = int(next() % uint64(len(b)))
		}
		vals := []uint64{0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0xff00, 0x7fffffff, 0xffffffff, uint64(len(b)), uint64(len(b) - 1), next()}
		v := vals[next()%uint64(len(vals))]
		switch next() % 5 {
		case 0:
			b[off] = byte(v)
		case 1:
			if off+2 <= len(b) {
				b[off], b[off+1] = byte(v), byte(v>>8)
			}
		case 2, 3:
			for j := 0; j < 4 && off+j < len(b); j++ {
				b[off+j] = byte(v >> (8 * j))
			}
		case 4:
			if next()%3 == 0 {
				b = b[:max(off, 1)]
			} else {
				for j := 0; j < 8 && off+j < len(b); j++ {
					b[off+j] = byte(v >> (8 * j))
				}
			}
		}
	}
	return b
}

// corpusBlobs returns the distinct data of the corpus cases that import
// module and carry their data inline.
func corpusBlobs(t *testing.T, module string) [][]byte {
	t.Helper()
	dir := sharedDir(t, "testdata/yara")
	var out [][]byte
	seen := map[string]bool{}
	for _, c := range readScanCases(t, filepath.Join(dir, "yara-test-cases.jsonl")) {
		if len(c.Data) == 0 || !strings.Contains(c.Rule, `import "`+module+`"`) || seen[string(c.Data)] {
			continue
		}
		seen[string(c.Data)] = true
		out = append(out, c.Data)
	}
	return out
}

// writeFiles writes each blob to dir and returns the paths.
func writeFiles(t *testing.T, dir, prefix string, blobs [][]byte) []string {
	t.Helper()
	var out []string
	for i, b := range blobs {
		p := filepath.Join(dir, fmt.Sprintf("%s%d", prefix, i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// goTestdata returns the files of Go's debug/<pkg>/testdata matching the
// globs, decoded into dir when base64 or gzip encoded; the test skips
// when Go's sources are not installed (fails under CI=true).
func goTestdata(t *testing.T, dir, pkg string, globs ...string) []string {
	t.Helper()
	src := filepath.Join(goRoot(), "src", "debug", pkg, "testdata")
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Go's %s testdata missing: %v", pkg, err)
		}
		t.Skipf("skipping: Go's %s testdata not present (%v)", pkg, err)
	}
	var out []string
	for _, g := range globs {
		ms, _ := filepath.Glob(filepath.Join(src, g))
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(m)
			switch {
			case strings.HasSuffix(name, ".base64"):
				if b, err = base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b))); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
			case strings.HasSuffix(name, ".gz"):
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: %v", m, err)
				}
				if b, err = io.ReadAll(zr); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
			default:
				out = append(out, m)
				continue
			}
			p := filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(name, ".base64"), ".gz"))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// goRoot is the Go installation the tests run with.
func goRoot() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return "/usr/local/go"
}

// readAll reads the files.
func readAll(t *testing.T, files []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// elfFiles returns real ELF files: yara's test file, the corpus' inline
// ELF data, Go's debug/elf testdata, and a sample of system programs and
// libraries of bounded size.
func elfFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	files := []string{filepath.Join(sharedDir(t, "testdata/yara"), "data", "elf_with_imports")}
	files = append(files, writeFiles(t, dir, "corpus", corpusBlobs(t, "elf"))...)
	files = append(files, goTestdata(t, dir, "elf", "*.obj", "*-exec", "*.gz", "libtiffxx.so_", "*x86-64")...)
	var sys []string
	for _, f := range testenv.Files(400, 4<<20, "/usr/bin/*", "/usr/lib/x86_64-linux-gnu/*.so*") {
		b, err := os.ReadFile(f)
		if err == nil && len(b) > 4 && string(b[:4]) == "\x7fELF" {
			sys = append(sys, f)
		}
	}
	// Every ninth, for ~40 programs and libraries across the alphabet.
	for i := 0; i < len(sys); i += 9 {
		files = append(files, sys[i])
	}
	return files
}

// TestElfModuleData compares every value of the elf module with yara's
// over real ELF files.
func TestElfModuleData(t *testing.T) {
	files := elfFiles(t)
	dataDiffAll(t, newElfModule(), files, 40, 20000)
}

// TestElfModuleMutants compares the elf module with yara over malformed
// ELF files made from real ones.
func TestElfModuleMutants(t *testing.T) {
	seeds := corpusBlobs(t, "elf")
	seeds = append(seeds, readAll(t, []string{filepath.Join(sharedDir(t, "testdata/yara"), "data", "elf_with_imports")})...)
	mutantDiff(t, newElfModule(), seeds, 40)
}

// TestElfModuleNotELF checks that other data gets the constants and
// nothing else, from one shared tree.
func TestElfModuleNotELF(t *testing.T) {
	m := newElfModule()
	for _, data := range [][]byte{nil, []byte("MZ\x90\x00"), []byte("\x7fELF"), append([]byte("\x7fELF\x03\x01"), make([]byte, 100)...)} {
		o, err := m.Load(&ScanContext{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if o != m.empty {
			t.Errorf("%q: not the shared tree", data)
		}
		if o.Fields["type"].Defined || !o.Fields["ET_EXEC"].Defined || len(o.Fields["sections"].Items) != 0 {
			t.Errorf("%q: type defined or constants missing", data)
		}
	}
}

// BenchmarkElfLoad measures the elf module's Load on a system program
// (its tree is built for every scanned ELF file) and on data that is not
// ELF.
func BenchmarkElfLoad(b *testing.B) {
	data, err := os.ReadFile("/usr/bin/ls")
	if err != nil {
		b.Skip(err)
	}
	m := newElfModule()
	for _, bc := range []struct {
		name string
		data []byte
	}{{"ls", data}, {"notELF", []byte("MZ\x90\x00 not an ELF file")}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if _, err := m.Load(&ScanContext{Data: bc.data}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestElfImportMD5 checks import_md5() (yara 4.3; yara 4.2.3 has no such
// function) against the digests YARA-X's and boreal's tests expect for
// yara's test files, and that it is undefined for those without imports.
func TestElfImportMD5(t *testing.T) {
	f := newElfModule().Declare().Fields["import_md5"].Funcs[0]
	files := map[int]string{} // by size: the corpus' ELF files
	for _, b := range corpusBlobs(t, "elf") {
		files[len(b)] = string(b)
	}
	files[0] = string(readAll(t, []string{filepath.Join(sharedDir(t, "testdata/yara"), "data", "elf_with_imports")})[0])
	for _, tt := range []struct {
		size int
		want string
	}{
		{0, "141ad500037085bdbe4665241c44f936"},
		{9376, "89bd8d1f95cce5ba30f2cc5ba7e9d611"}, // MIPS
		{7296, "e3545a5c27dd2ed4dd1739a3c3c071b2"}, // x86-64, musl
		{328, ""}, {456, ""}, {368, ""}, {4540, ""}, // no undefined symbols
	} {
		data, ok := files[tt.size]
		if !ok {
			t.Fatalf("no corpus ELF file of %d bytes", tt.size)
		}
		v := f.Call(&ScanContext{Data: []byte(data)}, nil)
		if got := string(v.Str); v.Undefined != (tt.want == "") || got != tt.want {
			t.Errorf("%d bytes: import_md5() = %q (undefined %v), want %q", tt.size, got, v.Undefined, tt.want)
		}
	}
}
