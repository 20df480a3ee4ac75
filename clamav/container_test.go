package clamav

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReadContainerRealCVD(t *testing.T) {
	// Versions, signature counts and member counts as sigtool --info and
	// tar report them.
	want := []struct {
		sigs, members int
	}{
		{0, 4}, {0, 4}, {11, 20}, {12, 20}, {13, 20}, {14, 20},
	}
	for i, w := range want {
		name, data := readTestCVD(t, i+1)
		c, err := ReadContainer(name, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !c.Official || c.Header.Version != i+1 || c.Header.Signatures != w.sigs ||
			len(c.Files) != w.members || c.Header.FLevel != 81 {
			t.Errorf("%s: official=%v version=%d sigs=%d flevel=%d members=%d, want true %d %d 81 %d",
				name, c.Official, c.Header.Version, c.Header.Signatures, c.Header.FLevel, len(c.Files), i+1, w.sigs, w.members)
		}
		if c.File("COPYING") == nil || c.File("test.info") == nil {
			t.Errorf("%s: missing COPYING or test.info", name)
		}
	}
}

func TestReadContainerHeaderFields(t *testing.T) {
	name, data := readTestCVD(t, 3)
	c, err := ReadContainer(name, data)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Header
	if h.BuildTime != "22 Jun 2021 20-40 -0400" || h.Version != 3 || h.Signatures != 11 || h.FLevel != 81 ||
		h.MD5 != "75c84c7f1a2d37d9c2a37b2bc9b3a670" || h.Builder != "raynman" || h.Time != 1624408809 ||
		!strings.HasPrefix(h.DSig, "j1b39yL+kUpU") {
		t.Errorf("header = %+v", h)
	}
	if got, want := h.Built(), time.Date(2021, 6, 23, 0, 40, 9, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Built() = %v, want %v", got, want)
	}
	ndb := c.File("test.ndb")
	if ndb == nil || !bytes.Contains(ndb.Data, []byte("\n")) || len(ndb.Data) != 240 {
		t.Errorf("test.ndb = %q", ndb)
	}
}

// TestReadContainerMatchesSigtool compares the header and members with what
// sigtool reports and unpacks.
func TestReadContainerMatchesSigtool(t *testing.T) {
	sigtool := containerTool(t, "sigtool")
	dir, err := filepath.Abs(containerTestdata(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		name, data := readTestCVD(t, i)
		c, err := ReadContainer(name, data)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sigtool, "--info", filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("sigtool --info %s: %v\n%s", name, err, out)
		}
		for _, line := range []string{
			"Version: " + strconv.Itoa(c.Header.Version),
			"Signatures: " + strconv.Itoa(c.Header.Signatures),
			"Builder: " + c.Header.Builder,
			"MD5: " + c.Header.MD5,
			"Verification OK.",
		} {
			if !bytes.Contains(out, []byte(line+"\n")) {
				t.Errorf("sigtool --info %s lacks %q:\n%s", name, line, out)
			}
		}
		tmp := t.TempDir()
		cmd := exec.Command(sigtool, "--unpack="+filepath.Join(dir, name))
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sigtool --unpack %s: %v\n%s", name, err, out)
		}
		ents, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != len(c.Files) {
			t.Errorf("%s: sigtool unpacked %d files, we read %d", name, len(ents), len(c.Files))
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(tmp, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if f := c.File(e.Name()); f == nil || !bytes.Equal(f.Data, b) {
				t.Errorf("%s: member %s differs from sigtool's", name, e.Name())
			}
		}
	}
}

// TestReadContainerCVDTampered flips bytes in each part of a signed CVD.
func TestReadContainerCVDTampered(t *testing.T) {
	name, orig := readTestCVD(t, 3)
	hdrLine := string(bytes.TrimRight(orig[:HeaderSize], " "))
	withHeader := func(line string) []byte {
		return append(containerHeaderBlock(line), orig[HeaderSize:]...)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"body byte", cvdFlipByte(orig, HeaderSize+100), ErrMD5Mismatch, "test-3.cvd: MD5 mismatch"},
		{"last byte", cvdFlipByte(orig, len(orig)-1), ErrMD5Mismatch, ""},
		{"truncated", orig[:len(orig)-10], ErrMD5Mismatch, ""},
		{"appended", append(bytes.Clone(orig), 0), ErrMD5Mismatch, ""},
		{"header MD5", withHeader(strings.Replace(hdrLine, "75c84c7f", "75c84c7e", 1)), ErrMD5Mismatch, ""},
		{"dsig char", withHeader(strings.Replace(hdrLine, "j1b39yL", "j1b39yM", 1)), ErrBadSignature, "test-3.cvd: digital signature verification failed"},
		{"dsig X", withHeader(strings.Replace(hdrLine, ":j1b39yL+kUpU1KW/As6nBmw9q3jvCjF3KJCAtr2g4z6WzzccM4VIxjTfhPwvlWJLQm7fDMNExZWBUtdrEZjqpUjqhzz6J52TCldBRXBBSTYnuAq5zrMbfdh4w7hPqhGvlynbInnEd6GKagMz9SYIS43L0yn34v3pvmyBtGw5/Gf:", ":X:", 1)), ErrBadSignature, ""},
		{"version", withHeader(strings.Replace(hdrLine, ":3:11:", ":4:11:", 1)), nil, "does not match the .info copy"},
		{"sig count", withHeader(strings.Replace(hdrLine, ":3:11:", ":3:12:", 1)), nil, "does not match the .info copy"},
		{"epoch", withHeader(strings.Replace(hdrLine, "1624408809", "1624408810", 1)), nil, "does not match the .info copy"},
		{"magic", withHeader(strings.Replace(hdrLine, "ClamAV-VDB", "ClamAV-VDX", 1)), nil, "no ClamAV-VDB: magic"},
		{"short", orig[:100], nil, "shorter than the 512-byte header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadContainer(name, tt.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			var ce *ContainerError
			if !errors.As(err, &ce) || ce.File != name {
				t.Errorf("err = %#v, want a *ContainerError for %s", err, name)
			}
		})
	}
}

func cvdFlipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

// test3Members returns the members of test-3.cvd, the starting point for
// .cld tests.
func test3Members(t *testing.T) []ContainerFile {
	t.Helper()
	name, data := readTestCVD(t, 3)
	c, err := ReadContainer(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return c.Files
}

func TestReadContainerCLD(t *testing.T) {
	files := test3Members(t)
	for _, gz := range []bool{false, true} {
		data := buildCLD(t, files, gz)
		c, err := ReadContainer("test.cld", data)
		if err != nil {
			t.Fatalf("gzip=%v: %v", gz, err)
		}
		if !c.Official || c.Header.Version != 3 || c.Header.MD5 != "X" || c.Header.DSig != "X" || len(c.Files) != len(files) {
			t.Errorf("gzip=%v: official=%v header=%+v members=%d", gz, c.Official, c.Header, len(c.Files))
		}
	}
}

// cldTamperCases are edits of test-3's members packed as a .cld; ClamAV
// refuses every one of them too (see TestCLDTamperedClamscanAgrees).
func cldTamperCases(t *testing.T) []struct {
	name    string
	data    []byte
	wantErr error
	wantMsg string
} {
	files := test3Members(t)
	editInfo := func(old, new string) []ContainerFile {
		return containerReplace(files, "test.info", func(b []byte) []byte {
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("test.info lacks %q", old)
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		})
	}
	good := buildCLD(t, files, false)
	return []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"member content", buildCLD(t, containerReplace(files, "test.ndb", func(b []byte) []byte { b[0] ^= 1; return b }), false),
			ErrSHA256Mismatch, "test.cld: member test.ndb: SHA-256 mismatch"},
		{"member size", buildCLD(t, containerReplace(files, "test.hdb", func(b []byte) []byte { return append(b, '\n') }), true),
			ErrSizeMismatch, "test.cld: member test.hdb: size mismatch"},
		{"info line", buildCLD(t, editInfo("test.ndb:240:", "test.ndb:241:"), false),
			ErrBadSignature, "test.cld: member test.info: digital signature verification failed"},
		{"info header", buildCLD(t, editInfo(":3:11:81:", ":3:10:81:"), false), ErrBadSignature, ""},
		{"info dsig", buildCLD(t, editInfo("DSIG:gNOzC", "DSIG:gNOzD"), false), ErrBadSignature, ""},
		{"info dsig removed", buildCLD(t, editInfo("DSIG:", "XSIG:"), false), nil, ""},
		{"info missing", append(bytes.Clone(good[:HeaderSize]), containerTar(t, containerDrop(files, "test.info"), false)...), nil, "no .info member"},
		{"cld header", append(containerHeaderBlock("ClamAV-VDB:22 Jun 2021 20-40 -0400:4:11:81:X:X:raynman:1624408809"), good[HeaderSize:]...),
			nil, "does not match the .info copy"},
		{"unlisted member", buildCLD(t, append(slices.Clone(files), ContainerFile{Name: "extra.ndb", Data: []byte("X:0:*:41424344\n")}), false),
			nil, "test.cld: member extra.ndb: not listed in test.info"},
		{"truncated", good[:len(good)-2000], nil, "truncated"},
	}
}

func TestReadContainerCLDTampered(t *testing.T) {
	for _, tt := range cldTamperCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadContainer("test.cld", tt.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	// A listed member that is missing: ClamAV does not notice, we do.
	_, err := ReadContainer("test.cld", buildCLD(t, containerDrop(test3Members(t), "test.ldb"), false))
	if err == nil || !strings.Contains(err.Error(), "member test.ldb: listed in test.info but missing") {
		t.Errorf("missing member: err = %v", err)
	}
}

// clamscanKnownViruses runs clamscan with one database on an empty file and returns
// its "Known viruses" count, or -1 if clamscan refused the database.
func clamscanKnownViruses(t *testing.T, clamscan, db string) int {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clamscan, "--no-summary=no", "-d", db, empty).CombinedOutput()
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`Known viruses: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("clamscan output lacks Known viruses:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestCLDClamscanAgrees checks that ClamAV accepts the .cld files we build
// and accept, and refuses the tampered ones we refuse.
func TestCLDClamscanAgrees(t *testing.T) {
	clamscan := containerTool(t, "clamscan")
	dir := t.TempDir()
	files := test3Members(t)
	for _, gz := range []bool{false, true} {
		db := filepath.Join(dir, "good.cld")
		if err := os.WriteFile(db, buildCLD(t, files, gz), 0o644); err != nil {
			t.Fatal(err)
		}
		if n := clamscanKnownViruses(t, clamscan, db); n != 7 {
			t.Errorf("gzip=%v: clamscan loaded %d signatures from our .cld, want 7", gz, n)
		}
	}
	for _, tt := range cldTamperCases(t) {
		db := filepath.Join(dir, "bad.cld")
		if err := os.WriteFile(db, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if n := clamscanKnownViruses(t, clamscan, db); n >= 0 {
			t.Errorf("%s: clamscan accepted a .cld we refuse (%d signatures)", tt.name, n)
		}
	}
}

func TestReadContainerCUD(t *testing.T) {
	db := cudSampleDB("x")
	for _, noMD5 := range []bool{false, true} {
		c, err := ReadContainer("x.cud", buildCUD(t, "x", 7, db, noMD5))
		if err != nil {
			t.Fatalf("noMD5=%v: %v", noMD5, err)
		}
		if c.Official || c.Header.Version != 7 || c.Header.DSig != "X" || len(c.Files) != 4 {
			t.Errorf("official=%v header=%+v members=%d", c.Official, c.Header, len(c.Files))
		}
		if f := c.File("x.ndb"); f == nil || !bytes.Equal(f.Data, db[0].Data) {
			t.Errorf("x.ndb = %v", f)
		}
	}

	bad := buildCUD(t, "x", 7, db, true)
	// Without an MD5 a corrupt gzip stream is caught by gzip or tar.
	if _, err := ReadContainer("x.cud", cvdFlipByte(bad, HeaderSize+40)); err == nil {
		t.Error("accepted a .cud with a corrupt gzip stream")
	}
	if _, err := ReadContainer("x.cud", cvdFlipByte(buildCUD(t, "x", 7, db, false), HeaderSize+40)); !errors.Is(err, ErrMD5Mismatch) {
		t.Errorf("corrupt body with MD5: err = %v, want MD5 mismatch", err)
	}
	// The same bytes under a .cvd name need a signature.
	if _, err := ReadContainer("x.cvd", bad); err == nil {
		t.Error("accepted an unsigned .cvd")
	}
	// And under a .cld name the unsigned .info is refused.
	if _, err := ReadContainer("x.cld", bad); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unsigned .cld: err = %v, want %v", err, ErrBadSignature)
	}
}

func TestReadContainerCUDTampered(t *testing.T) {
	cud := func(edit func(files []ContainerFile) []ContainerFile) []byte {
		c, err := ReadContainer("x.cud", buildCUD(t, "x", 7, cudSampleDB("x"), true))
		if err != nil {
			t.Fatal(err)
		}
		files := edit(c.Files)
		hdr := c.Header
		return append(containerHeaderBlock(hdr.String()), containerTar(t, files, true)...)
	}
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"member", cud(func(f []ContainerFile) []ContainerFile {
			return containerReplace(f, "x.ndb", func(b []byte) []byte { b[3] = 'X'; return b })
		}), "x.cud: member x.ndb: SHA-256 mismatch"},
		{"dsig line", cud(func(f []ContainerFile) []ContainerFile {
			return containerReplace(f, "x.info", func(b []byte) []byte { return append(b, "DSIG:abc\n"...) })
		}), "unsigned container has a DSIG line"},
		{"empty dsig line", cud(func(f []ContainerFile) []ContainerFile {
			return containerReplace(f, "x.info", func(b []byte) []byte { return append(b, "DSIG:\n"...) })
		}), "unsigned container has a DSIG line"},
		{"bad manifest line", cud(func(f []ContainerFile) []ContainerFile {
			return containerReplace(f, "x.info", func(b []byte) []byte { return append(b, "x.ldb:12\n"...) })
		}), "x.cud: member x.info: line 4: want name:size:sha256"},
		{"empty line", cud(func(f []ContainerFile) []ContainerFile {
			return containerReplace(f, "x.info", func(b []byte) []byte { return append(b, "\n"...) })
		}), "line 4"},
		{"two infos", cud(func(f []ContainerFile) []ContainerFile {
			return append(f, ContainerFile{Name: "y.info", Data: f[1].Data})
		}), "two .info members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadContainer("x.cud", tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestSigtoolCUD reads a .cud built by sigtool --build --unsigned and checks
// that clamscan loads it with the same signature count.
func TestSigtoolCUD(t *testing.T) {
	sigtool := containerTool(t, "sigtool")
	clamscan := containerTool(t, "clamscan")
	dir := t.TempDir()
	files := append([]ContainerFile{{Name: "COPYING", Data: []byte("licence\n")}}, cudSampleDB("x")...)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(sigtool, "--build=x.cud", "--unsigned")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("9\ntester\n") // version, builder
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sigtool --build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "x.cud")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadContainer("x.cud", data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Official || c.Header.Version != 9 || c.Header.Signatures != 2 || c.Header.Builder != "tester" {
		t.Errorf("header = %+v official=%v", c.Header, c.Official)
	}
	for _, f := range files {
		if g := c.File(f.Name); g == nil || !bytes.Equal(g.Data, f.Data) {
			t.Errorf("member %s = %v", f.Name, g)
		}
	}
	if n := clamscanKnownViruses(t, clamscan, path); n != 2 {
		t.Errorf("clamscan loaded %d signatures, want 2", n)
	}
}

func TestReadContainerName(t *testing.T) {
	for _, name := range []string{"daily.ndb", "daily", "x.cvd.sign", "cvd"} {
		if _, err := ReadContainer(name, make([]byte, 1024)); err == nil || !strings.Contains(err.Error(), "not a .cvd, .cld or .cud") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// The extension is case-insensitive, as in ClamAV.
	if _, err := ReadContainer("X.CUD", buildCUD(t, "x", 1, cudSampleDB("x"), false)); err != nil {
		t.Errorf("X.CUD: %v", err)
	}
}

func BenchmarkReadContainer(b *testing.B) {
	name, data := readTestCVD(b, 3)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadContainer(name, data); err != nil {
			b.Fatal(err)
		}
	}
}
