package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/exe"
	"github.com/ulikunitz/xz/lzma"
)

// Debian has no UPX packer (upx-ucl left Debian before bookworm), so the
// tests build UPX-packed files themselves: an original program (two
// sections, clam.exe's body in its code) laid out in memory the way UPX
// leaves it — sections, then the compressed import table, then the PE
// header — compressed with nrvEncode or ulikunitz/xz's LZMA writer into a
// UPX1 section whose entry point holds the fragments of UPX's loader that
// ClamAV looks for. clamscan unpacks these files as it unpacks UPX, which
// makes them a differential test of the whole path.

const (
	upxFixBase    = 0x400000
	upxFixUPX0    = 0x1000
	upxFixUPX0Len = 0x4000
	upxFixImports = 0x3000 // offset of the import table in the image
)

// upxOriginal returns the unpacked image UPX's loader would produce at
// UPX0 (dend bytes): .text at RVA 0x1000 holding body, .data at 0x2000,
// an empty import table and the original PE header after it.
func upxOriginal(body []byte) []byte {
	le := binary.LittleEndian
	img := make([]byte, upxFixImports+4+0xf8+2*0x28)
	text := img[0:0x1000]
	copy(text, nrvSample(0x600, 7))
	copy(text[0x100:], body)
	copy(img[0x1000:0x3000], nrvSample(0x1800, 8))
	h := img[upxFixImports+4:]
	copy(h, "PE\x00\x00")
	le.PutUint16(h[4:], 0x14c)
	le.PutUint16(h[6:], 2)
	le.PutUint32(h[8:], 0x12345678)
	le.PutUint16(h[20:], 0xe0)
	le.PutUint16(h[22:], 0x10f)
	o := h[24:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], 0x1100) // entry point
	le.PutUint32(o[28:], upxFixBase)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], 0x4000)
	le.PutUint32(o[60:], 0x400)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := h[0xf8:]
	for i, s := range []struct {
		name      string
		rva, size uint32
	}{{".text", 0x1000, 0x1000}, {".data", 0x2000, 0x2000}} {
		e := sh[i*0x28:]
		copy(e, s.name)
		le.PutUint32(e[8:], s.size)
		le.PutUint32(e[12:], s.rva)
		le.PutUint32(e[16:], s.size)
		le.PutUint32(e[20:], 0x400+uint32(i)*0x1000)
		le.PutUint32(e[36:], 0xe0000020)
	}
	return img
}

// upxFixture packs body's program with method ("nrv2b", "nrv2d",
// "nrv2e", "lzma"); edit, if given, changes the image before packing.
func upxFixture(t testing.TB, method string, body []byte, edit ...func(img []byte)) []byte {
	t.Helper()
	le := binary.LittleEndian
	img := upxOriginal(body)
	for _, e := range edit {
		e(img)
	}
	var stream []byte
	var m nrvMethod
	var magic uint32
	var skew uint32
	switch method {
	case "nrv2b":
		m, magic = nrv2b, upxMagic[nrv2b][0]
	case "nrv2d":
		m, magic = nrv2d, upxMagic[nrv2d][0]
	case "nrv2e":
		m, magic = nrv2e, upxMagic[nrv2e][0]
	case "lzma":
		magic, skew = upxMagicLZMA[0], 0x15
	}
	if method == "lzma" {
		var buf bytes.Buffer
		w, err := lzma.WriterConfig{
			Properties:   &lzma.Properties{LC: 3, LP: 0, PB: 2},
			DictCap:      1 << 16,
			SizeInHeader: true,
			Size:         int64(len(img)),
		}.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(img); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		// UPX's two header bytes, then the raw stream.
		stream = append(append(make([]byte, skew), 0x5d, 0x00), buf.Bytes()[lzma.HeaderLen:]...)
	} else {
		stream = nrvEncode(m, img)
	}
	loaderAt := (uint32(len(stream)) + 15) &^ 15
	loaderLen := magic + skew + 0x40
	upx1Raw := (loaderAt + loaderLen + 0x1ff) &^ 0x1ff
	upx1RVA := uint32(upxFixUPX0 + upxFixUPX0Len)
	upx1VSize := (upx1Raw + 0xfff) &^ 0xfff

	sec := make([]byte, upx1Raw)
	copy(sec, stream)
	ld := sec[loaderAt:]
	for i := range loaderLen {
		ld[i] = 0xcc
	}
	ld[0], ld[1] = 0x60, 0xbe // pusha; mov esi, UPX1+skew
	le.PutUint32(ld[2:], upxFixBase+upx1RVA+skew)
	switch method {
	case "nrv2b":
		copy(ld[0x69:], upxNRV2B[:13])
	case "nrv2d":
		copy(ld[0x69:], upxNRV2D[:13])
	case "nrv2e":
		copy(ld[0x69:], upxNRV2E[:13])
	case "lzma":
		le.PutUint32(ld[0x21:], uint32(len(img)))
		copy(ld[0x2f:], upxLZMA2)
	}
	// lea edi, [esi+imports], where ClamAV reads it: relative to the
	// entry point in the data it decompressed from (skewed for LZMA).
	lea := ld[skew+magic-2:]
	lea[0], lea[1] = 0x8d, 0xbe
	le.PutUint32(lea[2:], upxFixImports)

	// The packed file: headers, then UPX1's bytes.
	f := make([]byte, 0x400+len(sec))
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
	le.PutUint32(o[16:], upx1RVA+loaderAt)
	le.PutUint32(o[28:], upxFixBase)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint16(o[48:], 4)
	le.PutUint32(o[56:], upx1RVA+upx1VSize)
	le.PutUint32(o[60:], 0x400)
	le.PutUint16(o[68:], 2)
	le.PutUint32(o[92:], 16)
	sh := h[0xf8:]
	copy(sh, "UPX0")
	le.PutUint32(sh[8:], upxFixUPX0Len)
	le.PutUint32(sh[12:], upxFixUPX0)
	le.PutUint32(sh[20:], 0x400)
	le.PutUint32(sh[36:], 0xe0000080)
	sh = sh[0x28:]
	copy(sh, "UPX1")
	le.PutUint32(sh[8:], upx1VSize)
	le.PutUint32(sh[12:], upx1RVA)
	le.PutUint32(sh[16:], upx1Raw)
	le.PutUint32(sh[20:], 0x400)
	le.PutUint32(sh[36:], 0xe0000040)
	copy(f[0x400:], sec)
	return f
}

// TestUPXFixturesClamscan unpacks a UPX file of each method glassav
// decodes and compares the rebuilt image with the one clamscan rebuilds
// from the same file (which must also find clam.exe's body in it).
func TestUPXFixturesClamscan(t *testing.T) {
	body := clamBodySig(t)
	dir := t.TempDir()
	for _, method := range []string{"nrv2b", "nrv2d", "nrv2e", "lzma"} {
		t.Run(method, func(t *testing.T) {
			data := upxFixture(t, method, body)
			if bytes.Contains(data, body) {
				t.Fatal("the packed file holds the body as it is")
			}
			if _, err := exe.Parse(data); err != nil {
				t.Fatalf("fixture does not parse: %v", err)
			}
			m := unpackOne(t, upxFormat(), data)
			info, err := exe.Parse(m.Data)
			if err != nil {
				t.Fatalf("rebuilt image does not parse: %v", err)
			}
			if len(info.Sections) != 2 || info.PE.EntryRVA != 0x1100 {
				t.Errorf("rebuilt: %d sections, entry 0x%x; want 2, 0x1100", len(info.Sections), info.PE.EntryRVA)
			}
			if !bytes.Contains(m.Data, body) {
				t.Fatal("rebuilt image lacks the body")
			}
			file := filepath.Join(dir, method+".exe")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			peer := clamscanRebuild(t, file, "UPX", 1)
			if len(peer) != len(m.Data) || !bytes.Equal(peer[peStubSize:], m.Data[peStubSize:]) {
				t.Errorf("rebuilt %d bytes, clamscan %d; differing after the DOS stub", len(m.Data), len(peer))
			}
		})
	}
}

// TestUPXFixtureFallbacks breaks the fixture's pointers so that the
// rebuild takes ClamAV's fallbacks: an unknown loader version (the lea
// found by scanning), no import pointer (the PE header found by scanning
// backwards), neither (one crafted section around the image).
func TestUPXFixtureFallbacks(t *testing.T) {
	body := clamBodySig(t)
	dir := t.TempDir()
	noLea := func(d []byte) {
		i := bytes.Index(d, []byte{0x8d, 0xbe, 0x00, 0x30, 0x00, 0x00})
		copy(d[i:], []byte{0xcc, 0xcc})
	}
	for _, tc := range []struct {
		name   string
		edit   func(img []byte)
		break_ func(d []byte)
	}{
		{"scan-for-lea", nil, func(d []byte) {
			// Move the lea away from its known place, keeping "lea edi,
			// [esi+x]; mov eax, [edi]" where the scan finds it.
			i := bytes.Index(d, []byte{0x8d, 0xbe, 0x00, 0x30, 0x00, 0x00})
			copy(d[i:], []byte{0xcc, 0xcc})
			copy(d[i+8:], []byte{0x8d, 0xbe, 0x00, 0x30, 0x00, 0x00, 0x8b, 0x07})
		}},
		{"scan-for-pe", nil, noLea},
		// No PE header anywhere: one section around the whole image.
		{"crafted", func(img []byte) {
			for i := bytes.Index(img, []byte("PE\x00\x00")); i >= 0; i = bytes.Index(img, []byte("PE\x00\x00")) {
				copy(img[i:], "XX")
			}
		}, noLea},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func([]byte)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			data := upxFixture(t, "nrv2b", body, edits...)
			tc.break_(data)
			m := unpackOne(t, upxFormat(), data)
			if !bytes.Contains(m.Data, body) {
				t.Fatal("rebuilt image lacks the body")
			}
			info, err := exe.Parse(m.Data)
			if err != nil {
				t.Fatalf("rebuilt image does not parse: %v", err)
			}
			if want := map[bool]int{true: 1, false: 2}[tc.name == "crafted"]; len(info.Sections) != want {
				t.Errorf("rebuilt image has %d sections, want %d", len(info.Sections), want)
			}
			file := filepath.Join(dir, tc.name+".exe")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			peer := clamscanRebuild(t, file, "UPX", 1)
			if tc.name == "crafted" {
				// Headers are each tool's own: compare the layout.
				theirs, err := exe.Parse(peer)
				if err != nil {
					t.Fatalf("clamscan's image does not parse: %v", err)
				}
				if len(peer) != len(m.Data) || theirs.EntryPoint != info.EntryPoint || len(theirs.Sections) != 1 ||
					theirs.Sections[0] != info.Sections[0] || !bytes.Equal(peer[0x200:], m.Data[0x200:]) {
					t.Errorf("crafted: %d bytes %+v, clamscan %d bytes %+v", len(m.Data), info.Sections, len(peer), theirs.Sections)
				}
				return
			}
			if len(peer) != len(m.Data) || !bytes.Equal(peer[min(len(peer), peStubSize):], m.Data[peStubSize:]) {
				t.Errorf("rebuilt %d bytes, clamscan %d; differing after the DOS stub", len(m.Data), len(peer))
			}
		})
	}
}
