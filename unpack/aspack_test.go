package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/glassav/glassav/filetype"
)

// TestASPackClamTestFile unpacks clam-aspack.exe (ASPack 2.12) and
// compares the rebuilt file with clamscan's; clam.exe lies in it as it is.
func TestASPackClamTestFile(t *testing.T) {
	file := testFile(t, "clam-aspack.exe")
	m := unpackOne(t, aspackFormat(), readFile(t, file))
	if m.Name != "aspack" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want aspack, MSEXE", m.Name, m.Type)
	}
	if !bytes.Contains(m.Data, readFile(t, testFile(t, "clam.exe"))) {
		t.Error("rebuilt image lacks clam.exe")
	}
	peer := clamscanRebuild(t, file, "Aspack", 1)
	compareRebuiltPE(t, m.Data, peer)
}

// TestASPackCorrupt damages clam-aspack.exe.
func TestASPackCorrupt(t *testing.T) {
	// clam-aspack.exe: the loader (RVA 0x5000) is stored at 0xc00; its
	// block table (version 2.12) at 0xc00+0x57c lists blocks at RVA
	// 0x2000 (stored at 0x600), 0x3058 and 0x4000.
	const table = 0xc00 + 0x57c
	runCorrupt(t, aspackFormat(), "clam-aspack.exe", []corruptCase{
		{"block outside the image", func(d []byte) []byte {
			binary.LittleEndian.PutUint32(d[table:], 0x7fff0000)
			return d
		}, "block outside the image"},
		{"empty block", func(d []byte) []byte { clear(d[table+4 : table+8]); return d }, "empty block"},
		{"packed block zeroed", func(d []byte) []byte { clear(d[0x600:0x800]); return d }, "inconsistent"},
		{"packed block cut", func(d []byte) []byte {
			binary.LittleEndian.PutUint32(d[table+4:], 0x10) // 16 bytes of a 0x200-byte block
			return d
		}, "inconsistent"},
		{"truncated before the loader's tables", func(d []byte) []byte { return d[:0x1300] }, "not an ASPack"},
		{"not aspack", func(d []byte) []byte { d[0xc01] = 0x90; return d }, "not an ASPack"},
	})
}

func FuzzUnpackASPack(f *testing.F) {
	seeds := [][]byte{[]byte("MZ")}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-aspack.exe"); err == nil {
		seeds = append(seeds, d, d[:0x1400])
	}
	fuzzFormat(f, aspackFormat(), seeds...)
}

func BenchmarkUnpackASPack(b *testing.B) {
	benchUnpack(b, aspackFormat(), readFile(b, testFile(b, "clam-aspack.exe")))
}
