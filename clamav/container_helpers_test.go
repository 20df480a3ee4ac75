package clamav

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// containerTestdata returns the directory of ClamAV's signed test
// containers in ../shared, skipping the test when it is absent (a user's
// clone) and failing it under CI.
func containerTestdata(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "testdata", "clamav", "clamav-unit-tests",
		"unit_tests", "input", "freshclam_testfiles")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("shared test data missing (%v); skipping", err)
	}
	return dir
}

// containerTestdataAbs is containerTestdata as an absolute path, for
// tools run in another directory.
func containerTestdataAbs(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(containerTestdata(t))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// readTestCVD reads test-N.cvd from the shared test data.
func readTestCVD(t testing.TB, n int) (name string, data []byte) {
	t.Helper()
	name = fmt.Sprintf("test-%d.cvd", n)
	data, err := os.ReadFile(filepath.Join(containerTestdata(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return name, data
}

// containerTool returns the path of a ClamAV tool, skipping the test when
// it is not installed and failing it under CI.
func containerTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed; skipping", name)
	}
	return p
}

// containerTar writes files as a ustar archive, gzip-compressed if gz.
func containerTar(t testing.TB, files []ContainerFile, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Size: int64(len(f.Data)), Mode: 0644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	zw.Close()
	return z.Bytes()
}

// containerHeaderBlock pads a header line to the 512-byte header block.
func containerHeaderBlock(line string) []byte {
	b := bytes.Repeat([]byte{' '}, HeaderSize)
	copy(b, line)
	return b
}

// buildCLD packs members as freshclam does after applying diffs: the
// header is the first line of the .info member, the body a tar archive.
func buildCLD(t testing.TB, files []ContainerFile, gz bool) []byte {
	t.Helper()
	var line string
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".info") {
			line, _, _ = strings.Cut(string(f.Data), "\n")
		}
	}
	return append(containerHeaderBlock(line), containerTar(t, files, gz)...)
}

// buildCUD packs db files as `sigtool --build --unsigned` does: COPYING,
// an unsigned .info manifest, the db files; gzip; header with the MD5 of
// the body (or "X" if noMD5) and dsig "X".
func buildCUD(t testing.TB, base string, version int, db []ContainerFile, noMD5 bool) []byte {
	t.Helper()
	var info strings.Builder
	hdr := Header{BuildTime: "29 Nov 2026 17-36 +0000", Version: version, Signatures: len(db),
		FLevel: 216, MD5: "X", DSig: "X", Builder: "tester", Time: 1795973815}
	info.WriteString(hdr.String() + "\n")
	for _, f := range db {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&info, "%s:%d:%s\n", f.Name, len(f.Data), hex.EncodeToString(sum[:]))
	}
	files := append([]ContainerFile{
		{Name: "COPYING", Data: []byte("licence text\n")},
		{Name: base + ".info", Data: []byte(info.String())},
	}, db...)
	body := containerTar(t, files, true)
	if !noMD5 {
		sum := md5.Sum(body)
		hdr.MD5 = hex.EncodeToString(sum[:])
	}
	return append(containerHeaderBlock(hdr.String()), body...)
}

// cudSampleDB is a small set of db files for synthetic containers.
func cudSampleDB(base string) []ContainerFile {
	return []ContainerFile{
		{Name: base + ".ndb", Data: []byte("Test.Sig-1:0:*:414243444546474849\n")},
		{Name: base + ".hdb", Data: []byte("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test\n")},
	}
}

// containerReplace returns a copy of files with the named member's data
// replaced by edit(data).
func containerReplace(files []ContainerFile, name string, edit func([]byte) []byte) []ContainerFile {
	out := make([]ContainerFile, len(files))
	for i, f := range files {
		out[i] = f
		if f.Name == name {
			out[i].Data = edit(bytes.Clone(f.Data))
		}
	}
	return out
}

// containerDrop returns a copy of files without the named member.
func containerDrop(files []ContainerFile, name string) []ContainerFile {
	var out []ContainerFile
	for _, f := range files {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}
