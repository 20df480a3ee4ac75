package clamav

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// tarRaw writes headers as given, each followed by size bytes of 'a'.
func tarRaw(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			tw.Write(bytes.Repeat([]byte{'a'}, int(h.Size)))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func tarReg(name string, size int64) *tar.Header {
	return &tar.Header{Name: name, Size: size, Mode: 0644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
}

func TestReadTarBody(t *testing.T) {
	files := []ContainerFile{{"COPYING", []byte("c")}, {"x.info", []byte("i\n")}, {"x.ndb", nil}}
	for _, gz := range []bool{false, true} {
		got, err := readTarBody(containerTar(t, files, gz), DefaultLimits())
		if err != nil {
			t.Fatalf("gzip=%v: %v", gz, err)
		}
		if len(got) != 3 || got[1].Name != "x.info" || string(got[1].Data) != "i\n" || len(got[2].Data) != 0 {
			t.Errorf("gzip=%v: got %v", gz, got)
		}
	}
	// Trailing data after the end-of-archive blocks is ignored, as by ClamAV.
	body := append(containerTar(t, files, false), "trailing junk"...)
	if _, err := readTarBody(body, DefaultLimits()); err != nil {
		t.Errorf("trailing data: %v", err)
	}
	// An empty archive has no members (the .info check rejects it later).
	if got, err := readTarBody(nil, DefaultLimits()); err != nil || len(got) != 0 {
		t.Errorf("empty body: %v, %v", got, err)
	}
}

func TestReadTarBodyRefuses(t *testing.T) {
	pax := tarReg("x.ndb", 1)
	pax.Format = tar.FormatPAX
	pax.PAXRecords = map[string]string{"comment": "hi"}
	long := tarReg(strings.Repeat("n", 101), 1)
	long.Format = tar.FormatGNU
	tests := []struct {
		name string
		body []byte
		msg  string
	}{
		{"directory", tarRaw(t, &tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0755}), "d/"},
		{"symlink", tarRaw(t, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), "not a regular file"},
		{"hard link", tarRaw(t, &tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "x"}), "not a regular file"},
		{"slash", tarRaw(t, tarReg("a/x.ndb", 1)), "path separator"},
		{"dotdot", tarRaw(t, tarReg("..", 1)), `".."`},
		{"colon", tarRaw(t, tarReg("a:b", 1)), "colon"},
		{"control", tarRaw(t, tarReg("a\x01b", 1)), "control byte"},
		{"duplicate", tarRaw(t, tarReg("x.ndb", 1), tarReg("x.ndb", 2)), "appears twice"},
		{"pax", tarRaw(t, pax), "extended headers"},
		{"long name", tarRaw(t, long), "longer than 100"},
		{"truncated", tarRaw(t, tarReg("x.ndb", 5000))[:1500], "truncated"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip"},
		{"garbage", bytes.Repeat([]byte{'z'}, 1024), "tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readTarBody(tt.body, DefaultLimits())
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestReadTarBodyLimits(t *testing.T) {
	lim := Limits{MaxTotalSize: 100, MaxMemberSize: 60, MaxMembers: 3}
	tests := []struct {
		name string
		hdrs []*tar.Header
		ok   bool
	}{
		{"at limits", []*tar.Header{tarReg("a", 60), tarReg("b", 40), tarReg("c", 0)}, true},
		{"member too big", []*tar.Header{tarReg("a", 61)}, false},
		{"total too big", []*tar.Header{tarReg("a", 60), tarReg("b", 41)}, false},
		{"too many", []*tar.Header{tarReg("a", 1), tarReg("b", 1), tarReg("c", 1), tarReg("d", 1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readTarBody(tarRaw(t, tt.hdrs...), lim)
			if tt.ok && err != nil {
				t.Errorf("err = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrLimit) {
				t.Errorf("err = %v, want %v", err, ErrLimit)
			}
		})
	}
}

// TestReadTarBodyBomb checks that a member claiming far more data than the
// stream holds fails without allocating its claimed size.
func TestReadTarBodyBomb(t *testing.T) {
	// A header claiming 1 GiB with no data after it.
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	tw.WriteHeader(tarReg("x.ndb", 1<<30))
	tw.Flush()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := readTarBody(hdr.Bytes(), DefaultLimits()); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err = %v, want truncated", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("allocated %d bytes for a member that holds none", n)
	}
	// Highly compressible data: the gzip stream is small, the member is
	// over the limit and refused before being read.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(tarRaw(t, tarReg("big", 4<<20)))
	zw.Close()
	_, err := readTarBody(z.Bytes(), Limits{MaxTotalSize: 1 << 20, MaxMemberSize: 1 << 20, MaxMembers: 10})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("compressed bomb: err = %v, want %v", err, ErrLimit)
	}
}

func FuzzReadContainer(f *testing.F) {
	// Seeds: an unsigned .cud without MD5, so mutations reach the tar and
	// .info code, and the real signed containers when available.
	db := cudSampleDB("x")
	f.Add(buildCUD(f, "x", 1, db, true), uint8(2))
	f.Add(buildCUD(f, "x", 1, db, false), uint8(2))
	files := append([]ContainerFile{{"x.info", []byte("ClamAV-VDB:t:1:2:3:X:X:b:4\nx.ndb:1:" + strings.Repeat("0", 64) + "\nDSIG:abc\n")}}, db...)
	f.Add(append(containerHeaderBlock("ClamAV-VDB:t:1:2:3:X:X:b:4"), containerTar(f, files, false)...), uint8(1))
	for i := 1; i <= 6; i++ {
		dir := filepath.Join("..", "..", "shared", "testdata", "clamav", "clamav-unit-tests",
			"unit_tests", "input", "freshclam_testfiles")
		if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("test-%d.cvd", i))); err == nil {
			f.Add(b, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		name := [...]string{"x.cvd", "x.cld", "x.cud"}[kind%3]
		lim := Limits{MaxTotalSize: 1 << 20, MaxMemberSize: 1 << 20, MaxMembers: 50}
		c, err := ReadContainerLimits(name, data, lim)
		if err != nil {
			var ce *ContainerError
			if !errors.As(err, &ce) || ce.File != name {
				t.Fatalf("error %v is not a *ContainerError for %s", err, name)
			}
			return
		}
		infos := 0
		for _, f := range c.Files {
			if strings.HasSuffix(strings.ToLower(f.Name), ".info") {
				infos++
			}
		}
		if infos != 1 {
			t.Fatalf("accepted a container with %d .info members", infos)
		}
		var total int64
		for _, f := range c.Files {
			total += int64(len(f.Data))
		}
		if total > lim.MaxTotalSize || len(c.Files) > lim.MaxMembers {
			t.Fatalf("limits exceeded: %d bytes, %d members", total, len(c.Files))
		}
		if c.Official != (kind%3 != 2) {
			t.Fatalf("official = %v for %s", c.Official, name)
		}
	})
}
