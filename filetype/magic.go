package filetype

import "github.com/glassav/glassav/match"

// Magic is one file-type recognition entry, built-in or from a .ftm line
// (magictype:offset:magicbytes:name:rtype:type).
//
// A literal entry (Pattern nil, Offset ≥ 0, MaxShift 0; .ftm magictype 0)
// must match Bytes exactly at Offset; literal entries are tried first, in
// order, and the first that matches decides the type. Every other entry is
// a header pattern (.ftm magictype 1): it is searched only when no literal
// entry matched and the text classifier left the header in the text/binary
// range, and among the pattern entries that match, ClamAV's priority picks
// the result (see Detector.Detect).
type Magic struct {
	// Offset is where the match starts; -1 means anywhere in the header.
	Offset int64
	// MaxShift lets a match start anywhere in [Offset, Offset+MaxShift]
	// (the .ftm "offset,maxshift" form).
	MaxShift int64
	// Bytes is the literal magic (magictype 0), used when Pattern is nil.
	Bytes []byte
	// Pattern is a body-signature pattern (magictype 1), already parsed.
	Pattern *match.Node
	// Name describes the entry ("ZIP", "PE"...), for debugging.
	Name string
	// Required is the type the header must already have for a pattern
	// entry to apply (.ftm rtype); None or Any means no requirement.
	Required Type
	// Result is the type the entry assigns.
	Result Type
}

func (m *Magic) literal() bool {
	return m.Pattern == nil && m.Offset >= 0 && m.MaxShift == 0
}

// Helpers that keep the built-in table readable.

func lit(off int64, s string, name string, t Type) Magic {
	return Magic{Offset: off, Bytes: []byte(s), Name: name, Result: t}
}

func pat(off, shift int64, n *match.Node, name string, t Type) Magic {
	return Magic{Offset: off, MaxShift: shift, Pattern: n, Name: name, Result: t}
}

func l(s string) *match.Node { return match.Lit([]byte(s)) }

// fold matches s with ASCII letters in either case.
func fold(s string) *match.Node { return &match.Node{Op: match.OpLiteral, Lit: []byte(s), Fold: true} }

func cat(ns ...*match.Node) *match.Node { return match.Cat(ns...) }

func gap(min, max int) *match.Node { return match.Gap(min, max) }

// oneOf matches one byte of bs.
func oneOf(bs ...byte) *match.Node {
	var c match.Class
	for _, b := range bs {
		c.Add(b)
	}
	return match.Cls(c)
}

// byteRange matches one byte in lo..hi.
func byteRange(lo, hi byte) *match.Node {
	var c match.Class
	c.AddRange(lo, hi)
	return match.Cls(c)
}

// headerSize is how much of an object type detection reads, as ClamAV does.
const headerSize = 1024

// builtinLiterals are the fixed-offset magic numbers, from the formats'
// published signatures.
var builtinLiterals = []Magic{
	lit(0, "MZ", "MS-DOS/PE executable", MSEXE),
	lit(0, "\x7fELF", "ELF", ELF),
	lit(0, "\xfe\xed\xfa\xce", "Mach-O 32-bit big endian", MachO),
	lit(0, "\xce\xfa\xed\xfe", "Mach-O 32-bit little endian", MachO),
	lit(0, "\xfe\xed\xfa\xcf", "Mach-O 64-bit big endian", MachO),
	lit(0, "\xcf\xfa\xed\xfe", "Mach-O 64-bit little endian", MachO),
	lit(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 compound file", MSOLE2),
	lit(0, "PK\x03\x04", "ZIP", ZIP),
	lit(0, "PK00PK\x03\x04", "ZIP (spanned marker)", ZIP),
	lit(0, "Rar!", "RAR", RAR),
	lit(0, "7z\xbc\xaf\x27\x1c", "7-Zip", SevenZip),
	lit(0, "\x1f\x8b", "gzip", GZ),
	lit(0, "BZh", "bzip2", BZ),
	lit(0, "\xfd7zXZ\x00", "xz", XZ),
	lit(257, "ustar", "POSIX tar", PosixTar),
	lit(0, "070701", "cpio newc", CPIONewc),
	lit(0, "070702", "cpio crc", CPIOCRC),
	lit(0, "070707", "cpio odc", CPIOODC),
	lit(0, "\x71\xc7", "cpio old binary big endian", CPIOOld),
	lit(0, "\xc7\x71", "cpio old binary little endian", CPIOOld),
	lit(0, "\x60\xea", "ARJ", ARJ),
	lit(0, "MSCF\x00\x00\x00\x00", "Microsoft cabinet", MSCAB),
	lit(0, "ITSF", "Microsoft CHM", MSCHM),
	lit(0, "SZDD", "MS compress.exe (SZDD)", MSSZDD),
	lit(0, "%PDF-", "PDF", PDF),
	lit(0, "{\\rt", "RTF", RTF),
	lit(0, "FWS", "SWF", SWF),
	lit(0, "CWS", "SWF (zlib)", SWF),
	lit(0, "ZWS", "SWF (LZMA)", SWF),
	lit(0, "\x89PNG", "PNG", PNG),
	lit(0, "GIF", "GIF", GIF),
	lit(0, "\xff\xd8\xff", "JPEG", JPEG),
	lit(0, "II*\x00", "TIFF little endian", TIFF),
	// ClamAV checks only "MM" for big-endian TIFF (so text starting "MM" is
	// TIFF to it); the full magic is "MM\x00*". Keep ClamAV's view.
	lit(0, "MM", "TIFF big endian", TIFF),
	lit(0, "BM", "BMP", Graphics),
	lit(0, "\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000", Graphics),
	lit(0, "RIFF", "RIFF", RIFF),
	lit(0, "RIFX", "RIFX", RIFF),
	lit(0, "(This file must be converted with BinHex", "BinHex", BinHex),
	lit(0, "\x78\x9f\x3e\x22", "TNEF", TNEF),
	lit(0, "#@~^", "Windows Script Encoder", ScrEnc),
	lit(0, "%!PS-Adobe-", "PostScript", PS),
	lit(0, "L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46", "Windows shortcut", LNK),
	lit(0, "EGGA", "EGG archive", Egg),
	lit(0, "xar!", "XAR", XAR),
	lit(0, "\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d\xae\xb1\x53\x78\xd0\x29\x96\xd3", "OneNote", OneNote),
	lit(0, "ALZ\x01", "ALZ archive", ALZ),
	lit(512, "EFI PART", "GPT disk image", GPT),
	lit(0, "HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05", "HWP 3", HWP3),
	lit(0, "\xb6\xb9\xac\xae\xfe\xff\xff\xff", "CryptFF", CryptFF),
	lit(0, "begin ", "uuencoded", UUEncoded),
	// ClamAV 1.4 types a file starting "[aliases]" as POSIX tar (an entry
	// added for CVE-2012-1419 shadows its mIRC-script one); keep that.
	lit(0, "[aliases]", "mIRC script / tar workaround", PosixTar),
	lit(0, "ID3", "MP3", Ignored),
	lit(0, "OggS", "Ogg", Ignored),
	lit(0, ".RMF", "RealMedia", Ignored),
	lit(0, "SQLite format 3\x00", "SQLite", Ignored),
	lit(0, "\x00\x00\x01\xb3", "MPEG video", BinaryData),
	lit(0, "\x00\x00\x01\xba", "MPEG system stream", BinaryData),

	// Messages and mailboxes, recognised by a header field at the start.
	lit(0, "From ", "mbox", Mail),
	lit(0, ">From ", "mbox", Mail),
	lit(0, "From: ", "mail", Mail),
	lit(0, "Received: ", "mail", Mail),
	lit(0, "Received-SPF: ", "mail", Mail),
	lit(0, "Return-Path: ", "mail", Mail),
	lit(0, "Return-path: ", "mail", Mail),
	lit(0, "Delivered-To: ", "mail", Mail),
	lit(0, "Delivery-date: ", "mail", Mail),
	lit(0, "Envelope-to: ", "mail", Mail),
	lit(0, "Message-ID: ", "mail", Mail),
	lit(0, "Message-Id: ", "mail", Mail),
	lit(0, "Subject: ", "mail", Mail),
	lit(0, "To: ", "mail", Mail),
	lit(0, "Date: ", "mail", Mail),
	lit(0, "For: ", "mail", Mail),
	lit(0, "X-Apparently-To: ", "mail", Mail),
	lit(0, "X-Envelope-From: ", "mail", Mail),
	lit(0, "X-Original-To: ", "mail", Mail),
	lit(0, "X-Real-To: ", "mail", Mail),
	lit(0, "X-Sieve: ", "mail", Mail),
	lit(0, "X-UIDL: ", "mail", Mail),
	lit(0, "X-EVS", "mail", Mail),
	lit(0, "X-Symantec-", "mail", Mail),
	lit(0, "v:\nReceived: ", "VPOP3 mail", Mail),
	lit(0, "v:\r\nReceived: ", "VPOP3 mail", Mail),
	lit(0, "Hi. This is the qmail-send", "qmail bounce", Mail),
}

// htmlTags are the markup openings that make a text header HTML.
var htmlTags = []string{"<html>", "<head>", "<script", "<iframe", "<img", "<object", "<table"}

// field matches a mail header name at the start of a line, in any case.
func field(s string) *match.Node { return cat(l("\n"), fold(s)) }

// builtinPatterns are searched in text-range headers only. Results in the
// SFX range (and PE) override earlier ones, others win by priority.
var builtinPatterns = func() []Magic {
	var ps []Magic
	for _, t := range htmlTags {
		ps = append(ps, pat(-1, 0, fold(t), "HTML", HTML))
	}
	ps = append(ps,
		pat(-1, 0, cat(fold("<a "), gap(0, -1), fold("href")), "HTML", HTML),
		pat(0, 0, l("<%@ LANGUAGE ="), "ASP", HTML),

		// Embedded or prefixed executables and self-extracting archives.
		pat(-1, 0, cat(l("MZ"), gap(60, 300), l("PE\x00\x00")), "PE", MSEXE),
		pat(-1, 0, l("PK\x03\x04"), "ZIP-SFX", ZIPSFX),
		pat(-1, 0, l("Rar!\x1a\x07\x00"), "RAR-SFX", RARSFX),
		pat(-1, 0, l("7z\xbc\xaf\x27\x1c"), "7-Zip SFX", SevenZipSFX),
		pat(-1, 0, l("MSCF\x00\x00\x00\x00"), "CAB-SFX", CABSFX),
		pat(-1, 0, cat(l("\x60\xea"), gap(7, 7), oneOf(0, 1, 2), l("\x02")), "ARJ-SFX", ARJSFX),
		pat(-1, 0, l("\xef\xbe\xad\xdeNullsoftInst"), "NSIS", NulSft),
		pat(-1, 0, cat(l("\xa3\x48\x4b\xbe\x98\x6c\x4a\xa9\x99\x4c\x53\x0a\x86\xd6\x48\x7dAU3!EA0"), oneOf('5', '6')), "AutoIt", AutoIt),

		// Documents whose magic may follow some junk.
		pat(-1, 0, cat(l("%PDF-"), gap(1, 1), l(".")), "PDF", PDF),
		pat(-1, 0, cat(l("%pdf-"), gap(1, 1), l(".")), "PDF", PDF),
		pat(-1, 0, l("<xdp:xdp"), "XDP", XDP),
		pat(0, 0, cat(l(`<?xml version="1.0"`), gap(0, 1024), l("<"), gap(0, 3), l("Workbook")), "Excel 2003 XML", XMLXL),
		pat(0, 0, cat(l(`<?xml version="1.0"`), gap(0, 1024), l("<"), gap(0, 3), l("wordDocument")), "Word 2003 XML", XMLWord),
		pat(0, 0, cat(l(`<?xml version="1.0"`), gap(0, 1024), l(`progid="Word.Document"?>`)), "Word 2003 XML", XMLWord),

		// Mail that does not start with a header field ClamAV knows.
		pat(0, 1024, cat(field("from: "), gap(0, 1024), field("mime-version: ")), "mail", Mail),
		pat(0, 1024, cat(field("from: "), gap(0, 2048), field("content-type: ")), "mail", Mail),
		pat(0, 1024, cat(field("mime-version: "), gap(0, 2048), field("content-type: ")), "mail", Mail),
		pat(0, 1024, cat(field("message-id: "), gap(0, 1024), field("content-type: ")), "mail", Mail),
		pat(0, 2048, cat(field("received: "), gap(0, 2048), field("content-type: ")), "mail", Mail),
		pat(0, 1024, cat(l("Delivered-To:"), gap(0, 256), l("Received:")), "mail", Mail),
		pat(0, 0, cat(fold("mime-version: "), gap(0, 1024), l("\n"), fold("content-type: ")), "MHTML", MHTML),

		// Java classes and Mach-O universal binaries share 0xCAFEBABE: a
		// small architecture count is a universal binary, a class file
		// version (major 45-63, minor 0) is Java.
		pat(0, 0, cat(l("\xca\xfe\xba\xbe\x00\x00\x00"), byteRange(0x00, 0x1f)), "Mach-O universal", MachOUnibin),
		pat(0, 0, cat(l("\xca\xfe\xba\xbe\x00\x00\x00"), byteRange(0x20, 0x3f)), "Java class", Java),

		pat(0, 0, cat(gap(1, 1), l("\r\r\n")), "Python 3.7+ bytecode", PythonCompiled),
		pat(2, 0, cat(l("-lh"), oneOf('0', '1', '2', '3', '4', '5', '6', '7', 'd', 'x'), l("-")), "LHA", LHALZH),
		pat(2, 0, cat(l("-lz"), oneOf('s', '4', '5'), l("-")), "LHA", LHALZH),
		pat(2, 0, l("-pm0-"), "LHA (PMarc)", LHALZH),
		pat(8, 4, l("\x19\x04\x00\x10"), "SIS", SIS),
	)
	return ps
}()
