package unpack

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// build7z packs the payload (and /usr/bin/false) with 7zz and extra
// switches, returning the archive's path.
func build7z(t testing.TB, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload"), readPayload(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("a second, small member\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "7zz", append(append([]string{"a", "-bd"}, args...), "out.7z", "payload", "other")...)
	return filepath.Join(dir, "out.7z")
}

func TestSevenZip(t *testing.T) {
	payload := readPayload(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"lzma2", []string{"-m0=lzma2", "-ms=off"}},
		{"lzma", []string{"-m0=lzma", "-ms=on"}},
		{"bzip2", []string{"-m0=bzip2"}},
		{"deflate", []string{"-m0=deflate"}},
		{"ppmd", []string{"-m0=ppmd"}},
		{"copy", []string{"-m0=copy"}},
		{"bcj-solid", []string{"-mf=BCJ", "-ms=on", "-mx=9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := build7z(t, tc.args...)
			ms := unpackOK(t, sevenZipFormat(), readFile(t, path))
			wantMember(t, ms, "payload", payload)
			wantMember(t, ms, "other", []byte("a second, small member\n"))
			if len(ms) != 2 {
				t.Errorf("%d members, want 2", len(ms))
			}
		})
	}
}

// TestSevenZipSFX opens an archive behind an executable stub, as a 7-Zip
// SFX is laid out (Debian's 7zz ships no SFX module to build a real one).
func TestSevenZipSFX(t *testing.T) {
	payload := readPayload(t)
	sfx := append(readFile(t, "/usr/bin/false"), readFile(t, build7z(t))...)
	ms := unpackOK(t, sevenZipFormat(), sfx)
	wantMember(t, ms, "payload", payload)
}

func TestSevenZipEncrypted(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"data", []string{"-pSecret"}},
		{"header", []string{"-pSecret", "-mhe=on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := unpackOK(t, sevenZipFormat(), readFile(t, build7z(t, tc.args...)))
			if len(ms) == 0 {
				t.Fatal("no members")
			}
			for _, m := range ms {
				if !m.Encrypted {
					t.Errorf("member %q (%d bytes) not marked encrypted", m.Name, len(m.Data))
				}
			}
		})
	}
}

func TestSevenZipClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam.7z")
	ms := unpackOK(t, sevenZipFormat(), readFile(t, path))
	wantMember(t, ms, "clam.exe", clam)
	clamscanFinds(t, path, clam)
}

func TestSevenZipDamaged(t *testing.T) {
	checkDamaged(t, sevenZipFormat(), readFile(t, build7z(t, "-m0=lzma2")))
}

func TestSevenZipPeer(t *testing.T) {
	clamscanFinds(t, build7z(t, "-m0=lzma2"), readPayload(t))
}

func FuzzUnpackSevenZip(f *testing.F) {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.7z"); err == nil {
		seeds = append(seeds, data)
	}
	seeds = append(seeds, []byte("7z\xbc\xaf\x27\x1c\x00\x04"))
	fuzzFormat(f, sevenZipFormat(), seeds...)
}

// sevenZipPlainHeader wraps an unencoded archive header h in a signature
// header with valid CRCs.
func sevenZipPlainHeader(h []byte) []byte {
	le := binary.LittleEndian
	start := make([]byte, 20)
	le.PutUint64(start[8:], uint64(len(h)))
	le.PutUint32(start[16:], crc32.ChecksumIEEE(h))
	out := []byte("7z\xbc\xaf\x27\x1c\x00\x04")
	out = le.AppendUint32(out, crc32.ChecksumIEEE(start))
	return append(append(out, start...), h...)
}

// TestSevenZipHugeCounts: tiny headers claiming 2^32 files or folders once
// made the library allocate hundreds of gigabytes and abort the process;
// now they are corrupt input.
func TestSevenZipHugeCounts(t *testing.T) {
	for _, h := range [][]byte{
		{0x01, 0x05, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x00},                                     // files
		{0x01, 0x04, 0x07, 0x0b, 0xf0, 0xff, 0xff, 0xff, 0x7f, 0x00},                         // folders
		{0x01, 0x04, 0x06, 0x00, 0xf0, 0xff, 0xff, 0xff, 0xff, 0x09, 0x00},                   // pack streams
		{0x17, 0x06, 0x00, 0x01, 0x09, 0x05, 0x00, 0x07, 0x0b, 0x01, 0x00, 0x01, 0x21, 0x01}, // truncated encoded header
	} {
		_, err := checkUnpack(t, sevenZipFormat(), sevenZipPlainHeader(h), Limits{})
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("header % x: err %v, want a FormatError", h, err)
		}
	}
}

// TestSevenZipCheckWalksRealHeaders: the count check reads the headers
// 7-Zip writes, plain (-mhc=off) and LZMA-compressed (the default), to
// the end of their file list.
func TestSevenZipCheckWalksRealHeaders(t *testing.T) {
	for _, args := range [][]string{{"-mhc=off"}, {"-m0=lzma2"}, {"-m0=lzma", "-mhc=on"}} {
		data := readFile(t, build7z(t, args...))
		next := binary.LittleEndian.Uint64(data[12:])
		size := binary.LittleEndian.Uint64(data[20:])
		h := data[32+next : 32+next+size]
		if h[0] == szEncodedHeader {
			w := &szWalker{b: h, p: 1}
			si, err := w.streamsInfo()
			if err != nil {
				t.Fatalf("%v: encoded header: %v", args, err)
			}
			if h, err = si.decode(data, 32); err != nil || len(h) == 0 {
				t.Fatalf("%v: decoding the header: %d bytes, %v", args, len(h), err)
			}
		}
		w := &szWalker{b: h, p: 1}
		if h[0] != szHeader || w.header() != nil || w.p != len(h) {
			t.Fatalf("%v: header walk stopped at %d of %d bytes", args, w.p, len(h))
		}
		if err := sevenZipCheck(data); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
}
