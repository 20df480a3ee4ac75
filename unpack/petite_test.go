package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// TestPetiteClamTestFile unpacks clam-petite.exe and compares the
// rebuilt file with the one clamscan --leave-temps writes: the same
// sections, entry point, image base, resource directory and section bytes
// (the DOS stub and a few header fields are each tool's own). The program
// inside is a self-extractor whose zip holds clam.exe: it must come out.
func TestPetiteClamTestFile(t *testing.T) {
	file := testFile(t, "clam-petite.exe")
	m := unpackOne(t, petiteFormat(), readFile(t, file))
	if m.Name != "petite" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want petite, MSEXE", m.Name, m.Type)
	}
	if info, err := exe.Parse(m.Data); err != nil || info.PE.EntryRVA != 0x1020 {
		t.Errorf("rebuilt image: %v, want a PE file with its entry point at 0x1020", err)
	}
	peer := clamscanRebuild(t, file, "Petite", 1)
	compareRebuiltPE(t, m.Data, peer)
	wantClamExeInZip(t, m.Data)
}

// compareRebuiltPE fails unless ours and peer (clamscan's rebuild of the
// same file) describe the same program (see diffRebuiltPE).
func compareRebuiltPE(t *testing.T, ours, peer []byte) {
	t.Helper()
	if d := diffRebuiltPE(ours, peer); d != "" {
		t.Error(d)
	}
}

// diffRebuiltPE compares a rebuilt PE file with clamscan's rebuild of the
// same packed file: the same size, section table, entry point, image
// base, resource directory and bytes from the first section on (the DOS
// stub and a few informational header fields are each tool's own). It
// returns "" when they agree, else what differs. The headers are read
// field by field, not parsed, so that images rebuilt from garbage (an
// entry point outside every section) compare too.
func diffRebuiltPE(ours, peer []byte) string {
	oh, err := rebuiltHeaders(ours)
	if err != nil {
		return "rebuilt image: " + err.Error()
	}
	ph, err := rebuiltHeaders(peer)
	if err != nil {
		return "clamscan's image: " + err.Error()
	}
	var diffs []string
	if len(ours) != len(peer) {
		diffs = append(diffs, fmt.Sprintf("rebuilt %d bytes, clamscan %d", len(ours), len(peer)))
	}
	if oh.fields != ph.fields {
		diffs = append(diffs, fmt.Sprintf("headers %+v, clamscan %+v", oh.fields, ph.fields))
	}
	if !bytes.Equal(oh.sections, ph.sections) {
		diffs = append(diffs, fmt.Sprintf("section table %x, clamscan %x", oh.sections, ph.sections))
	}
	if oh.first > len(ours) || oh.first > len(peer) || !bytes.Equal(ours[oh.first:], peer[oh.first:]) {
		diffs = append(diffs, fmt.Sprintf("section bytes (from 0x%x) differ from clamscan's", oh.first))
	}
	return strings.Join(diffs, "; ")
}

// rebuiltPEHeaders are the header values of a rebuilt PE file both tools
// agree on.
type rebuiltPEHeaders struct {
	fields struct {
		nsec                          uint16
		entry, imageBase, res, resLen uint32
	}
	sections []byte // each header but its characteristics
	first    int    // the first section's raw offset
}

func rebuiltHeaders(d []byte) (*rebuiltPEHeaders, error) {
	le := binary.LittleEndian
	if len(d) < 0x40 {
		return nil, errors.New("no DOS header")
	}
	pe := int(le.Uint32(d[0x3c:]))
	if pe < 0 || pe+0xf8 > len(d) || string(d[pe:pe+4]) != "PE\x00\x00" {
		return nil, errors.New("no PE header")
	}
	h := &rebuiltPEHeaders{}
	h.fields.nsec = le.Uint16(d[pe+6:])
	h.fields.entry = le.Uint32(d[pe+0x28:])
	h.fields.imageBase = le.Uint32(d[pe+0x34:])
	h.fields.res = le.Uint32(d[pe+0x88:])
	h.fields.resLen = le.Uint32(d[pe+0x8c:])
	at := pe + 0x18 + int(le.Uint16(d[pe+0x14:]))
	if h.fields.nsec == 0 || at+0x28*int(h.fields.nsec) > len(d) {
		return nil, errors.New("no section table")
	}
	for i := 0; i < int(h.fields.nsec); i++ {
		h.sections = append(h.sections, d[at+0x28*i:at+0x28*i+0x24]...)
	}
	h.first = int(le.Uint32(d[at+20:]))
	return h, nil
}

// wantClamExeInZip fails unless the zip self-extractor data in img holds
// clam.exe, byte for byte.
func wantClamExeInZip(t *testing.T, img []byte) {
	t.Helper()
	zf := ForEmbedded(img)
	if zf == nil {
		t.Fatal("no zip found in the unpacked image")
	}
	wantMember(t, unpackOK(t, zf, img), "clam.exe", readFile(t, testFile(t, "clam.exe")))
}

// TestPackerDetectClamTestFiles runs every packer's Detect of this file
// on the executables of the ClamAV corpus: each is true for its own
// packer's file only.
func TestPackerDetectClamTestFiles(t *testing.T) {
	dir := testFile(t, "clam.exe")
	dir = dir[:strings.LastIndexByte(dir, '/')+1]
	fms := []*Format{petiteFormat(), wwpackFormat(), aspackFormat()}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".exe") {
			continue
		}
		seen++
		data := readFile(t, dir+e.Name())
		for _, fm := range fms {
			want := e.Name() == "clam-"+fm.Name+".exe"
			if got := fm.Detect(data); got != want {
				t.Errorf("%s: %s Detect = %v, want %v", e.Name(), fm.Name, got, want)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d executables in %s", seen, dir)
	}
}

// corruptCase is a damaged variant of a packed file and the error its
// unpacking must end in ("" : any outcome but a panic or a hang).
type corruptCase struct {
	name   string
	mutate func(d []byte) []byte
	want   string
}

// runCorrupt unpacks each variant of the corpus file for fm and checks
// its outcome: a *FormatError of fm naming the reason, within 30 s.
func runCorrupt(t *testing.T, fm *Format, file string, cases []corruptCase) {
	t.Helper()
	data := readFile(t, testFile(t, file))
	for _, tc := range cases {
		d := tc.mutate(append([]byte(nil), data...))
		start := time.Now()
		err := runUnpack(fm, d)
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("%s: took %v", tc.name, el)
		}
		if tc.want == "" {
			var fe *FormatError
			if err != nil && (!errors.As(err, &fe) || fe.Format != fm.Name) {
				t.Errorf("%s: %v, want nil or a %s format error", tc.name, err, fm.Name)
			}
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Format != fm.Name || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a %s format error containing %q", tc.name, err, fm.Name, tc.want)
		}
	}
	// Every length, and a byte flipped every 5 bytes: no panic, no hang.
	start := time.Now()
	for n := 0; n <= len(data); n += 3 {
		_ = runUnpack(fm, data[:n])
	}
	for off := 0; off < len(data); off += 5 {
		d := append([]byte(nil), data...)
		d[off] ^= 0xa5
		_ = runUnpack(fm, d)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("truncations and flips took %v", el)
	}
}

// TestPetiteCorrupt damages clam-petite.exe: truncated files, a broken
// record list, a broken packed stream.
func TestPetiteCorrupt(t *testing.T) {
	// clam-petite.exe: the loader section at RVA 0x5000 is stored at
	// 0x400; its record list starts 0x1b8 into it; packed data is in the
	// first section, stored at 0x800.
	runCorrupt(t, petiteFormat(), "clam-petite.exe", []corruptCase{
		{"truncated in the loader", func(d []byte) []byte { return d[:0x700] }, "past the end of the"},
		{"truncated in the packed data", func(d []byte) []byte { return d[:0xa00] }, "past the end of the"},
		{"no records", func(d []byte) []byte { clear(d[0x400+0x1b8 : 0x400+0x1bc]); return d }, "no packed sections"},
		{"record list out of the image", func(d []byte) []byte {
			// A data group whose words lie far outside the image.
			binary.LittleEndian.PutUint32(d[0x400+0x1b8:], 0x80000010)
			binary.LittleEndian.PutUint32(d[0x400+0x1bc:], 0x7fff0000)
			return d
		}, "outside the memory image"},
		{"packed stream of zeros", func(d []byte) []byte { clear(d[0x800:0xe00]); return d }, "match longer than the section"},
		{"not petite", func(d []byte) []byte { d[0x442] = 0x90; return d }, "not a Petite"},
	})
}

// TestPetiteLimits checks that the memory image is bounded by
// MaxFileSize before it is allocated.
func TestPetiteLimits(t *testing.T) {
	data := readFile(t, testFile(t, "clam-petite.exe"))
	b := NewBudget(Limits{MaxFileSize: 0x1000})
	err := petiteFormat().Unpack(context.Background(), data, b, func(Member) error { return nil })
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
		t.Fatalf("unpack under a 4 KiB file size limit: %v, want a %s limit", err, LimitFileSize)
	}
}

func FuzzUnpackPetite(f *testing.F) {
	seeds := [][]byte{[]byte("MZ")}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-petite.exe"); err == nil {
		seeds = append(seeds, d, d[:len(d)*3/4])
	}
	fuzzFormat(f, petiteFormat(), seeds...)
}

func BenchmarkUnpackPetite(b *testing.B) {
	benchUnpack(b, petiteFormat(), readFile(b, testFile(b, "clam-petite.exe")))
}

// BenchmarkPackerDetect measures the three packers' Detect on an
// executable none of them packed: what every Windows executable pays.
func BenchmarkPackerDetect(b *testing.B) {
	data := readFile(b, testFile(b, "clam.exe"))
	fms := []*Format{petiteFormat(), wwpackFormat(), aspackFormat()}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		for _, fm := range fms {
			if fm.Detect(data) {
				b.Fatal(fm.Name)
			}
		}
	}
}
