package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// TestWWPackClamTestFile unpacks clam-wwpack.exe. WWPack's unpacked file
// keeps the packed file's own headers, as ClamAV's does, so it must equal
// clamscan's byte for byte; the self-extractor's zip in it holds clam.exe.
func TestWWPackClamTestFile(t *testing.T) {
	file := testFile(t, "clam-wwpack.exe")
	m := unpackOne(t, wwpackFormat(), readFile(t, file))
	if m.Name != "wwpack" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want wwpack, MSEXE", m.Name, m.Type)
	}
	info, err := exe.Parse(m.Data)
	if err != nil {
		t.Fatalf("unpacked image does not parse: %v", err)
	}
	if len(info.Sections) != 4 || info.PE.EntryRVA != 0x1020 {
		t.Errorf("%d sections, entry point 0x%x; want 4 (the loader dropped), 0x1020", len(info.Sections), info.PE.EntryRVA)
	}
	peer := clamscanRebuild(t, file, "WWPack", 1)
	if !bytes.Equal(m.Data, peer) {
		t.Errorf("unpacked image (%d bytes) differs from clamscan's (%d bytes)", len(m.Data), len(peer))
	}
	wantClamExeInZip(t, m.Data)
}

// TestWWPackCorrupt damages clam-wwpack.exe.
func TestWWPackCorrupt(t *testing.T) {
	// clam-wwpack.exe: the loader section (RVA 0x5000) is stored at 0xc00,
	// its one block record at 0xc00+0x2a1; the block's packed words are
	// stored at 0xa00 (RVA 0x4000).
	const rec = 0xc00 + wwpackRecords
	runCorrupt(t, wwpackFormat(), "clam-wwpack.exe", []corruptCase{
		{"truncated in the records", func(d []byte) []byte { return d[:rec+10] }, "block records run past the loader section"},
		{"packed data outside the image", func(d []byte) []byte {
			binary.LittleEndian.PutUint32(d[rec+8:], 0x10000000)
			return d
		}, "outside the image"},
		{"no packed words", func(d []byte) []byte { clear(d[rec+8 : rec+12]); return d }, "outside the image"},
		{"packed words zeroed", func(d []byte) []byte { clear(d[0xa00 : 0xa00+0x18c]); return d }, "block 0"},
		{"section table of the headers cut", func(d []byte) []byte {
			binary.LittleEndian.PutUint16(d[0xc8+0x14:], 0xfff0) // SizeOfOptionalHeader
			return d
		}, "not a WWPack32"},
		{"not wwpack", func(d []byte) []byte { d[0xc00] = 0x90; return d }, "not a WWPack32"},
	})
}

func FuzzUnpackWWPack(f *testing.F) {
	seeds := [][]byte{[]byte("MZ")}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-wwpack.exe"); err == nil {
		seeds = append(seeds, d, d[:0xc00+wwpackRecords+20])
	}
	fuzzFormat(f, wwpackFormat(), seeds...)
}

func BenchmarkUnpackWWPack(b *testing.B) {
	benchUnpack(b, wwpackFormat(), readFile(b, testFile(b, "clam-wwpack.exe")))
}
