package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// vbaMarker is a line of macro source that never appears verbatim in the
// compressed module stream (flag bytes break every run of 8 literals), so
// finding it proves the source was decompressed.
const vbaMarker = `MsgBox "` + vbaMarkerText + `"`

const vbaMarkerText = "glassav-vba-test-marker-xyzzy-0123456789"

var vbaSource = "Attribute VB_Name = \"Module1\"\r\n" +
	"Sub AutoOpen()\r\n  " + vbaMarker + "\r\n  Dim i As Integer\r\n" +
	strings.Repeat("  i = i + 1 ' repeated lines give the compressor copy tokens\r\n", 80) +
	"End Sub\r\n"

// buildOLE2 writes a compound file with gsf createole: a WordDocument
// stream, the payload, and a VBA project (PROJECT, _VBA_PROJECT, dir and
// one module) under Macros/VBA, as Word lays it out.
func buildOLE2(t testing.TB) string {
	t.Helper()
	return buildOLE2With(t, "Macros/", map[string][]byte{
		"WordDocument": bytes.Repeat([]byte("not really a Word stream "), 300),
		"payload":      readPayload(t),
	})
}

// buildOLE2With writes a compound file of the streams in top and a VBA
// project whose PROJECT stream and VBA storage are under the path prefix
// project: "Macros/" in a Word 97 file, "" in an OOXML vbaProject.bin.
func buildOLE2With(t testing.TB, project string, top map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	pcode := bytes.Repeat([]byte{0xcc, 0x61, 0x01, 0x00}, 25) // stands for the p-code before the source
	module := append(append([]byte(nil), pcode...), ovbaCompress([]byte(vbaSource))...)
	files := map[string][]byte{
		project + "PROJECT":          []byte("ID=\"{00000000-0000-0000-0000-000000000000}\"\r\nModule=Module1\r\nName=\"Project\"\r\n"),
		project + "VBA/_VBA_PROJECT": {0xcc, 0x61, 0xff, 0xff, 0x00, 0x00, 0x00},
		project + "VBA/dir":          ovbaCompress(vbaDir("Module1", uint32(len(pcode)))),
		project + "VBA/Module1":      module,
	}
	var names []string
	for n, d := range top {
		files[n] = d
		names = append(names, n)
	}
	if project != "" {
		names = append(names, strings.TrimSuffix(project, "/"))
	} else {
		names = append(names, "PROJECT", "VBA")
	}
	for n, d := range files {
		p := filepath.Join(src, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, src, "gsf", append([]string{"createole", filepath.Join(dir, "out.doc")}, names...)...)
	return filepath.Join(dir, "out.doc")
}

// vbaDir returns a decompressed VBA dir stream (MS-OVBA 2.3.4.2) for a
// project of one standard module whose source starts at offset.
func vbaDir(module string, offset uint32) []byte {
	var b bytes.Buffer
	rec := func(id uint16, data []byte) {
		binary.Write(&b, binary.LittleEndian, id)
		binary.Write(&b, binary.LittleEndian, uint32(len(data)))
		b.Write(data)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	wide := func(s string) []byte {
		var w []byte
		for _, c := range utf16.Encode([]rune(s)) {
			w = binary.LittleEndian.AppendUint16(w, c)
		}
		return w
	}
	rec(0x01, u32(1))     // SysKind: Win32
	rec(0x02, u32(0x409)) // Lcid
	rec(0x14, u32(0x409)) // LcidInvoke
	rec(0x03, u16(1252))  // CodePage
	rec(0x04, []byte("Project"))
	rec(0x05, nil) // DocString
	rec(0x40, nil)
	rec(0x06, nil) // HelpFilePath
	rec(0x3d, nil)
	rec(0x07, u32(0)) // HelpContext
	rec(0x08, u32(0)) // LibFlags
	// Version: the size field says 4, but 6 bytes follow.
	binary.Write(&b, binary.LittleEndian, uint16(0x09))
	binary.Write(&b, binary.LittleEndian, uint32(4))
	binary.Write(&b, binary.LittleEndian, uint32(1))
	binary.Write(&b, binary.LittleEndian, uint16(0))
	rec(0x0c, nil) // Constants
	rec(0x3c, nil)
	rec(0x0f, u16(1))      // module count
	rec(0x13, u16(0xffff)) // cookie
	rec(0x19, []byte(module))
	rec(0x47, wide(module))
	rec(0x1a, []byte(module))
	rec(0x32, wide(module))
	rec(0x1c, nil) // DocString
	rec(0x48, nil)
	rec(0x31, u32(offset))
	rec(0x1e, u32(0))      // HelpContext
	rec(0x2c, u16(0xffff)) // Cookie
	rec(0x21, nil)         // procedural module
	rec(0x2b, nil)         // module terminator
	rec(0x10, nil)         // dir terminator
	return b.Bytes()
}

// ovbaCompress compresses src as MS-OVBA 2.4.1 does, with a greedy match
// search, so the fixtures carry real copy tokens of every width.
func ovbaCompress(src []byte) []byte {
	out := []byte{0x01}
	for cs := 0; cs < len(src); cs += 4096 {
		chunk := src[cs:min(cs+4096, len(src))]
		var body []byte
		for p := 0; p < len(chunk); {
			flag := len(body)
			body = append(body, 0)
			for bit := 0; bit < 8 && p < len(chunk); bit++ {
				bits := 4
				for 1<<bits < p {
					bits++
				}
				maxLen, maxOff := 0xffff>>bits+3, 1<<(16-bits)
				best, bestOff := 0, 0
				for off := 1; off <= min(p, maxOff); off++ {
					l := 0
					for l < maxLen && p+l < len(chunk) && chunk[p+l-off] == chunk[p+l] {
						l++
					}
					if l > best {
						best, bestOff = l, off
					}
				}
				if best >= 3 {
					tok := (bestOff-1)<<(16-bits) | (best - 3)
					body = append(body, byte(tok), byte(tok>>8))
					body[flag] |= 1 << bit
					p += best
				} else {
					body = append(body, chunk[p])
					p++
				}
			}
		}
		h := uint16(len(body)+2-3) | 0xb000
		out = append(out, byte(h), byte(h>>8))
		out = append(out, body...)
	}
	return out
}

func TestOLE2(t *testing.T) {
	path := buildOLE2(t)
	ms := unpackOK(t, ole2Format(), readFile(t, path))
	wantMember(t, ms, "payload", readPayload(t))
	mod := wantMember(t, ms, "Module1", nil2(ms, "Macros/VBA/Module1"))
	if bytes.Contains(mod.Data, []byte(vbaMarker)) {
		t.Fatal("the module stream holds the marker verbatim: the test proves nothing")
	}
	src := wantMember(t, ms, "Module1"+vbaSourceSuffix, []byte(vbaSource))
	if src.Name != "Macros/VBA/Module1"+vbaSourceSuffix {
		t.Errorf("source member named %q", src.Name)
	}
	if last := ms[len(ms)-1]; last.Name != src.Name {
		t.Errorf("last member %q, want the VBA source after the streams", last.Name)
	}
}

// nil2 returns the data of the member called name, for comparing a member
// with itself when only its presence matters.
func nil2(ms []Member, name string) []byte {
	for _, m := range ms {
		if m.Name == name {
			return m.Data
		}
	}
	return []byte("absent")
}

func TestOVBARoundTrip(t *testing.T) {
	for _, src := range [][]byte{
		nil,
		[]byte("a"),
		[]byte(vbaSource),
		bytes.Repeat([]byte("x"), 10000),
		readPayload(t)[:9000],
	} {
		got, err := ovbaDecompress(ovbaCompress(src), 1<<20)
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%d bytes: got %d bytes, err %v", len(src), len(got), err)
		}
	}
	// A raw (uncompressed) chunk.
	raw := append([]byte{0x01, 0xff, 0x3f}, bytes.Repeat([]byte("r"), 4096)...)
	if got, err := ovbaDecompress(raw, 1<<20); err != nil || len(got) != 4096 {
		t.Errorf("raw chunk: %d bytes, %v", len(got), err)
	}
}

// TestOLE2Peer checks that clamscan finds the marker in the same fixture:
// it too must decompress the macro source to see it.
func TestOLE2Peer(t *testing.T) {
	path := buildOLE2(t)
	clamscanFindsSig(t, path, []byte(vbaMarkerText))
}

func TestOLE2ClamTestFiles(t *testing.T) {
	for _, name := range []string{"clam.ole.doc", "clam.ppt"} {
		t.Run(name, func(t *testing.T) {
			ms := unpackOK(t, ole2Format(), readFile(t, testFile(t, name)))
			if len(ms) < 3 {
				t.Fatalf("%d streams: %v", len(ms), memberNames(ms))
			}
			t.Logf("streams: %q", memberNames(ms))
		})
	}
}

func TestOLE2Damaged(t *testing.T) {
	checkDamaged(t, ole2Format(), readFile(t, buildOLE2(t)))
}

func FuzzUnpackOLE2(f *testing.F) {
	var seeds [][]byte
	for _, n := range []string{"clam.ole.doc", "clam.ppt"} {
		if data, err := os.ReadFile("/usr/share/clamav-testfiles/" + n); err == nil {
			seeds = append(seeds, data)
		}
	}
	fuzzFormat(f, ole2Format(), seeds...)
}

func FuzzOVBADecompress(f *testing.F) {
	f.Add(ovbaCompress([]byte(vbaSource)))
	f.Add(ovbaCompress(vbaDir("Module1", 10)))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _ := ovbaDecompress(in, 1<<16)
		if len(out) > 1<<16+4096 {
			t.Fatalf("%d bytes out, over the limit", len(out))
		}
		vbaModules(out)
	})
}

// TestOLE2EmbeddedObjects: ClamAV's test documents hold clam.exe as an
// OLE1 package (Word) and inside a compressed ExOleObjStg (PowerPoint).
func TestOLE2EmbeddedObjects(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	doc := unpackOK(t, ole2Format(), readFile(t, testFile(t, "clam.ole.doc")))
	m := wantMember(t, doc, "Clam.exe", clam)
	t.Logf("clam.ole.doc: %s", m.Name)
	ppt := unpackOK(t, ole2Format(), readFile(t, testFile(t, "clam.ppt")))
	var found bool
	for _, obj := range ppt {
		if !strings.Contains(obj.Name, "ExOleObjStg@") {
			continue
		}
		inner := unpackOK(t, ole2Format(), obj.Data)
		for _, im := range inner {
			if bytes.Equal(im.Data, clam) {
				t.Logf("clam.ppt: %s // %s", obj.Name, im.Name)
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("clam.exe not found two levels into clam.ppt (members %q)", memberNames(ppt))
	}
}
