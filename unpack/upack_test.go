package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// TestUpackClamTestFile unpacks clam-upack.exe (Upack 0.39, three
// sections) and compares the rebuilt file with the one clamscan
// --leave-temps writes: the same section, entry point (ClamAV's, relative
// to the first section), image base and bytes. The program inside is a
// self-extractor whose zip holds clam.exe.
func TestUpackClamTestFile(t *testing.T) {
	file := testFile(t, "clam-upack.exe")
	m := unpackOne(t, upackFormat(), readFile(t, file))
	if m.Name != "upack" || m.Type != filetype.MSEXE {
		t.Fatalf("member %q of type %v, want upack, MSEXE", m.Name, m.Type)
	}
	peer := clamscanRebuild(t, file, "Upack", 1)
	compareRebuiltPE(t, m.Data, peer)
	if info, err := exe.Parse(m.Data); err != nil || len(info.Sections) != 1 || info.PE.EntryRVA != 0x20 {
		t.Fatalf("rebuilt image: %v, want one section and the entry point at 0x20", err)
	}
	wantClamExeInZip(t, m.Data)
}

// TestUpackModel checks the map from LZMA's probabilities to Upack's work
// area: no two share a word, and the words sit between the decoder state
// and the end of the literal coders.
func TestUpackModel(t *testing.T) {
	for lc := uint(0); lc <= 6; lc++ {
		seen := map[int32]bool{}
		for _, off := range upackModel(lc) {
			if off < 0 {
				continue
			}
			if seen[off] || off < 0x18 || off%4 != 0 || int64(off) >= 0x1008+4*0x300<<lc {
				t.Fatalf("lc=%d: offset 0x%x repeated, misaligned or out of the area", lc, off)
			}
			seen[off] = true
		}
		if len(seen) < 0x300<<lc {
			t.Fatalf("lc=%d: only %d probabilities mapped", lc, len(seen))
		}
	}
}

// TestUpackCorrupt damages clam-upack.exe. Its entry point is at file
// offset 0x18, in the PE header, where the loader starts; the packed
// data is the second section's, stored at 0x200.
func TestUpackCorrupt(t *testing.T) {
	runCorrupt(t, upackFormat(), "clam-upack.exe", []corruptCase{
		{"not Upack", func(d []byte) []byte { d[0x18+5] = 0x90; return d }, "not a Upack"},
		{"no short jump", func(d []byte) []byte { d[0x18+0xa] = 0x90; return d }, "no short jump"},
		{"entry record outside", func(d []byte) []byte { d[0x18+4] = 0x10; return d }, "outside"},
		{"literal context out of bounds", func(d []byte) []byte {
			i := bytes.Index(d, []byte{0xc1, 0xed}) // shr ebp, k
			d[i+2] = 9
			return d
		}, "literal context shift 9"},
		{"no jecxz", func(d []byte) []byte {
			for i := bytes.IndexByte(d, 0xe3); i >= 0; i = bytes.IndexByte(d, 0xe3) {
				d[i] = 0x90
			}
			return d
		}, ""},
		// The loader's decoder is in the second section, after the
		// stream's start (0xae into it).
		{"truncated", func(d []byte) []byte { return d[:0x600] }, "no jecxz"},
		{"packed data zeroed", func(d []byte) []byte { clear(d[0x200:]); return d }, "no jecxz"},
		{"stream damaged", func(d []byte) []byte { copy(d[0x2c0:], bytes.Repeat([]byte{0xff}, 16)); return d }, "corrupt LZMA stream after"},
		{"stream damaged late", func(d []byte) []byte { copy(d[0x600:], bytes.Repeat([]byte{0xff}, 16)); return d }, ""},
	})
}

// TestUpackLimits checks that the image is bounded by MaxFileSize before
// it is allocated, and that a cancelled context stops the unpacking.
func TestUpackLimits(t *testing.T) {
	data := readFile(t, testFile(t, "clam-upack.exe"))
	b := NewBudget(Limits{MaxFileSize: 0x1000})
	err := upackFormat().Unpack(context.Background(), data, b, func(Member) error { return nil })
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
		t.Fatalf("unpack under a 4 KiB file size limit: %v, want a %s limit", err, LimitFileSize)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = upackFormat().Unpack(ctx, data, NewBudget(Limits{}), func(Member) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func FuzzUnpackUpack(f *testing.F) {
	seeds := [][]byte{[]byte("MZ")}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-upack.exe"); err == nil {
		seeds = append(seeds, d, d[:len(d)*3/4])
	}
	p := make([]byte, 2000)
	for i := range p {
		p[i] = byte(i * i >> 3)
	}
	seeds = append(seeds, upack11File(f, p, 0), upack039File(f, p, 0), upack3File(f, p, "0297729"))
	fuzzFormat(f, upackFormat(), seeds...)
}

func BenchmarkUnpackUpack(b *testing.B) {
	benchUnpack(b, upackFormat(), readFile(b, testFile(b, "clam-upack.exe")))
}

// Upack's two-section layout in the test files: the empty section at
// RVA 0x1000 receives the payload, the packed section at RVA 0x11000 is
// stored at file offset 0x400, and the PE header sits at 0x160, clear of
// the DOS-stub bytes 1.1/1.2 keep parameters in.
const (
	upBase   = 0x400000
	upS0     = 0x1000
	upS1     = 0x11000
	upS1Raw  = 0x400
	upMarker = 0x5a // the call marker
)

// upackTwoPE lays out a two-section file whose packed section holds sec
// and whose entry point is ep bytes into it; dos may write into the
// headers' first 0x160 bytes.
func upackTwoPE(sec []byte, ep uint32, dos func(f []byte)) []byte {
	le := binary.LittleEndian
	size := (len(sec) + 0x1ff) &^ 0x1ff
	f := make([]byte, upS1Raw+size)
	copy(f, "MZ")
	if dos != nil {
		dos(f)
	}
	const lfanew = 0x160
	le.PutUint32(f[0x3c:], lfanew)
	pe := f[lfanew:]
	copy(pe, "PE\x00\x00")
	le.PutUint16(pe[4:], 0x14c)
	le.PutUint16(pe[6:], 2)
	le.PutUint16(pe[20:], 0xe0)
	le.PutUint16(pe[22:], 0x10f)
	o := pe[24:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], upS1+ep)
	le.PutUint32(o[28:], upBase)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[40:], 4)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], upS1+0x20000)
	le.PutUint32(o[60:], upS1Raw)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := o[0xe0:]
	le.PutUint32(sh[8:], upS1-upS0)
	le.PutUint32(sh[12:], upS0)
	le.PutUint32(sh[36:], 0xe0000060)
	sh = sh[40:]
	le.PutUint32(sh[8:], 0x20000)
	le.PutUint32(sh[12:], upS1)
	le.PutUint32(sh[16:], uint32(size))
	le.PutUint32(sh[20:], upS1Raw)
	le.PutUint32(sh[36:], 0xe0000060)
	copy(f[upS1Raw:], sec)
	return f
}

// upack11File builds a file laid out as Upack 1.1/1.2 lays it out around
// payload: the packed section starts with the loader ("mov esi, 0x400148;
// lodsd; mov edi, eax", the original entry point's jump at 0x1a4, the
// model's size at 0x1b, the literal context at 0x41, the call count at
// 0x174 and the call marker at 0x184) and holds the LZMA stream at 0x200;
// the loader's parameters sit at 0x130 and 0x148 in the DOS stub, the
// model at RVA 0x20000. calls is how many marked calls the payload holds.
func upack11File(t testing.TB, payload []byte, calls uint32) []byte {
	t.Helper()
	const (
		model  = 0x20000
		stream = 0x200 // into the packed section
	)
	le := binary.LittleEndian
	raw := encodeRawLZMA(t, payload, 3, 0, 0, false)[1:] // the code starts at once
	sec := make([]byte, stream+len(raw))
	copy(sec, "\xbe\x48\x01\x40\x00\xad\x8b\xf8")
	sec[0x1b] = 0x1c // 0x1c00 probabilities
	sec[0x41] = 3    // lc
	le.PutUint32(sec[0x174:], calls)
	sec[0x184] = upMarker
	le.PutUint32(sec[0x1a4:], upS0-(upS1+0x1a8)+1<<32) // wraps as the CPU adds it
	copy(sec[stream:], raw)
	return upackTwoPE(sec, 0, func(f []byte) {
		le.PutUint32(f[0x130:], upBase+upS0+uint32(len(payload))) // the output's end
		le.PutUint32(f[0x148:], upBase+model-4)                   // the decoder's state
		le.PutUint32(f[0x14c:], upBase+upS1+stream)               // the stream
		le.PutUint32(f[0x150:], upBase+upS0)                      // the output
	})
}

// upack039File builds a file laid out as Upack 0.39 lays out two
// sections, around payload. The loader at 0x400 into the packed section
// ("pusha; call $+9", then the distance back to its table) finds its
// table 0x306 bytes before that: the table's own address, where to copy
// its block (RVA 0x20000) and the block's length in words, then the
// block: a count of entries to skip (0x12), among which the output's
// start and end and the count of calls, the probabilities' initial value,
// the stream's address (relocated by how far the loader moved: nothing),
// the coder's low end and range (the loader swaps them) and the four
// distances; the probabilities follow. The literal context is at 0x5f,
// the model's size at 0x3a, the call marker at 0x1c1 and the original
// entry point's jump at 0x217, each from the entry point.
func upack039File(t testing.TB, payload []byte, calls uint32) []byte {
	t.Helper()
	const (
		table  = 0x100 // into the packed section
		ep     = 0x400
		stream = 0x700
		block  = 0x20000 // RVA the table's block is copied to
	)
	le := binary.LittleEndian
	raw := encodeRawLZMA(t, payload, 3, 0, 0, false)[1:]
	sec := make([]byte, stream+len(raw))
	copy(sec[ep:], "\x60\xe8\x09\x00\x00\x00")
	le.PutUint32(sec[ep+6:], ep+6-table)
	sec[ep+0x3a] = 0x1c
	sec[ep+0x5f] = 3
	sec[ep+0x1c1] = upMarker
	le.PutUint32(sec[ep+0x217:], upS0-(upS1+ep+0x21b)+1<<32)
	tb := sec[table:]
	le.PutUint32(tb[0:], upBase+upS1+table) // no move: the address it has
	le.PutUint32(tb[4:], upBase+block)
	const words = 0xd + 0x12
	le.PutUint32(tb[8:], words)
	b := tb[12 : 12+4*words]
	le.PutUint32(b[0x00:], 0x12)
	le.PutUint32(b[0x04:], upBase+upS0)
	le.PutUint32(b[0x2c:], upBase+upS0+uint32(len(payload)))
	le.PutUint32(b[0x48:], calls)
	le.PutUint32(b[0x4c:], 0x400)
	le.PutUint32(b[0x60:], upBase+upS1+stream)
	le.PutUint32(b[0x64:], 0)          // low end ...
	le.PutUint32(b[0x68:], 0xffffffff) // ... and range, swapped
	for i := 0; i < 4; i++ {
		le.PutUint32(b[0x6c+4*i:], 1)
	}
	copy(sec[stream:], raw)
	return upackTwoPE(sec, ep, nil)
}

// TestUpackTwoSections unpacks files built as Upack 1.1/1.2 and 0.39
// lay out two sections: the rebuilt file has one section at RVA 0x1000
// holding the payload, its marked call made relative, and the original
// entry point; clamscan finds a signature of the payload in the same file
// and rebuilds it to the same bytes.
func TestUpackTwoSections(t *testing.T) {
	payload := append(make([]byte, 32), lzmaSample(t)[:6<<10]...)
	payload[8] = 0xe8 // a call whose target 0x123456 the packer made absolute
	copy(payload[9:], "\x5a\x12\x34\x56")
	want := append([]byte(nil), payload...)
	binary.LittleEndian.PutUint32(want[9:], 0x123456-9-4)
	for _, tc := range []struct {
		name  string
		build func(testing.TB, []byte, uint32) []byte
	}{{"1.1", upack11File}, {"0.39", upack039File}} {
		f := tc.build(t, payload, 1)
		if k := upackLayout(viewExe(f)); k != upackTwo {
			t.Fatalf("%s: layout %d, want two sections", tc.name, k)
		}
		m := unpackOne(t, upackFormat(), f)
		info, err := exe.Parse(m.Data)
		if err != nil {
			t.Fatalf("%s: rebuilt image does not parse: %v", tc.name, err)
		}
		if len(info.Sections) != 1 || info.Sections[0].VirtualAddress != 0x1000 || info.PE.EntryRVA != 0x1000 {
			t.Fatalf("%s: sections %+v, entry 0x%x", tc.name, info.Sections, info.PE.EntryRVA)
		}
		got := m.Data[info.Sections[0].Offset:]
		if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
			t.Fatalf("%s: unpacked payload differs", tc.name)
		}
		file := filepath.Join(t.TempDir(), "upack.exe")
		if err := os.WriteFile(file, f, 0o644); err != nil {
			t.Fatal(err)
		}
		peer := clamscanRebuildSig(t, file, "Upack", want[200:240])
		compareRebuiltPE(t, m.Data, peer)
	}
}

// upack3File builds a file laid out as Upack lays out three sections,
// around payload, for the loader variants ClamAV knows: "0.39", and
// "0151477" and "0297729" (named after ClamAV's samples). The optional
// header is 0x148 bytes; the first section (RVA 0x1000) receives the
// output, the second (RVA 0x11000, stored at 0x600) holds the entry
// record, the parameter block, the call marker and the LZMA stream, the
// third maps the file's first 0x600 bytes again. The loader's pieces sit
// in those first bytes as the variant places them: the entry point at
// 0x240 with its jump to the loader at 0x260, whose "mov ch, count" and
// long jump lead to the decoder's head at 0x300, its jecxz (0x2b or 0x2e
// bytes in) and shr ebp, k; the parameters are copied to RVA 0x19000,
// where the decoder's state follows them.
func upack3File(t testing.TB, payload []byte, variant string) []byte {
	t.Helper()
	const (
		s0, s1, s2 = 0x1000, 0x11000, 0x21000
		head       = 0x600 // the file's first bytes, mapped at s0 and s2
		vma        = upBase + s0
		ep, l, h   = 0x240, 0x260, 0x300 // entry point, loader, decoder head
		record     = s1 + 0x10           // RVA of the entry record
		marker     = 0x10050             // image offset of the call marker
		stream     = 0x800               // into the second section
		params     = 0x18000             // image offset the parameters go to
	)
	le := binary.LittleEndian
	raw := encodeRawLZMA(t, payload, 3, 0, 0, false)[1:]
	sec := make([]byte, stream+len(raw))
	copy(sec[stream:], raw)
	sec[marker-(s1-s0)] = upMarker
	f := make([]byte, head+(len(sec)+0x1ff)&^0x1ff)
	copy(f[head:], sec)
	copy(f, "MZ")
	le.PutUint32(f[0x3c:], 0x40)
	pe := f[0x40:]
	copy(pe, "PE\x00\x00")
	le.PutUint16(pe[4:], 0x14c)
	le.PutUint16(pe[6:], 3)
	le.PutUint16(pe[20:], 0x148)
	le.PutUint16(pe[22:], 0x10f)
	o := pe[24:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], s0+ep)
	le.PutUint32(o[28:], upBase)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[40:], 4)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], s2+0x1000)
	le.PutUint32(o[60:], 0x200)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := o[0x148:]
	for i, s := range [3][4]uint32{{0x10000, s0, head - 0x10, 0x10}, {0x10000, s1, uint32(len(f) - head), head}, {0x1000, s2, head - 0x10, 0x10}} {
		x := sh[40*i:]
		le.PutUint32(x[8:], s[0])
		le.PutUint32(x[12:], s[1])
		le.PutUint32(x[16:], s[2])
		le.PutUint32(x[20:], s[3])
		le.PutUint32(x[36:], 0xe0000060)
	}
	img := func(off uint32) []byte { // a file byte by its image offset
		if off >= s1-s0 {
			return f[head+off-(s1-s0):]
		}
		return f[off:]
	}
	// The entry record: the entry point, then (0.39) where the
	// parameters go.
	le.PutUint32(img(record-s0), upBase+s0+0x20)
	le.PutUint32(img(record-s0+8), vma+params)

	words, short, jecxz, shr := uint32(0x27), uint32(8), uint32(42), uint32(24)
	if variant != "0.39" {
		short, jecxz, shr = 7, 45, 26
	}
	var al uint32 // the "mov ch, count"
	if variant == "0297729" {
		words = 0x16
		copy(f[ep:], "\xbe\x00\x00\x00\x00\xff\x36\xe9")
		le.PutUint32(f[ep+8:], l-(ep+0xc))
		al = l + 0x25
		le.PutUint32(f[al+1+11:], h-l-0x35)
		f[l+6], f[l+11] = 0xbe, 0xbf
		le.PutUint32(f[l+7:], upBase+0x400) // the parameters' source: 0x400 in the file
		le.PutUint32(f[l+12:], vma+params)
	} else {
		copy(f[ep:], "\xbe\x00\x00\x00\x00\xad\x50")
		f[ep+0xa], f[ep+0xb] = 0xeb, byte(l-(ep+0xc))
		f[l+0x1a], f[l+0x1b] = 0xeb, 0x10
		al = l + 0x1b + 0x10 + 1 + 0xa
		le.PutUint32(f[al+1+9:], h-(l+0x10+0x34))
		f[l+7] = 0xbe
		le.PutUint32(f[l+8:], vma+(s1-s0)+0x100) // the parameters' source: 0x100 into the second section
	}
	le.PutUint32(f[ep+1:], upBase+record)
	f[al], f[al+1] = 0xb5, 0x1c
	if variant == "0297729" {
		f[al+1+10] = 0xe9
	} else {
		f[al+1+8] = 0xe9
	}
	f[h+jecxz] = 0xe3
	f[h+jecxz+1] = 0x10
	a := h + jecxz + 1 + 0x10 + 1
	f[a+short] = 0xe9
	back := uint32(0)
	if variant == "0297729" {
		back = 2
	}
	le.PutUint32(f[a+short+1:], marker-a-short-1-4-27-back)
	f[h+shr], f[h+shr+1], f[h+shr+2] = 0xc1, 0xed, 5 // lc = 3

	// The parameter block and what follows it.
	var p []byte
	if variant == "0297729" {
		p = f[0x400:]
	} else {
		p = img(s1 - s0 + 0x100)
	}
	le.PutUint32(p[4*words-4:], vma+(s1-s0)+stream) // the stream's address
	q := p[4*words:]
	if variant == "0297729" {
		le.PutUint32(q[0x40:], 1)                           // calls
		le.PutUint32(q[0x64:], vma+s0+uint32(len(payload))) // the output's end
	} else {
		le.PutUint32(q[4:], 1)                           // calls
		le.PutUint32(q[0xc:], vma)                       // the output
		le.PutUint32(q[0x34:], vma+uint32(len(payload))) // its end
	}
	return f
}

// TestUpackThreeSectionVariants unpacks files built by upack3File for the
// three loaders ClamAV knows: each is found, and the rebuilt file has
// the bytes clamscan rebuilds from it; for 0.39 and 0151477 it holds the
// payload, its marked call made relative. (For 0297729 ClamAV writes the
// output one page into the image and rebuilds from the image's start, as
// glassav then does too.)
func TestUpackThreeSectionVariants(t *testing.T) {
	payload := append(make([]byte, 32), lzmaSample(t)[:6<<10]...)
	payload[8] = 0xe8
	copy(payload[9:], "\x5a\x12\x34\x56")
	want := append([]byte(nil), payload...)
	binary.LittleEndian.PutUint32(want[9:], 0x123456-9-4)
	for _, variant := range []string{"0.39", "0151477", "0297729"} {
		f := upack3File(t, payload, variant)
		if k := upackLayout(viewExe(f)); k != upackThree {
			t.Fatalf("%s: layout %d, want three sections", variant, k)
		}
		m := unpackOne(t, upackFormat(), f)
		info, err := exe.Parse(m.Data)
		if err != nil {
			t.Fatalf("%s: rebuilt image does not parse: %v", variant, err)
		}
		// The section holds the payload from its start, or for 0297729
		// from 0x1000 on, as much as its size (the payload's) leaves.
		got, exp, sig := m.Data[info.Sections[0].Offset:], want, want[200:240]
		if variant == "0297729" {
			got, exp, sig = got[0x1000:], want[:len(want)-0x1000], want[10:50]
		}
		if len(got) < len(exp) || !bytes.Equal(got[:len(exp)], exp) {
			t.Fatalf("%s: unpacked payload differs", variant)
		}
		file := filepath.Join(t.TempDir(), "upack3.exe")
		if err := os.WriteFile(file, f, 0o644); err != nil {
			t.Fatal(err)
		}
		peer := clamscanRebuildSig(t, file, "Upack", sig)
		compareRebuiltPE(t, m.Data, peer)
	}
}
