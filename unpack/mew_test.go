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

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/internal/testenv"
)

// TestMEWClamTestFile unpacks clam-mew.exe (five aPLib blocks) and
// compares the rebuilt file with the one clamscan --leave-temps writes:
// the same five sections, entry point, image base and section bytes. The
// program inside is a self-extractor whose zip holds clam.exe.
func TestMEWClamTestFile(t *testing.T) {
	file := testFile(t, "clam-mew.exe")
	m := unpackOne(t, mewFormat(), readFile(t, file))
	if m.Name != "mew" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want mew, MSEXE", m.Name, m.Type)
	}
	peer := clamscanRebuild(t, file, "MEW", 1)
	compareRebuiltPE(t, m.Data, peer)
	if info, err := exe.Parse(m.Data); err != nil || len(info.Sections) != 5 {
		t.Fatalf("rebuilt image: %v, want 5 sections", err)
	}
	wantClamExeInZip(t, m.Data)
}

// TestMEWUpackDetect runs the MEW and Upack Detects on the executables of
// the ClamAV corpus: each is true for its own packer's file only.
func TestMEWUpackDetect(t *testing.T) {
	dir := filepath.Dir(testFile(t, "clam.exe"))
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
		data := readFile(t, filepath.Join(dir, e.Name()))
		for _, fm := range []*Format{mewFormat(), upackFormat()} {
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

// TestMEWCorrupt damages clam-mew.exe. Its packed section is stored at
// 0x200 (0x418 bytes); the loader sits at 0x154 and its record 0x1c into
// the packed section, the first block's data 12 bytes further.
func TestMEWCorrupt(t *testing.T) {
	runCorrupt(t, mewFormat(), "clam-mew.exe", []corruptCase{
		{"not MEW", func(d []byte) []byte { d[mewEP(d)] = 0x90; return d }, "not a MEW"},
		// The entry point is near the end: a cut file has none.
		{"truncated in the packed data", func(d []byte) []byte { return d[:0x300] }, "not a MEW"},
		{"record address outside", func(d []byte) []byte { binary.LittleEndian.PutUint32(d[0x155:], 0x400000); return d }, "record address"},
		{"blocks of zeros", func(d []byte) []byte { clear(d[0x228:0x5f0]); return d }, "block 0: corrupt"},
		{"first block outside", func(d []byte) []byte { binary.LittleEndian.PutUint32(d[0x21c+8:], 0x7fffffff); return d }, "outside the"},
		{"LZMA call out of bounds", func(d []byte) []byte { d[0x154+0x7b] = 0xe8; return d }, "LZMA decoder call out of bounds"},
	})
}

// mewEP is the file offset of clam-mew.exe's entry point.
func mewEP(d []byte) int {
	info, err := exe.Parse(d)
	if err != nil {
		return 0
	}
	return int(info.EntryPoint)
}

// TestMEWLimits checks that the unpacking buffer is bounded by
// MaxFileSize before it is allocated, and that a cancelled context stops
// the unpacking.
func TestMEWLimits(t *testing.T) {
	data := readFile(t, testFile(t, "clam-mew.exe"))
	b := NewBudget(Limits{MaxFileSize: 0x1000})
	err := mewFormat().Unpack(context.Background(), data, b, func(Member) error { return nil })
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
		t.Fatalf("unpack under a 4 KiB file size limit: %v, want a %s limit", err, LimitFileSize)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = mewFormat().Unpack(ctx, data, NewBudget(Limits{}), func(Member) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// mewLZMAFile builds a MEW-packed file in LZMA mode around payload, laid
// out as MEW 11 lays it out: a 64 KiB empty section at RVA 0x1000, the
// packed section at RVA 0x11000 (file offset 0x200) holding the entry
// jump, the record and the LZMA decoder's first bytes, the loader in the
// header padding at 0x154. The one aPLib block unpacks a stand-in for the
// decoder; the LZMA record puts the model at RVA 0x5000 and the payload at
// RVA 0x1000. special selects the variant with call fixing, whose region
// is the payload's first 64 bytes.
func mewLZMAFile(t testing.TB, payload []byte, special bool) []byte {
	t.Helper()
	const (
		base   = 0x400000
		s0rva  = 0x1000
		dsize  = 0x10000
		s1rva  = s0rva + dsize
		ssize  = 0x10000
		s1raw  = 0x200
		record = 0x10 // in the packed section
		vma    = base + s0rva
	)
	le := binary.LittleEndian
	sec := make([]byte, record)
	sec[0] = 0xe9                              // jmp to the loader at 0x154
	le.PutUint32(sec[1:], 0x154-s1rva-5+1<<32) // wraps as the CPU adds it
	rec := make([]byte, 12)
	le.PutUint32(rec[4:], vma+0x10)   // the original entry point
	le.PutUint32(rec[8:], vma+0xe000) // where the block unpacks
	rec = append(rec, aplibLiterals(bytes.Repeat([]byte("decoder "), 8))...)
	rec = le.AppendUint32(rec, 0) // no further block
	if special {
		rec = le.AppendUint32(rec, 64) // the calls region's size
	}
	rec = le.AppendUint32(rec, vma+0x4000) // the LZMA model
	stream := encodeRawLZMA(t, payload, 4, 0, 2, false)
	rec = le.AppendUint32(rec, uint32(len(payload)))
	rec = le.AppendUint32(rec, vma) // the payload's address
	rec = le.AppendUint32(rec, uint32(len(stream)))
	rec = append(rec, 0)
	rec = append(rec, stream...)
	rec = append(rec, make([]byte, 16)...) // a zero size ends the list
	sec = append(sec, rec...)
	// The LZMA decoder the loader calls: its ninth byte tells the variant.
	decoder := len(sec)
	stub := bytes.Repeat([]byte{0x90}, 16)
	if special {
		stub[8] = 0x50
	}
	sec = append(sec, stub...)
	raw := (len(sec) + 0x1ff) &^ 0x1ff
	sec = append(sec, make([]byte, raw-len(sec))...)

	f := make([]byte, s1raw+raw)
	copy(f, "MZ")
	le.PutUint32(f[0x3c:], 0x0c) // e_lfanew, inside the optional header as MEW has it
	pe := f[0x0c:]
	copy(pe, "PE\x00\x00")
	le.PutUint16(pe[4:], 0x14c)
	le.PutUint16(pe[6:], 2)
	le.PutUint16(pe[20:], 0xe0)
	le.PutUint16(pe[22:], 0x10f)
	o := pe[24:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], s1rva) // the entry point: the jump
	le.PutUint32(o[28:], base)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[40:], 4)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], s1rva+ssize)
	le.PutUint32(o[60:], 0x200)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := o[0xe0:]
	copy(sh, "MEW")
	le.PutUint32(sh[8:], dsize)
	le.PutUint32(sh[12:], s0rva)
	le.PutUint32(sh[36:], 0xe0000060)
	sh = sh[40:]
	le.PutUint32(sh[8:], ssize)
	le.PutUint32(sh[12:], s1rva)
	le.PutUint32(sh[16:], uint32(raw))
	le.PutUint32(sh[20:], s1raw)
	le.PutUint32(sh[36:], 0xe0000060)
	// The loader: mov esi, record; ...; call the LZMA decoder at 0x7b.
	loader := f[0x154 : 0x154+mewLoaderSize]
	loader[0] = 0xbe
	le.PutUint32(loader[1:], base+s1rva+record)
	loader[0x7b] = 0xe8
	le.PutUint32(loader[0x7c:], uint32(s1rva+decoder-0x154-0x80))
	copy(f[s1raw:], sec)
	return f
}

// mewPayload is what the LZMA tests pack: clam.exe's bytes when they are
// there, with calls for the special variant in its first 64 bytes (a
// big-endian absolute target after 0xe8 at 3 and 0xe9 at 20).
func mewPayload(t testing.TB) []byte {
	p := append(make([]byte, 64), lzmaSample(t)[:8<<10]...)
	p[3] = 0xe8
	binary.BigEndian.PutUint32(p[4:], 0x11223344)
	p[20] = 0xe9
	binary.BigEndian.PutUint32(p[21:], 0x00001000)
	return p
}

// TestMEWLZMA unpacks MEW files in LZMA mode built by mewLZMAFile, plain
// and special: the rebuilt file has one section over the empty section,
// the payload at its start (calls fixed in the special one) and the
// model the loader leaves in the image; clamscan finds a signature of the
// payload in the same file and rebuilds it to the same bytes.
func TestMEWLZMA(t *testing.T) {
	payload := mewPayload(t)
	for _, special := range []bool{false, true} {
		f := mewLZMAFile(t, payload, special)
		m := unpackOne(t, mewFormat(), f)
		info, err := exe.Parse(m.Data)
		if err != nil {
			t.Fatalf("special=%v: rebuilt image does not parse: %v", special, err)
		}
		if len(info.Sections) != 1 || info.Sections[0].VirtualAddress != 0x1000 || info.Sections[0].Size != 0x10000 || info.PE.EntryRVA != 0x1010 {
			t.Fatalf("special=%v: sections %+v, entry 0x%x", special, info.Sections, info.PE.EntryRVA)
		}
		img := m.Data[info.Sections[0].Offset:]
		want := append([]byte(nil), payload...)
		if special {
			binary.LittleEndian.PutUint32(want[4:], 0x11223344-3-1)
			binary.LittleEndian.PutUint32(want[21:], 0x1000-20-1)
		}
		if !bytes.Equal(img[:len(want)], want) {
			t.Fatalf("special=%v: unpacked payload differs", special)
		}
		if !bytes.Equal(img[0xe000:0xe040], bytes.Repeat([]byte("decoder "), 8)) {
			t.Errorf("special=%v: the aPLib block is not at 0xe000", special)
		}
		// The model's first probability (a match at state 0) has seen the
		// first literal at least: no longer one half.
		if p := binary.LittleEndian.Uint16(img[0x4000:]); p == 0 || p == 0x400 {
			t.Errorf("special=%v: the model in the image was not written (0x%x)", special, p)
		}

		file := filepath.Join(t.TempDir(), "mew-lzma.exe")
		if err := os.WriteFile(file, f, 0o644); err != nil {
			t.Fatal(err)
		}
		peer := clamscanRebuildSig(t, file, "MEW", want[100:140])
		compareRebuiltPE(t, m.Data, peer)
	}
}

// clamscanRebuildSig is clamscanRebuild with a body signature of sig:
// clamscan must find it (exit status 1) and leave its rebuilt file.
func clamscanRebuildSig(t testing.TB, file, packer string, sig []byte) []byte {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	dir := t.TempDir()
	db := filepath.Join(dir, "sig.ndb")
	if err := os.WriteFile(db, []byte("Payload.Body:0:*:"+hex.EncodeToString(sig)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, "--debug", "--leave-temps", "--tempdir="+tmp, "-d", db, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan %s: %v, want exit status 1\n%s\n%s", file, err, out, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if i := strings.Index(line, " saved in "); i >= 0 && strings.Contains(line, packer) {
			data, err := os.ReadFile(strings.TrimSpace(line[i+len(" saved in "):]))
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("clamscan did not say where it saved the %s image:\n%s", packer, stderr.String())
	return nil
}

func FuzzUnpackMEW(f *testing.F) {
	seeds := [][]byte{[]byte("MZ")}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-mew.exe"); err == nil {
		seeds = append(seeds, d, d[:len(d)*3/4])
	}
	p := make([]byte, 2000)
	for i := range p {
		p[i] = byte(i * i >> 3)
	}
	seeds = append(seeds, mewLZMAFile(f, p, false), mewLZMAFile(f, p, true))
	fuzzFormat(f, mewFormat(), seeds...)
}

func BenchmarkUnpackMEW(b *testing.B) {
	benchUnpack(b, mewFormat(), readFile(b, testFile(b, "clam-mew.exe")))
}

// BenchmarkMEWUpackDetect measures the two Detects on an executable
// neither packed: what every Windows executable pays.
func BenchmarkMEWUpackDetect(b *testing.B) {
	data := readFile(b, testFile(b, "clam.exe"))
	fms := []*Format{mewFormat(), upackFormat()}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		for _, fm := range fms {
			if fm.Detect(data) {
				b.Fatal(fm.Name)
			}
		}
	}
}
