package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/internal/testenv"
)

// clamBodySig is the body signature the engine's corpus test uses: bytes
// 0x40..0x77 of clam.exe.
func clamBodySig(t testing.TB) []byte {
	t.Helper()
	clam := readFile(t, testFile(t, "clam.exe"))
	return clam[0x40:0x77]
}

// unpackOne runs fm on data and returns its one member.
func unpackOne(t testing.TB, fm *Format, data []byte) Member {
	t.Helper()
	if !fm.Detect(data) {
		t.Fatalf("%s: Detect is false", fm.Name)
	}
	ms := unpackOK(t, fm, data)
	if len(ms) != 1 {
		t.Fatalf("%s: %d members, want 1", fm.Name, len(ms))
	}
	return ms[0]
}

// TestUPXClamTestFile unpacks clam-upx.exe (NRV2B) and compares the result
// with the file clamscan --leave-temps rebuilds from it: the same size and
// the same bytes from the PE header on (the DOS stubs differ: each tool
// writes its own).
func TestUPXClamTestFile(t *testing.T) {
	data := readFile(t, testFile(t, "clam-upx.exe"))
	m := unpackOne(t, upxFormat(), data)
	if m.Name != "upx" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want upx, MSEXE", m.Name, m.Type)
	}
	if !bytes.Contains(m.Data, clamBodySig(t)) {
		t.Fatal("rebuilt image lacks clam.exe's body")
	}
	if _, err := exe.Parse(m.Data); err != nil {
		t.Fatalf("rebuilt image does not parse: %v", err)
	}
	peer := clamscanRebuild(t, testFile(t, "clam-upx.exe"), "UPX", 1)
	if len(peer) != len(m.Data) {
		t.Fatalf("rebuilt %d bytes, clamscan %d", len(m.Data), len(peer))
	}
	if !bytes.Equal(peer[peStubSize:], m.Data[peStubSize:]) {
		t.Errorf("rebuilt image differs from clamscan's after the DOS stub")
	}
}

// clamscanRebuild has clamscan unpack file with --leave-temps and returns
// the unpacked file it leaves (the one whose debug line names it after
// the packer), asserting clamscan's exit status with clam.exe's body
// signature (1: found).
func clamscanRebuild(t testing.TB, file, packer string, status int) []byte {
	t.Helper()
	data := clamscanUnpacked(t, file, packer, status)
	if data == nil {
		t.Fatalf("clamscan did not unpack %s with %s", file, packer)
	}
	return data
}

// clamscanUnpacked is clamscanRebuild, returning nil when clamscan did not
// unpack the file; a negative status accepts any.
func clamscanUnpacked(t testing.TB, file, packer string, status int) []byte {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	dir := t.TempDir()
	db := filepath.Join(dir, "clam.ndb")
	if err := os.WriteFile(db, []byte("Clam.Body:0:*:"+hex.EncodeToString(clamBodySig(t))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, "--debug", "--allmatch", "--leave-temps", "--tempdir="+tmp, "-d", db, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if status >= 0 && code != status {
		t.Fatalf("clamscan %s: exit status %d, want %d\n%s", file, code, status, out)
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		// "UPX/FSG: Decompressed data saved in PATH", "...: Unpacked and
		// rebuilt executable saved in PATH"
		// Only the first file clamscan saves is the top-level file's:
		// later ones come from scanning what it unpacked.
		if i := strings.Index(line, " saved in "); i >= 0 {
			if !strings.Contains(line[:i], packer) {
				return nil
			}
			p := strings.TrimSpace(line[i+len(" saved in "):])
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	return nil
}

// TestUPXRealDLLs unpacks UPX-packed DLLs of YARA's test data and
// compares each rebuilt image with clamscan's, after the DOS stub.
func TestUPXRealDLLs(t *testing.T) {
	// ../shared beside the repository.
	files := testenv.Files(40, 4<<20, filepath.Join("..", "..", "shared", "testdata", "yara", "data", "*"))
	n := 0
	for _, f := range files {
		data := readFile(t, f)
		if !upxDetect(data) {
			continue
		}
		if upxNRVLoader(viewExe(data)) < 0 {
			// A program with an uninitialised section, no UPX loader:
			// ClamAV's decompressors all fail on it, and so do ours.
			if ms := unpackOK(t, upxFormat(), data); len(ms) != 0 {
				t.Errorf("%s: %d members from a file without a UPX loader", filepath.Base(f), len(ms))
			}
			if peer := clamscanUnpacked(t, f, "UPX", 0); peer != nil {
				t.Errorf("%s: clamscan unpacked %d bytes, glassav nothing", filepath.Base(f), len(peer))
			}
			continue
		}
		n++
		m := unpackOne(t, upxFormat(), data)
		info, err := exe.Parse(m.Data)
		if err != nil {
			t.Errorf("%s: rebuilt image does not parse: %v", filepath.Base(f), err)
			continue
		}
		if len(info.Sections) < 2 {
			t.Errorf("%s: rebuilt image has %d sections", filepath.Base(f), len(info.Sections))
		}
		peer := clamscanRebuild(t, f, "UPX", 0)
		if len(peer) != len(m.Data) || !bytes.Equal(peer[min(len(peer), peStubSize):], m.Data[peStubSize:]) {
			t.Errorf("%s: rebuilt %d bytes, clamscan %d, differing after the DOS stub", filepath.Base(f), len(m.Data), len(peer))
		}
	}
	if n == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no UPX-packed file in ../shared/testdata/yara/data")
		}
		t.Skip("no UPX-packed file in ../shared/testdata/yara/data")
	}
	t.Logf("%d UPX-packed files unpacked as clamscan does", n)
}

// TestUPXCorrupt cuts and flips clam-upx.exe: every variant ends within
// seconds in a member or a clear error, never a panic.
func TestUPXCorrupt(t *testing.T) {
	data := readFile(t, testFile(t, "clam-upx.exe"))
	fm := upxFormat()
	// Cut inside the compressed stream or before the entry point: a upx
	// format error. Cut after the stream (in the loader's tail): still
	// unpacked, clam.exe's body included.
	for _, tc := range []struct {
		n      int
		member bool
	}{{0x500, false}, {0x700, false}, {0x900, true}} {
		start := time.Now()
		var got []byte
		err := fm.Unpack(context.Background(), data[:tc.n], NewBudget(Limits{}), func(m Member) error { got = m.Data; return nil })
		var fe *FormatError
		switch {
		case tc.member && (err != nil || !bytes.Contains(got, clamBodySig(t))):
			t.Errorf("cut to 0x%x: %v, body found %v", tc.n, err, bytes.Contains(got, clamBodySig(t)))
		case !tc.member && (!errors.As(err, &fe) || fe.Format != "upx"):
			t.Errorf("cut to 0x%x: %v, want a upx format error", tc.n, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("cut to 0x%x: %v", tc.n, d)
		}
	}
	// Every seventh byte of the packed section flipped in turn.
	for off := 0x400; off < 0x400+0x600 && off < len(data); off += 7 {
		d := append([]byte(nil), data...)
		d[off] ^= 0x5a
		if err := runUnpack(fm, d); err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("flipped 0x%x: %v", off, err)
			}
		}
	}
}

// runUnpack runs fm on data with default limits and returns its error.
func runUnpack(fm *Format, data []byte) error {
	b := NewBudget(Limits{MaxScanTime: 30 * time.Second})
	return fm.Unpack(context.Background(), data, b, func(Member) error { return nil })
}

// BenchmarkNRVDecode measures the NRV decoders on 1 MiB of compressible
// data.
func BenchmarkNRVDecode(b *testing.B) {
	data := nrvSample(1<<20, 5)
	for _, m := range []nrvMethod{nrv2b, nrv2d, nrv2e} {
		packed := nrvEncode(m, data)
		b.Run(m.String(), func(b *testing.B) {
			dst := make([]byte, len(data))
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := nrvDecode(context.Background(), NewBudget(Limits{}), m, packed, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUPXDetect measures the check the engine runs on every Windows
// executable.
func BenchmarkUPXDetect(b *testing.B) {
	data := upxFixture(b, "nrv2b", []byte("benchmark body"))
	for i := 0; i < b.N; i++ {
		if !upxDetect(data) {
			b.Fatal("not detected")
		}
	}
}

// TestUPXNotUPX: a program whose uninitialised section is followed by an
// initialised one looks compressed to ClamAV's check, but without a UPX
// loader and a stream any decompressor takes glassav reports nothing —
// no member, no error, no limit hit, even for an uninitialised section
// far over the ratio limit.
func TestUPXNotUPX(t *testing.T) {
	data := upxFixture(t, "nrv2b", []byte("not a signature"))
	v := viewExe(data)
	copy(data[v.ep+0x69:], bytes.Repeat([]byte{0xcc}, 0x20))            // no loader code
	copy(data[0x400:v.ep], bytes.Repeat([]byte{0xff}, int(v.ep)-0x400)) // no stream
	for _, bss := range []uint32{upxFixUPX0Len, 0x4000000} {
		d := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(d[0x80+0xf8+8:], bss) // UPX0's virtual size
		b := NewBudget(Limits{})
		var n int
		err := upxFormat().Unpack(context.Background(), d, b, func(Member) error { n++; return nil })
		if err != nil || n != 0 || len(b.Hit()) != 0 {
			t.Errorf("bss 0x%x: %d members, %v, limits %v", bss, n, err, b.Hit())
		}
	}
}

// TestUPXModifiedLoader: with the loader's code changed beyond
// recognition, ClamAV still tries every decompressor and unpacks the
// stream; so does glassav, with the same result.
func TestUPXModifiedLoader(t *testing.T) {
	body := clamBodySig(t)
	for _, method := range []string{"nrv2d", "nrv2e"} {
		data := upxFixture(t, method, body)
		v := viewExe(data)
		copy(data[v.ep+0x69:], bytes.Repeat([]byte{0xcc}, 0x20))
		m := unpackOne(t, upxFormat(), data)
		file := filepath.Join(t.TempDir(), method+".exe")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		peer := clamscanRebuild(t, file, "UPX", 1)
		if len(peer) != len(m.Data) || !bytes.Equal(peer[peStubSize:], m.Data[peStubSize:]) {
			t.Errorf("%s: rebuilt %d bytes, clamscan %d; differing after the DOS stub", method, len(m.Data), len(peer))
		}
	}
}
