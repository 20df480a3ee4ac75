package yara

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
)

// magicModule is yara's "magic" module, magic.type() and
// magic.mime_type(), without libmagic: a built-in subset of libmagic's
// answers as yara 4.2.3 gets them (libmagic reading the scanned bytes, not
// the file, so that an ELF file is not examined beyond its header).
//
// The subset gives libmagic's exact answer, both the description and the
// MIME type, for:
//
//   - ELF files for Intel 80386 and x86-64 (relocatable, executable, shared
//     object), version 1, SYSV or GNU/Linux ABI: "ELF 64-bit LSB shared
//     object, x86-64, version 1 (SYSV)", application/x-sharedlib
//   - PNG and GIF images, with their size and colour type
//   - bzip2 and XZ compressed data
//   - ar archives that are not Debian packages ("current ar archive")
//   - Dalvik DEX files ("Dalvik dex file version 035")
//
// and libmagic's exact MIME type for:
//
//   - PE files (application/vnd.microsoft.portable-executable) and other
//     MS-DOS executables (application/x-dosexec)
//   - Mach-O files, thin and fat (application/x-mach-binary)
//   - PDF documents, JPEG images, gzip data, Zip archives other than Java archives and
//     OpenDocument or Office files, Debian packages
//
// For these the description is libmagic's start ("PE32+ executable
// (console) x86-64, for MS Windows", "PDF document, version 1.4",
// "gzip compressed data", "Zip archive data") without all of its details
// (section and page counts, compression flags...).
// Anything else is classified as text (ASCII, UTF-8 or ISO-8859 text,
// with libmagic's notes on long lines and line terminators, and
// shell, Perl and Python scripts by their #! line) or "data"
// (application/octet-stream): answers that often differ from libmagic's,
// whose many text heuristics (C source, Perl modules...) are not
// reproduced. Empty data has no type, as in yara, which sees no data.
type magicModule struct{ obj *Object }

func newMagicModule() magicModule {
	return magicModule{structOf(
		member{"mime_type", overloads(fn("", KindString, func(sc *ScanContext, _ []Value) Value {
			r := magicOf(sc)
			if !r.ok {
				return undefined(KindString)
			}
			return stringValue([]byte(r.mime))
		}))},
		member{"type", overloads(fn("", KindString, func(sc *ScanContext, _ []Value) Value {
			r := magicOf(sc)
			if !r.ok {
				return undefined(KindString)
			}
			return stringValue([]byte(r.typ))
		}))},
	)}
}

func (magicModule) Name() string { return "magic" }

func (m magicModule) Declare() *Object { return m.obj }

func (m magicModule) Load(*ScanContext) (*Object, error) { return m.obj, nil }

// magicResult is the classification of some data. exactType and exactMIME
// say which parts are libmagic's exact answers (the subset above).
type magicResult struct {
	typ, mime            string
	exactType, exactMIME bool
	ok                   bool
}

type magicKey struct{}

// magicOf classifies the scanned data once per scan.
func magicOf(sc *ScanContext) magicResult {
	return sc.Cached(magicKey{}, func() any { return magicDetect(sc.Data) }).(magicResult)
}

// magicDetect classifies data.
func magicDetect(d []byte) magicResult {
	if len(d) == 0 {
		return magicResult{}
	}
	for _, f := range magicFormats {
		if r, ok := f(d); ok {
			r.ok = true
			return r
		}
	}
	return magicText(d)
}

// magicFormats are the binary formats, tried in order.
var magicFormats = []func([]byte) (magicResult, bool){
	magicELF, magicPE, magicMachO, magicImage, magicCompressed, magicPDF, magicZip, magicAr, magicDex,
}

func exact(typ, mime string) (magicResult, bool) {
	return magicResult{typ: typ, mime: mime, exactType: true, exactMIME: true}, true
}

func mimeOnly(typ, mime string) (magicResult, bool) {
	return magicResult{typ: typ, mime: mime, exactMIME: true}, true
}

var elfOSABI = map[byte]string{0: "SYSV", 3: "GNU/Linux"}

func magicELF(d []byte) (magicResult, bool) {
	if len(d) < 24 || string(d[:4]) != "\x7fELF" || (d[4] != 1 && d[4] != 2) || (d[5] != 1 && d[5] != 2) {
		return magicResult{}, false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	order := "LSB"
	if d[5] == 2 {
		bo, order = binary.BigEndian, "MSB"
	}
	bits := "32-bit"
	if d[4] == 2 {
		bits = "64-bit"
	}
	kinds := map[uint16][2]string{1: {"relocatable", "application/x-object"}, 2: {"executable", "application/x-executable"},
		3: {"shared object", "application/x-sharedlib"}, 4: {"core file", "application/x-coredump"}}
	kind, ok := kinds[bo.Uint16(d[16:])]
	if !ok {
		return magicResult{typ: "ELF " + bits + " " + order, mime: "application/octet-stream"}, true
	}
	machines := map[uint16]string{3: "Intel 80386", 62: "x86-64"}
	mach, knownMach := machines[bo.Uint16(d[18:])]
	abi, knownABI := elfOSABI[d[7]]
	version := bo.Uint32(d[20:])
	r := magicResult{mime: kind[1], exactMIME: true}
	if !knownMach || !knownABI || version != 1 || kind[0] == "core file" {
		r.typ = "ELF " + bits + " " + order + " " + kind[0]
		return r, true
	}
	r.typ = "ELF " + bits + " " + order + " " + kind[0] + ", " + mach + ", version 1 (" + abi + ")"
	r.exactType = true
	return r, true
}

func magicPE(d []byte) (magicResult, bool) {
	if len(d) < 64 || string(d[:2]) != "MZ" {
		return magicResult{}, false
	}
	off := int(binary.LittleEndian.Uint32(d[60:]))
	if off < 0 || off > len(d)-26 || string(d[off:off+4]) != "PE\x00\x00" {
		return mimeOnly("MS-DOS executable", "application/x-dosexec")
	}
	opt := off + 24
	typ := "PE32"
	if opt+2 <= len(d) && binary.LittleEndian.Uint16(d[opt:]) == 0x20b {
		typ = "PE32+"
	}
	typ += " executable"
	if binary.LittleEndian.Uint16(d[off+22:])&0x2000 != 0 {
		typ += " (DLL)"
	}
	if opt+70 <= len(d) {
		switch binary.LittleEndian.Uint16(d[opt+68:]) {
		case 2:
			typ += " (GUI)"
		case 3:
			typ += " (console)"
		case 10:
			typ += " (EFI application)"
		}
	}
	switch binary.LittleEndian.Uint16(d[off+4:]) {
	case 0x14c:
		typ += " Intel 80386"
	case 0x8664:
		typ += " x86-64"
	case 0xaa64:
		typ += " Aarch64"
	}
	return mimeOnly(typ+", for MS Windows", "application/vnd.microsoft.portable-executable")
}

func magicMachO(d []byte) (magicResult, bool) {
	if len(d) < 8 {
		return magicResult{}, false
	}
	switch binary.LittleEndian.Uint32(d) {
	case 0xfeedface, 0xcefaedfe:
		return mimeOnly("Mach-O", "application/x-mach-binary")
	case 0xfeedfacf, 0xcffaedfe:
		return mimeOnly("Mach-O 64-bit", "application/x-mach-binary")
	}
	// A fat binary shares its magic with Java class files, which libmagic
	// tells apart by the count that follows (a class file version there).
	if binary.BigEndian.Uint32(d) == 0xcafebabe {
		if n := binary.BigEndian.Uint32(d[4:]); n > 0 && n < 20 {
			return mimeOnly("Mach-O universal binary with "+strconv.Itoa(int(n))+" architectures", "application/x-mach-binary")
		}
	}
	return magicResult{}, false
}

func magicImage(d []byte) (magicResult, bool) {
	switch {
	case len(d) >= 29 && string(d[:8]) == "\x89PNG\r\n\x1a\n" && string(d[12:16]) == "IHDR":
		w, h := binary.BigEndian.Uint32(d[16:]), binary.BigEndian.Uint32(d[20:])
		depth, color := int(d[24]), d[25]
		var c string
		switch color {
		case 0:
			c = "-bit grayscale"
		case 2:
			c = "-bit/color RGB"
		case 3:
			c = "-bit colormap"
		case 4:
			c = "-bit gray+alpha"
		case 6:
			c = "-bit/color RGBA"
		default:
			return mimeOnly("PNG image data", "image/png")
		}
		il := "non-interlaced"
		if d[28] == 1 {
			il = "interlaced"
		}
		return exact("PNG image data, "+strconv.Itoa(int(w))+" x "+strconv.Itoa(int(h))+", "+strconv.Itoa(depth)+c+", "+il, "image/png")
	case len(d) >= 10 && (string(d[:6]) == "GIF87a" || string(d[:6]) == "GIF89a"):
		w, h := binary.LittleEndian.Uint16(d[6:]), binary.LittleEndian.Uint16(d[8:])
		return exact("GIF image data, version "+string(d[3:6])+", "+strconv.Itoa(int(w))+" x "+strconv.Itoa(int(h)), "image/gif")
	case len(d) >= 3 && string(d[:3]) == "\xff\xd8\xff":
		return mimeOnly("JPEG image data", "image/jpeg")
	}
	return magicResult{}, false
}

func magicCompressed(d []byte) (magicResult, bool) {
	switch {
	case len(d) >= 10 && d[0] == 0x1f && d[1] == 0x8b && d[2] == 8:
		return mimeOnly("gzip compressed data", "application/gzip")
	case len(d) >= 4 && string(d[:3]) == "BZh" && d[3] >= '1' && d[3] <= '9':
		return exact("bzip2 compressed data, block size = "+string(d[3])+"00k", "application/x-bzip2")
	case len(d) >= 8 && string(d[:6]) == "\xfd7zXZ\x00":
		sums := map[byte]string{0: "none", 1: "CRC32", 4: "CRC64", 10: "SHA-256"}
		if s, ok := sums[d[7]&0xf]; ok && d[6] == 0 {
			return exact("XZ compressed data, checksum "+s, "application/x-xz")
		}
		return mimeOnly("XZ compressed data", "application/x-xz")
	}
	return magicResult{}, false
}

func magicPDF(d []byte) (magicResult, bool) {
	if len(d) < 8 || string(d[:5]) != "%PDF-" {
		return magicResult{}, false
	}
	v := d[5:8]
	if v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' && v[2] <= '9' {
		return mimeOnly("PDF document, version "+string(v), "application/pdf")
	}
	return mimeOnly("PDF document", "application/pdf")
}

func magicZip(d []byte) (magicResult, bool) {
	if len(d) < 30 || string(d[:4]) != "PK\x03\x04" {
		return magicResult{}, false
	}
	n := int(binary.LittleEndian.Uint16(d[26:]))
	name := d[30:min(len(d), 30+n)]
	// Java archives, OpenDocument and Office files have MIME types of
	// their own, found by their first members.
	if bytes.HasPrefix(name, []byte("META-INF/")) || string(name) == "mimetype" ||
		string(name) == "[Content_Types].xml" || bytes.HasPrefix(name, []byte("_rels/")) || bytes.HasPrefix(name, []byte("word/")) {
		return magicResult{typ: "Zip archive data", mime: "application/zip"}, true
	}
	return mimeOnly("Zip archive data", "application/zip")
}

func magicAr(d []byte) (magicResult, bool) {
	if len(d) < 8 || string(d[:8]) != "!<arch>\n" {
		return magicResult{}, false
	}
	if len(d) >= 21 && string(d[8:21]) == "debian-binary" {
		return mimeOnly("Debian binary package", "application/vnd.debian.binary-package")
	}
	return exact("current ar archive", "application/x-archive")
}

func magicDex(d []byte) (magicResult, bool) {
	if len(d) < 8 || string(d[:4]) != "dex\n" || d[7] != 0 {
		return magicResult{}, false
	}
	return exact("Dalvik dex file version "+string(d[4:7]), "application/octet-stream")
}

// magicText classifies text as libmagic's encoding and ASCII checks do,
// without its content heuristics: the result is never claimed exact.
func magicText(d []byte) magicResult {
	enc := ""
	switch {
	case isText(d, false):
		enc = "ASCII text"
	case isUTF8Text(d):
		enc = "Unicode text, UTF-8 text"
	case isText(d, true):
		enc = "ISO-8859 text"
	default:
		return magicResult{typ: "data", mime: "application/octet-stream", ok: true}
	}
	var notes []string
	longest, cur, crlf, lf := 0, 0, 0, 0
	for i, c := range d {
		if c == '\n' {
			lf++
			if i > 0 && d[i-1] == '\r' {
				crlf++
			}
			longest, cur = max(longest, cur), 0
			continue
		}
		cur++
	}
	longest = max(longest, cur)
	if longest > 300 {
		notes = append(notes, "with very long lines ("+strconv.Itoa(longest)+")")
	}
	if crlf > 0 && crlf == lf {
		notes = append(notes, "with CRLF line terminators")
	} else if lf == 0 {
		notes = append(notes, "with no line terminators")
	}
	typ, mime := enc, "text/plain"
	if script, m := shebang(d); script != "" {
		typ, mime = script+", "+enc+" executable", m
	}
	if len(notes) > 0 {
		typ += ", " + strings.Join(notes, ", ")
	}
	return magicResult{typ: typ, mime: mime, ok: true}
}

// shebang names the script type of a #! line, as libmagic's commands
// magic does for the common interpreters.
func shebang(d []byte) (string, string) {
	if !bytes.HasPrefix(d, []byte("#!")) {
		return "", ""
	}
	line := d[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return "", ""
	}
	prog := f[0][strings.LastIndexByte(f[0], '/')+1:]
	if prog == "env" && len(f) > 1 {
		prog = f[1]
	}
	switch {
	case prog == "sh":
		return "POSIX shell script", "text/x-shellscript"
	case prog == "bash":
		return "Bourne-Again shell script", "text/x-shellscript"
	case prog == "perl":
		return "Perl script text", "text/x-perl"
	case strings.HasPrefix(prog, "python"):
		return "Python script", "text/x-script.python"
	}
	return "", ""
}

// isText reports whether d is text as libmagic's ASCII check sees it:
// printable characters and the usual controls (and, for ISO-8859 text,
// bytes 0xa0 and up).
func isText(d []byte, latin1 bool) bool {
	for _, c := range d {
		switch {
		case c >= 0x20 && c < 0x7f, c == '\n', c == '\r', c == '\t', c == '\f', c == '\b', c == 0x1b, c == 0x07:
		case latin1 && c >= 0xa0:
		default:
			return false
		}
	}
	return true
}

// isUTF8Text reports whether d is valid UTF-8 text with at least one
// multi-byte character and no control characters but the usual ones.
func isUTF8Text(d []byte) bool {
	multi := false
	for i := 0; i < len(d); {
		c := d[i]
		if c < 0x80 {
			if !isText(d[i:i+1], false) {
				return false
			}
			i++
			continue
		}
		n := 0
		switch {
		case c&0xe0 == 0xc0:
			n = 1
		case c&0xf0 == 0xe0:
			n = 2
		case c&0xf8 == 0xf0:
			n = 3
		default:
			return false
		}
		for j := 1; j <= n; j++ {
			if i+j >= len(d) || d[i+j]&0xc0 != 0x80 {
				return false
			}
		}
		multi = true
		i += n + 1
	}
	return multi
}
