package filetype

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/match"
)

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// detectCases are small headers with the type clamscan 1.4.6 gives them
// (TestDetectMatchesClamscan re-checks every one against clamscan).
var detectCases = []struct {
	name string
	data string
	want Type
}{
	{"ascii", "hello world\n", TextASCII},
	{"utf8 is ascii to clamav", "h\xc3\xa9llo \xe2\x82\xac\n", TextASCII},
	{"utf8 bom", "\xef\xbb\xbfhello\n", TextASCII},
	{"control byte reads as utf16be", "ab\x01cd ef\n", TextUTF16BE},
	{"nul reads as utf16be", "ab\x00cd ef\n", TextUTF16BE},
	{"utf16le bom", "\xff\xfeh\x00i\x00 \x00t\x00h\x00e\x00r\x00e\x00", TextUTF16LE},
	{"utf16be bom", "\xfe\xff\x00h\x00i\x00 \x00t\x00h\x00e\x00r\x00e", TextUTF16BE},
	{"control byte past the header", repeat("a", 1024) + "\x01\x02", TextASCII},
	{"control byte at the header's end", repeat("a", 1022) + "\x01\x02", TextUTF16BE},
	{"html past the header", repeat("a", 1030) + "<html>", TextASCII},
	{"binary", "\x00\x01\x00\x02\x00\x03\x00\x04", BinaryData},
	{"binary looking like utf16be", "\x00\x01\x02\x03\x04\x05\x06", TextUTF16BE},
	{"pe", "MZ\x90\x00" + repeat("\x00", 60), MSEXE},
	{"elf", "\x7fELF\x02\x01\x01" + repeat("\x00", 40), ELF},
	{"macho64", "\xcf\xfa\xed\xfe\x07\x00\x00\x01" + repeat("\x00", 30), MachO},
	{"unibin", "\xca\xfe\xba\xbe\x00\x00\x00\x02" + repeat("\x00", 40), MachOUnibin},
	{"java", "\xca\xfe\xba\xbe\x00\x00\x00\x34" + repeat("\x00", 40), Java},
	{"ole2", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + repeat("\x00", 40), MSOLE2},
	{"gzip", "\x1f\x8b\x08\x00" + repeat("\x00", 20), GZ},
	{"bzip2", "BZh91AY&SY" + repeat("\x00", 20), BZ},
	{"xz", "\xfd7zXZ\x00\x00\x04" + repeat("\x00", 20), XZ},
	{"7z", "7z\xbc\xaf\x27\x1c\x00\x04" + repeat("\x00", 20), SevenZip},
	{"rar", "Rar!\x1a\x07\x00" + repeat("\x00", 20), RAR},
	{"cab", "MSCF\x00\x00\x00\x00" + repeat("\x00", 20), MSCAB},
	{"pdf", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", PDF},
	{"pdf later", "\x01\x02junk %PDF-1.4 stuff", PDF},
	{"rtf", "{\\rtf1\\ansi hello}", RTF},
	{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", PNG},
	{"gif", "GIF89a\x01\x00\x01\x00", GIF},
	{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", JPEG},
	{"bmp", "BM\x01\x00zzzz", Graphics},
	{"tiff be", "MM\x00*" + repeat("\x00", 20), TIFF},
	{"text starting MM", "MMhello there\n", TIFF},
	{"swf", "FWS\x0a" + repeat("\x00", 20), SWF},
	{"html", "<html><body>hi</body></html>\n", HTML},
	{"html later", "some text then <SCRIPT>x</SCRIPT>\n", HTML},
	{"anchor", "see <a class=x href='y'>here</a>\n", HTML},
	{"mail", "From: a@b.c\nTo: d@e.f\nSubject: hi\n\nbody\n", Mail},
	{"mail not at start", "junk line\nFrom: a@b\nMIME-Version: 1.0\n", Mail},
	{"mhtml", "MIME-Version: 1.0\nContent-Type: multipart/related\n\n", MHTML},
	{"xml word", "<?xml version=\"1.0\"?>\n<w:wordDocument xmlns:w=\"x\">\n", XMLWord},
	{"xdp", "hello <xdp:xdp foo>\n", XDP},
	{"embedded pe", "\x01junkjunkMZ" + repeat("\x00", 62) + "PE\x00\x00" + repeat("\x00", 20), MSEXE},
	{"embedded pe in text", "hello world MZ" + repeat("a", 62) + "PE\x00\x00 more", MSEXE},
	{"zip sfx marker keeps type", "\x01junk PK\x03\x04" + repeat("\x00", 20), BinaryData},
	{"sfx after html keeps type", "hi PK\x03\x04 then <html> ok\n", TextUTF16BE},
	{"html then sfx keeps type", "<html> PK\x03\x04 stuff\n", TextUTF16BE},
	{"rar sfx marker", "\x01junkRar!\x1a\x07\x00" + repeat("\x00", 20), BinaryData},
	{"nsis retypes", "\x01junk\xef\xbe\xad\xdeNullsoftInst" + repeat("\x00", 20), NulSft},
	{"sfx then nsis", "\x01j PK\x03\x04 x \xef\xbe\xad\xdeNullsoftInst", NulSft},
	{"nsis then sfx", "\x01j\xef\xbe\xad\xdeNullsoftInst PK\x03\x04 x", TextUTF16BE},
	{"pe then sfx", "\x01junkMZ" + repeat("\x00", 62) + "PE\x00\x00 PK\x03\x04" + repeat("\x00", 20), BinaryData},
	{"sfx then pe", "\x01junk PK\x03\x04MZ" + repeat("\x00", 62) + "PE\x00\x00" + repeat("\x00", 20), MSEXE},
	{"autoit", "\x01junk\xa3\x48\x4b\xbe\x98\x6c\x4a\xa9\x99\x4c\x53\x0a\x86\xd6\x48\x7dAU3!EA06" + repeat("\x00", 20), AutoIt},
	{"pyc", "\xf3\r\r\n" + repeat("\x00", 30), PythonCompiled},
	{"lha", "\x00\x00-lh5-" + repeat("\x00", 30), LHALZH},
	{"aliases", "[aliases]\nn0=foo\n", PosixTar},
	{"cpio newc", "070701" + repeat("0", 100), CPIONewc},
	{"cpio old le", "\xc7\x71" + repeat("\x00", 30), CPIOOld},
	{"html utf16le", "\xff\xfe" + utf16le("<html><body>x</body></html>"), HTMLUTF16},
	{"html utf16be bom", "\xfe\xff" + utf16be("<html><body>x</body></html>"), HTML},
}

func utf16le(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteByte(c)
		b.WriteByte(0)
	}
	return b.String()
}

func utf16be(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteByte(0)
		b.WriteByte(c)
	}
	return b.String()
}

func TestDetect(t *testing.T) {
	d := NewDetector()
	for _, c := range detectCases {
		if got := d.Detect([]byte(c.data)); got != c.want {
			t.Errorf("%s: Detect = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDetectTar(t *testing.T) {
	h := make([]byte, 1024)
	copy(h, "file.txt")
	copy(h[100:], "0000644\x00")
	copy(h[124:], "00000000005\x00")
	sum := 0
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int(c)
	}
	copy(h[148:], []byte(octalString(sum)))
	d := NewDetector()
	if got := d.Detect(h); got != OldTar {
		t.Errorf("old tar: got %v", got)
	}
	h[148] ^= 1 // break the checksum
	if got := d.Detect(h); got == OldTar {
		t.Errorf("bad checksum still detected as tar")
	}
}

func octalString(n int) string {
	s := ""
	for ; n > 0; n /= 8 {
		s = string(rune('0'+n%8)) + s
	}
	for len(s) < 6 {
		s = "0" + s
	}
	return s + "\x00 "
}

func zipWith(names ...string) []byte {
	var b bytes.Buffer
	for _, n := range names {
		h := make([]byte, 30)
		copy(h, "PK\x03\x04")
		h[26] = byte(len(n))
		b.Write(h)
		b.WriteString(n)
		b.WriteString(repeat("x", 40))
	}
	return b.Bytes()
}

func TestDetectOOXML(t *testing.T) {
	d := NewDetector()
	for _, c := range []struct {
		names []string
		want  Type
	}{
		{[]string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"}, OOXMLWord},
		{[]string{"xl/workbook.xml", "a", "b"}, OOXMLXL},
		{[]string{"[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "a.xml", "ppt/slides/s.xml"}, OOXMLPPT},
		{[]string{"a.txt", "b.txt", "c.txt"}, ZIP},
	} {
		if got := d.Detect(zipWith(c.names...)); got != c.want {
			t.Errorf("%v: got %v, want %v", c.names, got, c.want)
		}
	}
}

func TestWithMagic(t *testing.T) {
	base := NewDetector()
	d := base.WithMagic([]Magic{
		{Offset: 0, Bytes: []byte("GLASS"), Name: "test literal", Result: Internal},
		{Offset: -1, Pattern: match.Cat(match.Lit([]byte("<zz")), match.Gap(0, 4), match.Lit([]byte("zz>"))), Name: "test pattern", Result: HTML},
		{Offset: 0, Bytes: []byte("MZ"), Name: "override", Result: BinaryData},
		{Offset: 4, MaxShift: 8, Pattern: match.Lit([]byte("MAGIC")), Name: "shifted", Required: BinaryData, Result: PDF},
		{Name: "invalid: no result", Bytes: []byte("x")},
	})
	for _, c := range []struct {
		data string
		want Type
	}{
		{"GLASS and more", Internal},
		{"text <zz12zz> text", HTML},
		{"text <zz123456zz> text", TextASCII},
		{"MZ\x90\x00", BinaryData},
		{"\x00\x00\x00\x00\x00\x00MAGIC", PDF},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00MAGIC", BinaryData},
		{"text  MAGIC", TextASCII}, // required type not met
	} {
		if got := d.Detect([]byte(c.data)); got != c.want {
			t.Errorf("%q: got %v, want %v", c.data, got, c.want)
		}
	}
	if got := base.Detect([]byte("GLASS")); got != TextASCII {
		t.Errorf("WithMagic changed its receiver: %v", got)
	}
	if CheckMagic(Magic{Bytes: []byte("x")}) == nil {
		t.Error("CheckMagic accepted an entry without a result")
	}
}

func TestNames(t *testing.T) {
	for _, ty := range Types() {
		n := ty.String()
		if !strings.HasPrefix(n, "CL_TYPE_") {
			t.Errorf("%d: name %q", ty, n)
		}
		if back, ok := ByName(n); !ok || back != ty {
			t.Errorf("ByName(%q) = %v, %v", n, back, ok)
		}
	}
	for _, n := range []string{"CL_TYPE_MSEXE", "CL_TYPE_ANY", "CL_TYPE_7Z", "CL_TYPE_OOXML_WORD", "CL_TYPE_TEXT_UTF16LE", "CL_TYPE_PYTHON_COMPILED", "CL_TYPE_LHA_LZH", "CL_TYPE_IGNORED"} {
		if _, ok := ByName(n); !ok {
			t.Errorf("ByName(%q) unknown", n)
		}
	}
	if _, ok := ByName("CL_TYPE_NOPE"); ok {
		t.Error("ByName accepted an unknown name")
	}
}

func TestMatchesTarget(t *testing.T) {
	for _, c := range []struct {
		t      Type
		target uint8
		want   bool
	}{
		{MSEXE, 1, true}, {ELF, 1, false}, {PNG, 5, true}, {Graphics, 5, true}, {TIFF, 5, true},
		{TextUTF16LE, 7, true}, {TextASCII, 7, true}, {HTML, 7, false}, {HTMLUTF16, 3, true},
		{MachOUnibin, 9, true}, {Mail, 4, true}, {MHTML, 4, false}, {OOXMLWord, 2, false},
		{PDF, 0, true}, {PDF, 8, false}, {Java, 12, true}, {SWF, 11, true}, {Internal, 13, true},
	} {
		if got := MatchesTarget(c.t, c.target); got != c.want {
			t.Errorf("MatchesTarget(%v, %d) = %v", c.t, c.target, got)
		}
	}
	if !NeedsNormalisation(3) || !NeedsNormalisation(7) || NeedsNormalisation(4) || NeedsNormalisation(1) {
		t.Error("NeedsNormalisation disagrees with clamscan")
	}
}

func BenchmarkDetectText(b *testing.B) {
	d := NewDetector()
	data := []byte(repeat("The quick brown fox jumps over the lazy dog. ", 100))
	b.SetBytes(headerSize)
	for b.Loop() {
		d.Detect(data)
	}
}

func BenchmarkDetectPE(b *testing.B) {
	d := NewDetector()
	data := []byte("MZ" + repeat("\x00", 4000))
	for b.Loop() {
		d.Detect(data)
	}
}

func FuzzDetect(f *testing.F) {
	for _, c := range detectCases {
		f.Add([]byte(c.data))
	}
	f.Add(zipWith("[Content_Types].xml", "_rels/.rels", "docProps/x", "word/y"))
	d := NewDetector()
	f.Fuzz(func(t *testing.T, data []byte) {
		ty := d.Detect(data)
		if ty == None || ty >= numTypes {
			t.Fatalf("Detect returned %d", ty)
		}
	})
}

// TestDetectBoundedWork feeds headers and a magic pattern built to make a
// backtracking matcher slow; the step budget must keep Detect fast.
func TestDetectBoundedWork(t *testing.T) {
	nested := match.Gap(0, -1)
	for i := 0; i < 8; i++ {
		nested = &match.Node{Op: match.OpRepeat, Sub: []*match.Node{nested}, Min: 0, Max: -1}
	}
	d := NewDetector().WithMagic([]Magic{{
		Offset: -1, Name: "evil", Result: HTML,
		Pattern: match.Cat(match.Lit([]byte("a")), nested, nested, match.Lit([]byte("zzz"))),
	}})
	for _, h := range []string{repeat("<a ", 400), repeat("a", 1024), repeat("<a h", 300)} {
		start := time.Now()
		d.Detect([]byte(h))
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Detect took %v on %.20q...", el, h)
		}
	}
}

func TestHTMLInText(t *testing.T) {
	d := NewDetector()
	long := strings.Repeat("configuration text\n", 100)
	for _, tc := range []struct {
		data string
		want bool
	}{
		{long, false},
		{long + "<html><body>x</body></html>", true},
		{"short <html>", false}, // within the header: Detect types it already
		{long + "a < b and c > d", false},
	} {
		if got := d.HTMLInText([]byte(tc.data)); got != tc.want {
			t.Errorf("HTMLInText(%d bytes ending %q) = %v, want %v", len(tc.data), tc.data[len(tc.data)-min(20, len(tc.data)):], got, tc.want)
		}
	}
}
