// Package filetype detects what kind of content an object holds, with
// ClamAV's type names (CL_TYPE_*), so ClamAV signatures that target a type or
// a container type behave as in ClamAV.
package filetype

// Type is a detected file type. The zero value means "not yet detected".
//
// The non-zero constants follow the order of ClamAV 1.4's internal type
// enumeration, because ClamAV uses that order as a priority when several
// anywhere-in-the-header magic entries match: a later (greater) type wins.
type Type uint16

// The types ClamAV 1.4 knows, in its enumeration order. Any is the wildcard
// of .ftm required types and of Container:/Intermediates: constraints.
const (
	None Type = iota // not yet detected

	Any

	TextASCII // CL_TYPE_TEXT_ASCII: first of the text/binary range
	TextUTF8
	TextUTF16LE
	TextUTF16BE
	BinaryData // CL_TYPE_BINARY_DATA: last of the text/binary range

	Error
	MSEXE
	ELF
	MachO
	MachOUnibin
	PosixTar
	OldTar
	CPIOOld
	CPIOODC
	CPIONewc
	CPIOCRC
	GZ
	ZIP
	BZ
	RAR
	ARJ
	MSSZDD
	MSOLE2
	MSCAB
	MSCHM
	SIS
	ScrEnc
	Graphics
	GIF
	PNG
	JPEG
	TIFF
	RIFF
	BinHex
	TNEF
	CryptFF
	PDF
	UUEncoded
	Script
	HTMLUTF16
	RTF
	SevenZip
	SWF
	Java
	XAR
	XZ
	OOXMLWord
	OOXMLPPT
	OOXMLXL
	Internal
	HWP3
	OOXMLHWP
	PS
	Egg
	OneNote
	PythonCompiled
	LHALZH

	PartAny
	PartHFSPlus

	// From here on ClamAV's header scan prefers greater types over lesser
	// ones, and the SFX family (SFX and after) always overrides.
	MBR
	HTML
	Mail
	SFX
	ZIPSFX
	RARSFX
	SevenZipSFX
	CABSFX
	ARJSFX
	EggSFX
	NulSft
	AutoIt
	IShieldMSI
	ISO9660
	DMG
	GPT
	APM
	XDP
	XMLWord
	XMLXL
	XMLHWP
	HWPOLE2
	MHTML
	LNK
	UDF
	ALZ

	Other
	Ignored

	numTypes
)

var names = [numTypes]string{
	None:           "",
	Any:            "CL_TYPE_ANY",
	TextASCII:      "CL_TYPE_TEXT_ASCII",
	TextUTF8:       "CL_TYPE_TEXT_UTF8",
	TextUTF16LE:    "CL_TYPE_TEXT_UTF16LE",
	TextUTF16BE:    "CL_TYPE_TEXT_UTF16BE",
	BinaryData:     "CL_TYPE_BINARY_DATA",
	Error:          "CL_TYPE_ERROR",
	MSEXE:          "CL_TYPE_MSEXE",
	ELF:            "CL_TYPE_ELF",
	MachO:          "CL_TYPE_MACHO",
	MachOUnibin:    "CL_TYPE_MACHO_UNIBIN",
	PosixTar:       "CL_TYPE_POSIX_TAR",
	OldTar:         "CL_TYPE_OLD_TAR",
	CPIOOld:        "CL_TYPE_CPIO_OLD",
	CPIOODC:        "CL_TYPE_CPIO_ODC",
	CPIONewc:       "CL_TYPE_CPIO_NEWC",
	CPIOCRC:        "CL_TYPE_CPIO_CRC",
	GZ:             "CL_TYPE_GZ",
	ZIP:            "CL_TYPE_ZIP",
	BZ:             "CL_TYPE_BZ",
	RAR:            "CL_TYPE_RAR",
	ARJ:            "CL_TYPE_ARJ",
	MSSZDD:         "CL_TYPE_MSSZDD",
	MSOLE2:         "CL_TYPE_MSOLE2",
	MSCAB:          "CL_TYPE_MSCAB",
	MSCHM:          "CL_TYPE_MSCHM",
	SIS:            "CL_TYPE_SIS",
	ScrEnc:         "CL_TYPE_SCRENC",
	Graphics:       "CL_TYPE_GRAPHICS",
	GIF:            "CL_TYPE_GIF",
	PNG:            "CL_TYPE_PNG",
	JPEG:           "CL_TYPE_JPEG",
	TIFF:           "CL_TYPE_TIFF",
	RIFF:           "CL_TYPE_RIFF",
	BinHex:         "CL_TYPE_BINHEX",
	TNEF:           "CL_TYPE_TNEF",
	CryptFF:        "CL_TYPE_CRYPTFF",
	PDF:            "CL_TYPE_PDF",
	UUEncoded:      "CL_TYPE_UUENCODED",
	Script:         "CL_TYPE_SCRIPT",
	HTMLUTF16:      "CL_TYPE_HTML_UTF16",
	RTF:            "CL_TYPE_RTF",
	SevenZip:       "CL_TYPE_7Z",
	SWF:            "CL_TYPE_SWF",
	Java:           "CL_TYPE_JAVA",
	XAR:            "CL_TYPE_XAR",
	XZ:             "CL_TYPE_XZ",
	OOXMLWord:      "CL_TYPE_OOXML_WORD",
	OOXMLPPT:       "CL_TYPE_OOXML_PPT",
	OOXMLXL:        "CL_TYPE_OOXML_XL",
	Internal:       "CL_TYPE_INTERNAL",
	HWP3:           "CL_TYPE_HWP3",
	OOXMLHWP:       "CL_TYPE_OOXML_HWP",
	PS:             "CL_TYPE_PS",
	Egg:            "CL_TYPE_EGG",
	OneNote:        "CL_TYPE_ONENOTE",
	PythonCompiled: "CL_TYPE_PYTHON_COMPILED",
	LHALZH:         "CL_TYPE_LHA_LZH",
	PartAny:        "CL_TYPE_PART_ANY",
	PartHFSPlus:    "CL_TYPE_PART_HFSPLUS",
	MBR:            "CL_TYPE_MBR",
	HTML:           "CL_TYPE_HTML",
	Mail:           "CL_TYPE_MAIL",
	SFX:            "CL_TYPE_SFX",
	ZIPSFX:         "CL_TYPE_ZIPSFX",
	RARSFX:         "CL_TYPE_RARSFX",
	SevenZipSFX:    "CL_TYPE_7ZSFX",
	CABSFX:         "CL_TYPE_CABSFX",
	ARJSFX:         "CL_TYPE_ARJSFX",
	EggSFX:         "CL_TYPE_EGGSFX",
	NulSft:         "CL_TYPE_NULSFT",
	AutoIt:         "CL_TYPE_AUTOIT",
	IShieldMSI:     "CL_TYPE_ISHIELD_MSI",
	ISO9660:        "CL_TYPE_ISO9660",
	DMG:            "CL_TYPE_DMG",
	GPT:            "CL_TYPE_GPT",
	APM:            "CL_TYPE_APM",
	XDP:            "CL_TYPE_XDP",
	XMLWord:        "CL_TYPE_XML_WORD",
	XMLXL:          "CL_TYPE_XML_XL",
	XMLHWP:         "CL_TYPE_XML_HWP",
	HWPOLE2:        "CL_TYPE_HWPOLE2",
	MHTML:          "CL_TYPE_MHTML",
	LNK:            "CL_TYPE_LNK",
	UDF:            "CL_TYPE_UDF",
	ALZ:            "CL_TYPE_ALZ",
	Other:          "CL_TYPE_OTHER",
	Ignored:        "CL_TYPE_IGNORED",
}

// byName is built once from names; it is read-only afterwards.
var byName = func() map[string]Type {
	m := make(map[string]Type, len(names))
	for t, n := range names {
		if n != "" {
			m[n] = Type(t)
		}
	}
	return m
}()

// String returns ClamAV's name for t, e.g. "CL_TYPE_MSEXE"; the zero Type
// is "CL_TYPE_UNDETECTED" and an out-of-range value "CL_TYPE_<n>".
func (t Type) String() string {
	if t == None {
		return "CL_TYPE_UNDETECTED"
	}
	if t < numTypes {
		return names[t]
	}
	return "CL_TYPE_" + itoa(int(t))
}

// ByName returns the type ClamAV calls s (e.g. "CL_TYPE_ZIP"), as written in
// .ftm, .cdb and logical-signature Container:/Intermediates: fields. It
// also knows CL_TYPE_ERROR and CL_TYPE_OTHER, which ClamAV's signature
// loaders reject: a loader that wants ClamAV's strictness checks for them.
func ByName(s string) (Type, bool) {
	t, ok := byName[s]
	return t, ok
}

// Types returns every named type, in priority order.
func Types() []Type {
	out := make([]Type, 0, numTypes-1)
	for t := Any; t < numTypes; t++ {
		out = append(out, t)
	}
	return out
}

// textRange reports whether t is in ClamAV's text/binary range (the types
// the text classifier produces): only those get the header pattern scan.
func (t Type) textRange() bool { return t >= TextASCII && t <= BinaryData }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
