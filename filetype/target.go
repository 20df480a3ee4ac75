package filetype

// The target types of .ndb and .ldb signatures (ClamAV's matcher roots).
const (
	TargetAny      = 0
	TargetPE       = 1
	TargetOLE2     = 2
	TargetHTML     = 3
	TargetMail     = 4
	TargetGraphics = 5
	TargetELF      = 6
	TargetASCII    = 7
	TargetUnused   = 8
	TargetMachO    = 9
	TargetPDF      = 10
	TargetFlash    = 11
	TargetJava     = 12
	TargetInternal = 13
	TargetOther    = 14
)

// MatchesTarget reports whether an object of type t is matched by signatures
// of the given target type, as in ClamAV 1.4:
//
//   - 0 matches everything;
//   - 1 (PE) is CL_TYPE_MSEXE, which covers PE32 and PE32+ alike (ClamAV
//     resolves EP/section offsets for both);
//   - 3 (HTML) is CL_TYPE_HTML and CL_TYPE_HTML_UTF16 (the latter is decoded
//     and normalised before target-3 matching);
//   - 5 (graphics) is CL_TYPE_GRAPHICS and the types ClamAV 1.4 reports for
//     images it recognises more precisely (GIF, PNG, JPEG, TIFF): a target-5
//     signature fires on a PNG (checked against clamscan 1.4.6);
//   - 7 (ASCII) is every text type: ClamAV decodes UTF-16 (and UTF-8) text and
//     matches target-7 signatures on the normalised result (checked: a
//     target-7 signature fires on UTF-16LE text);
//   - 9 (Mach-O) is CL_TYPE_MACHO and CL_TYPE_MACHO_UNIBIN;
//   - 8 matches nothing; 13 is CL_TYPE_INTERNAL; 14 is CL_TYPE_OTHER, which no
//     detection produces.
//
// Targets 3 and 7 are matched by ClamAV on normalised content, not the raw
// bytes: see NeedsNormalisation.
func MatchesTarget(t Type, target uint8) bool {
	switch target {
	case TargetAny:
		return true
	case TargetPE:
		return t == MSEXE
	case TargetOLE2:
		return t == MSOLE2
	case TargetHTML:
		return t == HTML || t == HTMLUTF16
	case TargetMail:
		return t == Mail
	case TargetGraphics:
		return t == Graphics || t == GIF || t == PNG || t == JPEG || t == TIFF
	case TargetELF:
		return t == ELF
	case TargetASCII:
		return t == TextASCII || t == TextUTF8 || t == TextUTF16LE || t == TextUTF16BE
	case TargetMachO:
		return t == MachO || t == MachOUnibin
	case TargetPDF:
		return t == PDF
	case TargetFlash:
		return t == SWF
	case TargetJava:
		return t == Java
	case TargetInternal:
		return t == Internal
	case TargetOther:
		return t == Other
	}
	return false
}

// NeedsNormalisation reports whether ClamAV matches signatures of target on
// a normalised view of the object rather than its raw bytes: HTML (3) on the
// HTML normaliser's output and ASCII text (7) on lower-cased,
// whitespace-squeezed text. Raw ASCII text is scanned by ClamAV with the
// generic (target 0) signatures only.
//
// Mail (4) is not among them: clamscan 1.4.6 fires a target-4 signature on
// the raw, upper-case bytes of a message (the decoded parts are scanned
// again as children, which is the mail parser's business).
func NeedsNormalisation(target uint8) bool {
	return target == TargetHTML || target == TargetASCII
}

// TargetName returns ClamAV's name of a matcher root, e.g. "PE" for 1.
func TargetName(target uint8) string {
	if int(target) < len(targetNames) {
		return targetNames[target]
	}
	return ""
}

var targetNames = [...]string{"GENERIC", "PE", "OLE2", "HTML", "MAIL", "GRAPHICS", "ELF", "ASCII",
	"NOT USED", "MACH-O", "PDF", "FLASH", "JAVA", "INTERNAL", "OTHER"}
