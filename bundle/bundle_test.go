package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testFiles() map[string][]byte {
	return map[string][]byte{
		"test.ndb":  []byte("Glassav.Test.Body:0:*:676c617373617621746573742d626f6479\n"),
		"test.hdb":  []byte("44d88612fea8a8f36de82e1278abb02f:68:Glassav.Test.Hash\n"),
		"rules.yar": []byte("rule glassav_test { strings: $a = \"glassav-yara-test\" condition: $a }\n"),
	}
}

func TestBuildLayout(t *testing.T) {
	b, m, err := Build(7, testFiles())
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.ModTime.Unix() != 0 || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || hdr.Mode != 0o644 || hdr.Typeflag != tar.TypeReg || hdr.Format != tar.FormatUSTAR {
			t.Errorf("member %s: header %+v is not canonical", hdr.Name, hdr)
		}
	}
	want := []string{"MANIFEST", "rules.yar", "test.hdb", "test.ndb"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("members %v, want %v", names, want)
	}
	text := string(m.Format())
	if !strings.HasPrefix(text, "glassav-bundle/v1\nversion 7\n") || strings.Count(text, "\n") != 5 {
		t.Errorf("manifest:\n%s", text)
	}
	sum := sha256.Sum256(testFiles()["test.hdb"])
	if f := m.Lookup("test.hdb"); f == nil || f.SHA256 != sum || f.Size != int64(len(testFiles()["test.hdb"])) {
		t.Errorf("Lookup(test.hdb) = %+v", f)
	}
}

// TestReproducibleSource builds from two copies of one source directory
// written with different modification times, umask-like modes and file
// creation orders, and expects identical bytes.
func TestReproducibleSource(t *testing.T) {
	var out [][]byte
	for i, mode := range []os.FileMode{0o600, 0o664} {
		dir := t.TempDir()
		files := testFiles()
		order := []string{"test.ndb", "rules.yar", "test.hdb"}
		if i == 1 {
			order = []string{"test.hdb", "test.ndb", "rules.yar"}
		}
		for j, n := range order {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, files[n], mode); err != nil {
				t.Fatal(err)
			}
			mt := time.Unix(int64(1e9+i*1000+j), 0)
			if err := os.Chtimes(p, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a database"), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := ReadSource(dir, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if len(src.Skipped) != 1 || src.Skipped[0] != "README" {
			t.Errorf("Skipped = %v, want [README]", src.Skipped)
		}
		b, _, err := Build(3, src.Files)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatal("the same source gave different bundles")
	}
}

func TestReadRoundTrip(t *testing.T) {
	b, m, err := Build(2, testFiles())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(b), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got.Manifest.Version != 2 || !bytes.Equal(got.Manifest.Format(), m.Format()) || got.IsDelta() {
		t.Errorf("manifest %q delta=%v", got.Manifest.Format(), got.IsDelta())
	}
	for n, d := range testFiles() {
		if !bytes.Equal(got.Files[n], d) {
			t.Errorf("%s: content differs", n)
		}
	}
}

// tarOf writes members as given, with no checks, to build hostile archives.
func tarOf(t *testing.T, members ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range members {
		body := []byte(h.Linkname)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
			h.Linkname = ""
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// reg is a regular-file header whose content travels in Linkname for tarOf.
func reg(name, content string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Linkname: content}
}

func TestReadRefuses(t *testing.T) {
	good, m, err := Build(2, testFiles())
	if err != nil {
		t.Fatal(err)
	}
	man := string(m.Format())
	files := testFiles()
	flip := func(b []byte, off int) []byte {
		c := bytes.Clone(b)
		c[off] ^= 1
		return c
	}
	contentOff := bytes.Index(good, files["test.hdb"])
	small := DefaultLimits()
	small.MaxFileSize = 40
	tests := []struct {
		name string
		b    []byte
		lim  Limits
		want string
	}{
		{"tampered content", flip(good, contentOff), DefaultLimits(), "SHA-256 differs"},
		{"truncated", good[:contentOff+10], DefaultLimits(), "unexpected EOF"},
		{"oversized member", good, small, "size"},
		{"empty", nil, DefaultLimits(), "no MANIFEST"},
		{"manifest not first", tarOf(t, reg("test.hdb", string(files["test.hdb"])), reg("MANIFEST", man)), DefaultLimits(), "first member"},
		{"member not in manifest", tarOf(t, reg("MANIFEST", man), reg("zzz.ndb", "x")), DefaultLimits(), "not in the manifest"},
		{"unsorted", tarOf(t, reg("MANIFEST", man), reg("test.ndb", string(files["test.ndb"])), reg("test.hdb", string(files["test.hdb"]))), DefaultLimits(), "not sorted"},
		{"duplicate", tarOf(t, reg("MANIFEST", man), reg("test.hdb", string(files["test.hdb"])), reg("test.hdb", string(files["test.hdb"]))), DefaultLimits(), "not sorted or not unique"},
		{"symlink", tarOf(t, reg("MANIFEST", man), &tar.Header{Typeflag: tar.TypeSymlink, Name: "test.hdb", Linkname: "/etc/passwd"}), DefaultLimits(), "not a regular file"},
		{"directory", tarOf(t, reg("MANIFEST", man), &tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755}), DefaultLimits(), "not a regular file"},
		{"wrong size", tarOf(t, reg("MANIFEST", man), reg("test.hdb", "short")), DefaultLimits(), "manifest says"},
		{"bad manifest", tarOf(t, reg("MANIFEST", "glassav-bundle/v1\nversion 01\n")), DefaultLimits(), "canonical"},
		{"traversal", tarOf(t, reg("MANIFEST", "glassav-bundle/v1\nversion 1\n"+strings.Repeat("0", 64)+"  0  ../x\n")), DefaultLimits(), `".."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.b), tt.lim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read: %v, want an error containing %q", err, tt.want)
			}
			dir := t.TempDir()
			if _, err := Unpack(bytes.NewReader(tt.b), dir, "", tt.lim); err == nil {
				t.Fatal("Unpack accepted it")
			}
		})
	}
}

func TestDelta(t *testing.T) {
	v1 := testFiles()
	full1, m1, err := Build(1, v1)
	if err != nil {
		t.Fatal(err)
	}
	v2 := testFiles()
	delete(v2, "test.hdb")                                                      // deleted
	v2["test.ndb"] = []byte("Glassav.Test.Body2:0:*:6162636465666768696a\n")    // changed
	v2["new.ndb"] = []byte("Glassav.Test.New:0:*:6e65772d7369676e6174757265\n") // new
	delta, m2, err := BuildDelta(m1, 2, v2)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Read(bytes.NewReader(delta), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsDelta() || len(d.Files) != 2 || d.Files["new.ndb"] == nil || d.Files["test.ndb"] == nil {
		t.Fatalf("delta holds %d files", len(d.Files))
	}
	prev := t.TempDir()
	if _, err := Unpack(bytes.NewReader(full1), prev, "", DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	next := t.TempDir()
	got, err := Unpack(bytes.NewReader(delta), next, prev, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Format(), m2.Format()) {
		t.Error("manifest differs")
	}
	ents, _ := os.ReadDir(next)
	if len(ents) != len(v2) {
		t.Errorf("%d files after the delta, want %d", len(ents), len(v2))
	}
	for n, want := range v2 {
		if b, err := os.ReadFile(filepath.Join(next, n)); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: %v", n, err)
		}
	}
	// A delta over the wrong previous version is caught by the hashes.
	os.WriteFile(filepath.Join(prev, "rules.yar"), []byte("rule x { condition: true }\n"), 0o644)
	if _, err := Unpack(bytes.NewReader(delta), t.TempDir(), prev, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "rules.yar") {
		t.Errorf("delta over a modified previous version: %v", err)
	}
	if _, err := Unpack(bytes.NewReader(delta), t.TempDir(), "", DefaultLimits()); err == nil {
		t.Error("delta without a previous version accepted")
	}
	if _, _, err := BuildDelta(m2, 2, v2); err == nil {
		t.Error("delta to the same version accepted")
	}
}

func TestParseManifest(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want string // "" means valid
	}{
		{"glassav-bundle/v1\nversion 1\n", ""},
		{"glassav-bundle/v1\nversion 1\n" + h + "  10  a.ndb\n" + h + "  0  b/c.yar\n", ""},
		{"glassav-bundle/v1\nversion 1", "newline"},
		{"glassav-bundle/v2\nversion 1\n", "first line"},
		{"glassav-bundle/v1\nversion 0\n", "positive"},
		{"glassav-bundle/v1\nversion -1\n", "canonical"},
		{"glassav-bundle/v1\nversion 1\n" + h + " 10 a.ndb\n", "not"},
		{"glassav-bundle/v1\nversion 1\n" + strings.ToUpper(h) + "  10  a.ndb\n", "lower-case"},
		{"glassav-bundle/v1\nversion 1\n" + h + "  10  b.ndb\n" + h + "  10  a.ndb\n", "sorted"},
		{"glassav-bundle/v1\nversion 1\n" + h + "  10  a b\n", "not allowed"},
		{"glassav-bundle/v1\nversion 1\n" + h + "  10  /a\n", "empty"},
		{"glassav-bundle/v1\nversion 1\n" + h + "  10  MANIFEST\n", "reserved"},
		{"glassav-bundle/v1\nversion 1\n" + h + "  99999999999  a\n", "size"},
		{"glassav-bundle/v1\nversion 1\n\n", "not"},
	}
	for _, tt := range tests {
		m, err := ParseManifest([]byte(tt.in), DefaultLimits())
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.in, err)
		case tt.want == "" && string(m.Format()) != tt.in:
			t.Errorf("%q: Format gives %q", tt.in, m.Format())
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}
