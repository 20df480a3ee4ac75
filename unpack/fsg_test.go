package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/glassav/glassav/exe"
)

// aplibEncode compresses data with every code of the format: literals,
// gamma-coded matches (new and repeated distances), short matches, and
// one-byte copies and zeros from the 4-bit code.
func aplibEncode(data []byte) []byte {
	w := &aplibWriter{out: []byte{data[0]}}
	afterLiteral, last := uint32(1), 0
	heads := map[uint32][]int{}
	key := func(i int) uint32 { return uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 }
	add := func(i int) {
		if i+3 <= len(data) {
			heads[key(i)] = append(heads[key(i)], i)
		}
	}
	add(0)
	for i := 1; i < len(data); {
		bestLen, bestDist := 0, 0
		if i+3 <= len(data) {
			cands := heads[key(i)]
			for k := len(cands) - 1; k >= 0 && k >= len(cands)-32; k-- {
				j := cands[k]
				n := 0
				for i+n < len(data) && n < 4096 && data[j+n] == data[i+n] {
					n++
				}
				if n > bestLen {
					bestLen, bestDist = n, i-j
				}
			}
		}
		adj := 0
		if bestDist >= 0x7d00 {
			adj++
		}
		if bestDist >= 0x500 {
			adj++
		}
		if bestDist <= 0x7f {
			adj += 2
		}
		n := 0
		switch {
		case bestLen >= 2 && bestDist == last && afterLiteral == 1:
			w.bits("10")
			w.gamma(2) // repeat the last distance
			w.gamma(uint32(bestLen))
			n, afterLiteral = bestLen, 0
		case bestLen >= 2 && bestLen <= 3 && bestDist <= 127:
			w.bits("110")
			w.out = append(w.out, byte(bestDist<<1|(bestLen-2)))
			n, afterLiteral, last = bestLen, 0, bestDist
		case bestLen >= adj+2 && bestLen > 3:
			w.bits("10")
			w.gamma(uint32(bestDist>>8) + 2 + afterLiteral)
			w.out = append(w.out, byte(bestDist))
			w.gamma(uint32(bestLen - adj))
			n, afterLiteral, last = bestLen, 0, bestDist
		default:
			near := -1
			if data[i] != 0 {
				for d := 1; d <= 15 && d <= i; d++ {
					if data[i-d] == data[i] {
						near = d
						break
					}
				}
			}
			if data[i] == 0 || near > 0 {
				w.bits("111")
				v := uint32(max(near, 0))
				for k := 3; k >= 0; k-- {
					w.bit(int(v >> k & 1))
				}
			} else {
				w.literal(data[i])
			}
			n, afterLiteral = 1, 1
		}
		for k := 0; k < n; k++ {
			add(i + k)
		}
		i += n
	}
	w.end()
	return w.out
}

func TestAPLibRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 100, 5000, 80000} {
		data := nrvSample(n, int64(n)+3)
		packed := aplibEncode(data)
		dst := make([]byte, n)
		ns, nd, err := aplibDecode(context.Background(), NewBudget(Limits{}), packed, dst)
		if err != nil || nd != n || ns != len(packed) || !bytes.Equal(dst, data) {
			t.Fatalf("%d bytes: consumed %d of %d, wrote %d, %v", n, ns, len(packed), nd, err)
		}
	}
}

const fsgFixBase = 0x400000

// fsgPE lays out a packed file: headers (with support data for 1.33 at
// 0x300), an empty section s0 at 0x1000 of s0Len bytes and the packed
// section s1 right after it holding sec; the entry point is s1 + ep.
func fsgPE(s0Len uint32, sec []byte, ep uint32, support []byte) []byte {
	le := binary.LittleEndian
	s1RVA := 0x1000 + s0Len
	raw := (uint32(len(sec)) + 0x1ff) &^ 0x1ff
	f := make([]byte, 0x400+raw)
	copy(f, "MZ")
	le.PutUint32(f[0x3c:], 0x80)
	h := f[0x80:]
	copy(h, "PE\x00\x00")
	le.PutUint16(h[4:], 0x14c)
	le.PutUint16(h[6:], 2)
	le.PutUint16(h[20:], 0xe0)
	le.PutUint16(h[22:], 0x10f)
	o := h[24:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], s1RVA+ep)
	le.PutUint32(o[28:], fsgFixBase)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], s1RVA+0x1000)
	le.PutUint32(o[60:], 0x400)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := h[0xf8:]
	le.PutUint32(sh[8:], s0Len)
	le.PutUint32(sh[12:], 0x1000)
	le.PutUint32(sh[36:], 0xe0000080)
	sh = sh[0x28:]
	le.PutUint32(sh[8:], (raw+0xfff)&^0xfff)
	le.PutUint32(sh[12:], s1RVA)
	le.PutUint32(sh[16:], raw)
	le.PutUint32(sh[20:], 0x400)
	le.PutUint32(sh[36:], 0xe0000040)
	copy(f[0x300:], support)
	copy(f[0x400:], sec)
	return f
}

// fsgFixture packs three sections (clam.exe's body in the first) with FSG
// 2.0's or 1.33's layout; oep is the original entry point RVA.
func fsgFixture(t testing.TB, version string, body []byte) (file []byte, oep uint32) {
	t.Helper()
	le := binary.LittleEndian
	text := nrvSample(0x800, 21)
	copy(text[0x80:], body)
	data := nrvSample(0x600, 22)
	tail := nrvSample(0x100, 23)
	const s0Len = 0x4000
	s1RVA := uint32(0x1000 + s0Len)
	oep = 0x1080
	switch version {
	case "2.0":
		img := make([]byte, 0x2100)
		copy(img, text)
		copy(img[0x1000:], data)
		copy(img[0x2000:], tail)
		stream := aplibEncode(img)
		// s1: the stream, then the stack image, the table and the loader.
		sec := make([]byte, len(stream)+0x200)
		copy(sec, stream)
		st := uint32(len(stream)+15) &^ 15 // stack image
		tbl := st + 0x20                   // table of loader functions
		ptr := tbl + 0x10                  // what xchg reads
		ep := ptr + 0x10
		le.PutUint32(sec[st:], fsgFixBase+0x1000)  // edi: the empty section
		le.PutUint32(sec[st+4:], fsgFixBase+s1RVA) // esi: the stream
		le.PutUint32(sec[st+16:], fsgFixBase+s1RVA+tbl)
		le.PutUint32(sec[tbl+12:], fsgFixBase+oep)
		le.PutUint32(sec[ptr:], fsgFixBase+s1RVA+st)
		sec[ep], sec[ep+1] = 0x87, 0x25 // xchg [ptr], esp
		le.PutUint32(sec[ep+2:], fsgFixBase+s1RVA+ptr)
		return fsgPE(s0Len, sec, ep, nil), oep
	case "1.33":
		var stream []byte
		for _, s := range [][]byte{text, data, tail} {
			stream = append(stream, aplibEncode(s)...)
		}
		sec := make([]byte, len(stream)+0x200)
		copy(sec, stream)
		ep := uint32(len(stream)+15) &^ 15
		sec[ep] = 0xbe // mov esi, support
		le.PutUint32(sec[ep+1:], fsgFixBase+0x300)
		// The loader's last jump: to the original entry point.
		le.PutUint32(sec[ep+163:], oep-(s1RVA+ep+167))
		support := make([]byte, 0x40)
		le.PutUint32(support[4:], fsgFixBase+0x1000)
		le.PutUint32(support[8:], fsgFixBase+s1RVA)
		le.PutUint32(support[12:], fsgFixBase+0x2000+1)
		le.PutUint32(support[16:], fsgFixBase+0x3000+1)
		return fsgPE(s0Len, sec, ep, support), oep
	}
	t.Fatalf("no FSG %s fixture", version)
	return nil, 0
}

// TestFSGFixturesClamscan unpacks FSG 2.0 and 1.33 files and compares the
// result with clamscan's rebuild of the same file: file size, section
// table, entry point and section bytes (the headers' other fields are
// each tool's own).
func TestFSGFixturesClamscan(t *testing.T) {
	body := clamBodySig(t)
	dir := t.TempDir()
	for _, version := range []string{"2.0", "1.33"} {
		t.Run(version, func(t *testing.T) {
			data, oep := fsgFixture(t, version, body)
			if bytes.Contains(data, body) {
				t.Fatal("the packed file holds the body as it is")
			}
			if upxDetect(data) {
				t.Error("upx claims an FSG file")
			}
			m := unpackOne(t, fsgFormat(), data)
			mine, err := exe.Parse(m.Data)
			if err != nil {
				t.Fatalf("rebuilt image does not parse: %v", err)
			}
			if mine.PE.EntryRVA != oep || !bytes.Contains(m.Data, body) {
				t.Fatalf("rebuilt: entry 0x%x (want 0x%x), body %v", mine.PE.EntryRVA, oep, bytes.Contains(m.Data, body))
			}
			file := filepath.Join(dir, "fsg"+version+".exe")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			peer := clamscanRebuild(t, file, "FSG", 1)
			theirs, err := exe.Parse(peer)
			if err != nil {
				t.Fatalf("clamscan's rebuild does not parse: %v", err)
			}
			if len(peer) != len(m.Data) || theirs.EntryPoint != mine.EntryPoint || len(theirs.Sections) != len(mine.Sections) {
				t.Fatalf("rebuilt %d bytes, %d sections, entry at 0x%x; clamscan %d, %d, 0x%x",
					len(m.Data), len(mine.Sections), mine.EntryPoint, len(peer), len(theirs.Sections), theirs.EntryPoint)
			}
			for i, s := range mine.Sections {
				o := theirs.Sections[i]
				s.Name, o.Name = "", ""
				if s != o || !bytes.Equal(m.Data[s.Offset:s.Offset+s.Size], peer[o.Offset:o.Offset+o.Size]) {
					t.Errorf("section %d: %+v, clamscan %+v (bytes equal: %v)", i, s, o,
						bytes.Equal(m.Data[s.Offset:s.Offset+s.Size], peer[o.Offset:o.Offset+o.Size]))
				}
			}
		})
	}
}

// TestFSGCorrupt truncates and damages the fixtures: each variant ends
// quickly in a member or an fsg format error.
func TestFSGCorrupt(t *testing.T) {
	body := clamBodySig(t)
	for _, version := range []string{"2.0", "1.33"} {
		data, _ := fsgFixture(t, version, body)
		for _, n := range []int{0x400 + 0x40, 0x400 + 0x300, len(data) - 0x100} {
			start := time.Now()
			err := runUnpack(fsgFormat(), data[:n])
			var fe *FormatError
			if err != nil && (!errors.As(err, &fe) || fe.Format != "fsg") {
				t.Errorf("%s truncated to %d: %v, want an fsg format error", version, n, err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("%s truncated to %d: %v", version, n, d)
			}
		}
		for off := 0x400; off < len(data); off += 5 {
			d := append([]byte(nil), data...)
			d[off] ^= 0xa5
			_ = runUnpack(fsgFormat(), d)
		}
	}
}

func FuzzUnpackFSG(f *testing.F) {
	body := []byte("glassav fuzz seed body, not a signature")
	var seeds [][]byte
	for _, v := range []string{"2.0", "1.33"} {
		data, _ := fsgFixture(f, v, body)
		seeds = append(seeds, data, data[:len(data)-0x100])
	}
	fuzzFormat(f, fsgFormat(), seeds...)
}

func FuzzUnpackUPX(f *testing.F) {
	body := []byte("glassav fuzz seed body, not a signature")
	var seeds [][]byte
	for _, m := range []string{"nrv2b", "nrv2d", "nrv2e", "lzma"} {
		data := upxFixture(f, m, body)
		seeds = append(seeds, data, data[:len(data)-0x200])
	}
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-upx.exe"); err == nil {
		seeds = append(seeds, d, d[:len(d)/2])
	}
	fuzzFormat(f, upxFormat(), seeds...)
}

// TestPackersOnClamTestFiles runs upx and fsg over every executable of
// ClamAV's test corpus beside clamscan: upx unpacks exactly the files
// clamscan unpacks as UPX (clam-upx.exe, and the AutoIt interpreters of
// clam.ea05.exe and clam.ea06.exe), into the same rebuilt image after the
// DOS stub; fsg unpacks none (clam-fsg.exe is not FSG-packed: clamscan
// finds clam.exe in it as an embedded executable, without unpacking), and
// neither reports an error on another packer's file.
func TestPackersOnClamTestFiles(t *testing.T) {
	dir := filepath.Dir(testFile(t, "clam.exe"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.exe"))
	if len(files) < 10 {
		t.Fatalf("%d executables in %s", len(files), dir)
	}
	unpacked := 0
	for _, f := range files {
		data := readFile(t, f)
		name := filepath.Base(f)
		var peer []byte
		if upxDetect(data) || fsgDetect(data) {
			// The status depends on where clam.exe's body is: any is fine.
			peer = clamscanUnpacked(t, f, "UPX", -1)
		}
		for _, fm := range []*Format{upxFormat(), fsgFormat()} {
			if !fm.Detect(data) {
				continue
			}
			ms, err := checkUnpack(t, fm, data, Limits{})
			if err != nil {
				t.Errorf("%s on %s: %v", fm.Name, name, err)
			}
			switch {
			case fm.Name == "fsg" && len(ms) != 0:
				t.Errorf("fsg on %s: %d members", name, len(ms))
			case fm.Name == "upx" && (len(ms) == 1) != (peer != nil):
				t.Errorf("upx on %s: %d members; clamscan unpacked %v", name, len(ms), peer != nil)
			case fm.Name == "upx" && len(ms) == 1:
				unpacked++
				if len(peer) != len(ms[0].Data) || !bytes.Equal(peer[min(len(peer), peStubSize):], ms[0].Data[peStubSize:]) {
					t.Errorf("upx on %s: rebuilt %d bytes, clamscan %d; differing after the DOS stub", name, len(ms[0].Data), len(peer))
				}
			}
		}
	}
	t.Logf("upx unpacked %d files of the corpus as clamscan does", unpacked)
	if unpacked < 3 {
		t.Errorf("upx unpacked %d files of the corpus, want 3", unpacked)
	}
}
