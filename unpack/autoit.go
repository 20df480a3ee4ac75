package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/glassav/glassav/filetype"
)

// autoitFormat opens compiled AutoIt v3 scripts: the resources a compiled
// script (an .exe from Aut2Exe, or a bare .a3x) carries after a 16-byte
// marker and "AU3!EA05" or "AU3!EA06". Each resource is the script itself
// or a file the script installs with FileInstall; ClamAV extracts all of
// them and so does this format.
//
// The two versions differ in their ciphers and constants but share a
// layout: after the marker and 16 bytes of checksum come records, each an
// encrypted "FILE" tag, a length-prefixed encrypted tag string (">>>AUTOIT
// SCRIPT<<<" for the script), a length-prefixed encrypted original file
// name, a compression flag, the packed size, the unpacked size, a checksum
// and 16 bytes of file times, then the encrypted data. EA05 encrypts with
// a Mersenne Twister keystream (one byte per output word, shifted right by
// one), EA06 with a lagged-Fibonacci generator whose output goes through a
// double in [0,1). Compressed data ("EA05"/"EA06" and a big-endian size)
// is a simple LZ77 with a 32 KiB window read MSB-first from 16-bit words.
// An EA06 script is tokenised; like ClamAV the format turns the tokens
// back into source text, so text signatures match the script as written.
func autoitFormat() *Format {
	return &Format{
		Name:   "autoit",
		Types:  []filetype.Type{filetype.AutoIt},
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return bytes.Contains(data, autoitMarker) },
		Unpack: unpackAutoIt,
	}
}

// autoitMarker precedes "5" or "6" (EA05, EA06).
var autoitMarker = []byte("\xa3\x48\x4b\xbe\x98\x6c\x4a\xa9\x99\x4c\x53\x0a\x86\xd6\x48\x7dAU3!EA0")

// autoitVersion holds what differs between EA05 and EA06.
type autoitVersion struct {
	name     string
	fileTag  uint32 // the encrypted "FILE" tag
	wide     bool   // strings are UTF-16LE: lengths count characters
	tagKey   uint32 // tag string length key and cipher seed offset
	tagSeed  uint32
	nameKey  uint32 // file name length key and cipher seed offset
	nameSeed uint32
	sizeKey  uint32 // packed and unpacked sizes
	dataSeed uint32 // data cipher seed
	sumSeed  bool   // the data seed adds the header's byte sum (EA05)
	magic    string // compressed-stream magic
	literal  uint32 // the flag bit value that announces a literal byte
	decrypt  func(b []byte, seed uint32)
}

// autoitVersionOf returns the constants of version c ('5' or '6'), or nil.
func autoitVersionOf(c byte) *autoitVersion {
	switch c {
	case '5':
		return &autoitVersion{name: "EA05", fileTag: 0xceb06dff, tagKey: 0x29bc, tagSeed: 0xa25e,
			nameKey: 0x29ac, nameSeed: 0xf25e, sizeKey: 0x45aa, dataSeed: 0x22af, sumSeed: true,
			magic: "EA05", literal: 0, decrypt: mtDecrypt}
	case '6':
		return &autoitVersion{name: "EA06", fileTag: 0x52ca436b, wide: true, tagKey: 0xadbc, tagSeed: 0xb33f,
			nameKey: 0xf820, nameSeed: 0xf479, sizeKey: 0x87bc, dataSeed: 0x2477,
			magic: "EA06", literal: 1, decrypt: lameDecrypt}
	}
	return nil
}

// autoitScriptTag marks the record that holds the script.
const autoitScriptTag = ">>>AUTOIT SCRIPT<<<"

func unpackAutoIt(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	i := bytes.Index(data, autoitMarker)
	if i < 0 {
		return Corrupt("autoit", -1, "no AutoIt marker")
	}
	off := i + len(autoitMarker)
	if off >= len(data) {
		return Corrupt("autoit", int64(off), "truncated after the marker")
	}
	v := autoitVersionOf(data[off])
	if v == nil {
		return Corrupt("autoit", int64(off), "unknown version EA0%c", data[off])
	}
	return autoitRecords(ctx, data, off+1, v, b, emit)
}

// autoitRecords extracts the records that start 16 bytes after pos. The
// end of the records is the first place without a FILE tag; a record that
// runs past the data is reported as truncation.
func autoitRecords(ctx context.Context, data []byte, pos int, v *autoitVersion, b *Budget, emit func(Member) error) error {
	le := binary.LittleEndian
	if len(data)-pos < 16 {
		return Corrupt("autoit", int64(pos), "%s: truncated header", v.name)
	}
	var sum uint32
	for _, c := range data[pos : pos+16] {
		sum += uint32(c)
	}
	if v.sumSeed {
		// EA05 keys the data cipher with the header's byte sum; EA06's
		// author meant to and did not.
		v.dataSeed += sum
	}
	p := pos + 16
	n := 0
	// A damaged compressed record is scanned as far as it decoded, as
	// ClamAV does, and the records after it too; its error is returned at
	// the end.
	var damaged error
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if len(data)-p < 8 || le.Uint32(data[p:]) != v.fileTag {
			return damaged // no further record
		}
		start := p
		tagLen := le.Uint32(data[p+4:]) ^ v.tagKey
		tag, np, ok := autoitString(data, p+8, tagLen, v, v.tagSeed)
		if !ok {
			return Corrupt("autoit", int64(start), "%s: record tag runs past the data", v.name)
		}
		if len(data)-np < 4 {
			return Corrupt("autoit", int64(np), "%s: truncated record", v.name)
		}
		nameLen := le.Uint32(data[np:]) ^ v.nameKey
		name, np2, ok := autoitString(data, np+4, nameLen, v, v.nameSeed)
		if !ok {
			return Corrupt("autoit", int64(np), "%s: file name runs past the data", v.name)
		}
		p = np2
		if len(data)-p < 13+16 {
			return Corrupt("autoit", int64(p), "%s: truncated record header", v.name)
		}
		compressed := data[p] == 1
		packed := le.Uint32(data[p+1:]) ^ v.sizeKey
		p += 13 + 16
		if int32(packed) < 0 {
			return Corrupt("autoit", int64(p-29), "%s: bad packed size %#x", v.name, packed)
		}
		if packed == 0 {
			continue
		}
		if uint64(packed) > uint64(len(data)-p) {
			return Corrupt("autoit", int64(p), "%s: record of %d bytes runs past the data (%d left)", v.name, packed, len(data)-p)
		}
		raw := bytes.Clone(data[p : p+int(packed)])
		p += int(packed)
		v.decrypt(raw, v.dataSeed)
		n++
		script := tag == autoitScriptTag
		m := Member{Name: autoitMemberName(name, script, n), Offset: -1}
		if !compressed {
			if script && v.wide {
				raw = autoitDecompile(raw, b.Limits().MaxFileSize)
			}
			if err := emitStored(b, raw, m, emit); err != nil {
				return err
			}
			continue
		}
		if len(raw) < 8 || string(raw[:4]) != v.magic {
			// ClamAV skips such a record and goes on with the next.
			continue
		}
		out, derr := autoitInflate(ctx, b, raw, v.literal)
		if out == nil && derr != nil {
			return derr
		}
		if script && v.wide {
			out = autoitDecompile(out, b.Limits().MaxFileSize)
		}
		if len(out) >= 4 {
			if err := emitStored(b, out, m, emit); err != nil {
				return err
			}
		}
		if derr != nil {
			if _, ok := IsLimit(derr); ok {
				return derr
			}
			if damaged == nil {
				damaged = Corrupt("autoit", int64(start), "%s: %v", v.name, derr)
			}
		}
	}
}

// autoitString decrypts a length-prefixed string of n characters at p and
// returns it as text, with the position after it. Wide strings take two
// bytes a character. Strings longer than a path are skipped undecoded.
func autoitString(data []byte, p int, n uint32, v *autoitVersion, seed uint32) (string, int, bool) {
	size := uint64(n)
	if v.wide {
		size *= 2
	}
	if size > uint64(len(data)-p) {
		return "", p, false
	}
	end := p + int(size)
	if n > 4096 {
		return "", end, true
	}
	s := bytes.Clone(data[p:end])
	v.decrypt(s, n+seed)
	if v.wide {
		s = autoitU2A(s)[:n]
	}
	return string(s), end, true
}

// autoitU2A narrows UTF-16LE text to its low bytes as ClamAV does when the
// text looks like UTF-16 (at least a quarter of its first ten characters
// are a non-zero byte and a zero byte); other text is returned as it is.
// The result is never shorter than len(b)/2.
func autoitU2A(b []byte) []byte {
	if len(b) < 2 {
		return b
	}
	j, wide := min(len(b), 20)&^1, 0
	for i := 0; i < j; i += 2 {
		if b[i] != 0 && b[i+1] == 0 {
			wide++
		}
	}
	if wide*4 < j {
		return b
	}
	out := make([]byte, len(b)/2)
	for i := range out {
		out[i] = b[2*i]
	}
	return out
}

// autoitMemberName is the original file name when it is printable text,
// else a name of ClamAV's form (autoit.001).
func autoitMemberName(name string, script bool, n int) string {
	printable := name != ""
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] >= 0x7f {
			printable = false
			break
		}
	}
	switch {
	case printable:
		return name
	case script:
		return "script.au3"
	}
	return fmt.Sprintf("autoit.%03d", n)
}

// autoitInflate decodes a compressed record: the magic, the unpacked size
// (big-endian), then the LZ77 bit stream. A flag bit equal to literal is
// followed by a literal byte, the other value by a 15-bit distance and a
// length of 3 or more in a growing code (2, 3, 5, 8 bits, then bytes of
// 255 while they last). Output stops at the stated size; an error ends it
// early and returns what was decoded with the error.
func autoitInflate(ctx context.Context, b *Budget, raw []byte, literal uint32) ([]byte, error) {
	size := int64(binary.BigEndian.Uint32(raw[4:8]))
	if size == 0 {
		size = int64(len(raw))
	}
	l := b.Limits()
	if size > l.MaxFileSize {
		return nil, b.Fail(LimitFileSize, l.MaxFileSize)
	}
	if size > int64(len(raw))*l.MaxRatio && size > l.RatioFloor {
		return nil, b.Fail(LimitRatio, l.MaxRatio)
	}
	out := make([]byte, 0, size)
	r := autoitBits{in: raw, pos: 8}
	for int64(len(out)) < size {
		if len(out)&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return out, err
			}
		}
		if r.get(1) == literal {
			c := r.get(8)
			if r.err {
				break
			}
			out = append(out, byte(c))
			continue
		}
		dist := int(r.get(15))
		n, add := r.get(2), uint32(0)
		if n == 3 {
			add = 3
			if n = r.get(3); n == 7 {
				add = 10
				if n = r.get(5); n == 31 {
					add = 41
					if n = r.get(8); n == 255 {
						add = 296
						for n = r.get(8); n == 255 && !r.err; n = r.get(8) {
							add += 255
						}
					}
				}
			}
		}
		if r.err {
			break
		}
		length := int64(n) + 3 + int64(add)
		if dist == 0 || dist > len(out) || int64(len(out))+length > size {
			// (A distance of 0 would copy bytes not yet written: ClamAV
			// copies whatever its buffer held; here it is an error.)
			return out, fmt.Errorf("back-reference of %d bytes at distance %d out of the output (%d of %d bytes)", length, dist, len(out), size)
		}
		from := len(out) - dist
		for k := int64(0); k < length; k++ {
			out = append(out, out[from+int(k)])
		}
	}
	if r.err {
		return out, fmt.Errorf("compressed stream ends after %d of %d bytes", len(out), size)
	}
	return out, nil
}

// autoitBits reads bits MSB-first from big-endian 16-bit words.
type autoitBits struct {
	in    []byte
	pos   int
	word  uint32
	avail uint
	err   bool
}

func (r *autoitBits) get(n uint) uint32 {
	var v uint32
	for ; n > 0; n-- {
		if r.avail == 0 {
			if len(r.in)-r.pos < 2 {
				r.err = true
				return 0
			}
			r.word = uint32(r.in[r.pos])<<8 | uint32(r.in[r.pos+1])
			r.pos += 2
			r.avail = 16
		}
		r.avail--
		v = v<<1 | (r.word>>r.avail)&1
	}
	return v
}

// mtDecrypt XORs b with EA05's keystream: MT19937 seeded with seed, each
// 32-bit output shifted right by one and truncated to a byte.
func mtDecrypt(b []byte, seed uint32) {
	var mt [624]uint32
	mt[0] = seed
	for i := 1; i < 624; i++ {
		mt[i] = uint32(i) + 0x6c078965*(mt[i-1]^mt[i-1]>>30)
	}
	next := 624
	for k := range b {
		if next == 624 {
			for i := 0; i < 624; i++ {
				y := mt[i]&0x80000000 | mt[(i+1)%624]&0x7fffffff
				v := mt[(i+397)%624] ^ y>>1
				if y&1 != 0 {
					v ^= 0x9908b0df
				}
				mt[i] = v
			}
			next = 0
		}
		y := mt[next]
		next++
		y ^= y >> 11
		y ^= y << 7 & 0x9d2c5680
		y ^= y << 15 & 0xefc60000
		y ^= y >> 18
		b[k] ^= byte(y >> 1)
	}
}

// lameDecrypt XORs b with EA06's keystream: a lagged-Fibonacci generator of
// 17 words with rotations, each step's word made into a double in [0,1)
// from its bits; every other step's double times 256 is the key byte.
func lameDecrypt(b []byte, seed uint32) {
	var g lame
	g.seed(seed & 0xffff)
	for k := range b {
		g.step()
		x := g.step() * 256
		c := byte(0xff)
		if int32(x) < 256 {
			c = byte(int32(x))
		}
		b[k] ^= c
	}
}

type lame struct {
	c0, c1 int
	w      [17]uint32
}

func (l *lame) seed(s uint32) {
	for i := range l.w {
		s = 1 - s*0x53a9b4fb
		l.w[i] = s
	}
	l.c0, l.c1 = 0, 10
	for range 9 {
		l.step()
	}
}

func (l *lame) step() float64 {
	r := bits.RotateLeft32(l.w[l.c0], 9) + bits.RotateLeft32(l.w[l.c1], 13)
	l.w[l.c0] = r
	if l.c0--; l.c0 < 0 {
		l.c0 = 16
	}
	if l.c1--; l.c1 < 0 {
		l.c1 = 16
	}
	return math.Float64frombits(uint64(0x3ff00000|r>>12)<<32|uint64(r<<20)) - 1
}

// autoitFunctionNames are AutoIt's built-in functions in the numbering of
// EA06 scripts (alphabetical, with the numbers AutoIt no longer uses left
// as UNKNOWN_n).
const autoitFunctionNames = `
ABS ACOS ADLIBREGISTER ADLIBUNREGISTER ASC ASCW ASIN ASSIGN ATAN AUTOITSETOPTION AUTOITWINGETTITLE
AUTOITWINSETTITLE BEEP BINARY BINARYLEN BINARYMID BINARYTOSTRING BITAND BITNOT BITOR BITROTATE
BITSHIFT BITXOR BLOCKINPUT BREAK CALL CDTRAY CEILING CHR CHRW CLIPGET CLIPPUT CONSOLEREAD
CONSOLEWRITE CONSOLEWRITEERROR CONTROLCLICK CONTROLCOMMAND CONTROLDISABLE CONTROLENABLE CONTROLFOCUS
CONTROLGETFOCUS CONTROLGETHANDLE CONTROLGETPOS CONTROLGETTEXT CONTROLHIDE CONTROLLISTVIEW
CONTROLMOVE CONTROLSEND CONTROLSETTEXT CONTROLSHOW CONTROLTREEVIEW COS DEC DIRCOPY DIRCREATE
DIRGETSIZE DIRMOVE DIRREMOVE DLLCALL DLLCALLADDRESS DLLCALLBACKFREE DLLCALLBACKGETPTR
DLLCALLBACKREGISTER DLLCLOSE DLLOPEN DLLSTRUCTCREATE DLLSTRUCTGETDATA DLLSTRUCTGETPTR
DLLSTRUCTGETSIZE DLLSTRUCTSETDATA DRIVEGETDRIVE DRIVEGETFILESYSTEM DRIVEGETLABEL DRIVEGETSERIAL
DRIVEGETTYPE DRIVEMAPADD DRIVEMAPDEL DRIVEMAPGET DRIVESETLABEL DRIVESPACEFREE DRIVESPACETOTAL
DRIVESTATUS ENVGET ENVSET ENVUPDATE EVAL EXECUTE EXP FILECHANGEDIR UNKNOWN_89 FILECLOSE FILECOPY
FILECREATENTFSLINK FILECREATESHORTCUT FILEDELETE FILEEXISTS FILEFINDFIRSTFILE FILEFINDNEXTFILE
FILEFLUSH FILEGETATTRIB FILEGETENCODING FILEGETLONGNAME FILEGETPOS FILEGETSHORTCUT FILEGETSHORTNAME
FILEGETSIZE FILEGETTIME FILEGETVERSION FILEINSTALL FILEMOVE FILEOPEN FILEOPENDIALOG FILEREAD
FILEREADLINE FILEREADTOARRAY FILERECYCLE FILERECYCLEEMPTY FILESAVEDIALOG FILESELECTFOLDER
FILESETATTRIB FILESETEND FILESETPOS FILESETTIME FILEWRITE FILEWRITELINE FLOOR FTPSETPROXY FUNCNAME
GUICREATE GUICTRLCREATEAVI GUICTRLCREATEBUTTON GUICTRLCREATECHECKBOX GUICTRLCREATECOMBO
GUICTRLCREATECONTEXTMENU GUICTRLCREATEDATE GUICTRLCREATEDUMMY GUICTRLCREATEEDIT GUICTRLCREATEGRAPHIC
GUICTRLCREATEGROUP GUICTRLCREATEICON GUICTRLCREATEINPUT GUICTRLCREATELABEL GUICTRLCREATELIST
GUICTRLCREATELISTVIEW GUICTRLCREATELISTVIEWITEM GUICTRLCREATEMENU GUICTRLCREATEMENUITEM
GUICTRLCREATEMONTHCAL GUICTRLCREATEOBJ GUICTRLCREATEPIC GUICTRLCREATEPROGRESS GUICTRLCREATERADIO
GUICTRLCREATESLIDER GUICTRLCREATETAB GUICTRLCREATETABITEM GUICTRLCREATETREEVIEW
GUICTRLCREATETREEVIEWITEM GUICTRLCREATEUPDOWN GUICTRLDELETE GUICTRLGETHANDLE GUICTRLGETSTATE
GUICTRLREAD GUICTRLRECVMSG GUICTRLREGISTERLISTVIEWSORT GUICTRLSENDMSG GUICTRLSENDTODUMMY
GUICTRLSETBKCOLOR GUICTRLSETCOLOR GUICTRLSETCURSOR GUICTRLSETDATA GUICTRLSETDEFBKCOLOR
GUICTRLSETDEFCOLOR GUICTRLSETFONT GUICTRLSETGRAPHIC GUICTRLSETIMAGE GUICTRLSETLIMIT
GUICTRLSETONEVENT GUICTRLSETPOS GUICTRLSETRESIZING GUICTRLSETSTATE GUICTRLSETSTYLE GUICTRLSETTIP
GUIDELETE GUIGETCURSORINFO GUIGETMSG GUIGETSTYLE GUIREGISTERMSG GUISETACCELERATORS GUISETBKCOLOR
GUISETCOORD GUISETCURSOR GUISETFONT GUISETHELP GUISETICON GUISETONEVENT GUISETSTATE GUISETSTYLE
GUISTARTGROUP GUISWITCH HEX HOTKEYSET HTTPSETPROXY HTTPSETUSERAGENT HWND INETCLOSE INETGET
INETGETINFO INETGETSIZE INETREAD INIDELETE INIREAD INIREADSECTION INIREADSECTIONNAMES
INIRENAMESECTION INIWRITE INIWRITESECTION INPUTBOX INT ISADMIN ISARRAY ISBINARY ISBOOL ISDECLARED
ISDLLSTRUCT ISFLOAT ISFUNC ISHWND ISINT ISKEYWORD UNKNOWN_229 ISNUMBER ISOBJ ISPTR ISSTRING LOG
MEMGETSTATS UNKNOWN_235 UNKNOWN_236 UNKNOWN_237 UNKNOWN_238 MOD MOUSECLICK MOUSECLICKDRAG MOUSEDOWN
MOUSEGETCURSOR MOUSEGETPOS MOUSEMOVE MOUSEUP MOUSEWHEEL MSGBOX NUMBER OBJCREATE OBJCREATEINTERFACE
OBJEVENT OBJGET OBJNAME ONAUTOITEXITREGISTER ONAUTOITEXITUNREGISTER OPT PING PIXELCHECKSUM
PIXELGETCOLOR PIXELSEARCH PROCESSCLOSE PROCESSEXISTS PROCESSGETSTATS PROCESSLIST PROCESSSETPRIORITY
PROCESSWAIT PROCESSWAITCLOSE PROGRESSOFF PROGRESSON PROGRESSSET PTR RANDOM REGDELETE REGENUMKEY
REGENUMVAL REGREAD REGWRITE ROUND RUN RUNAS RUNASWAIT RUNWAIT SEND SENDKEEPACTIVE SETERROR
SETEXTENDED SHELLEXECUTE SHELLEXECUTEWAIT SHUTDOWN SIN SLEEP SOUNDPLAY SOUNDSETWAVEVOLUME
SPLASHIMAGEON SPLASHOFF SPLASHTEXTON SQRT SRANDOM STATUSBARGETTEXT STDERRREAD STDINWRITE STDIOCLOSE
STDOUTREAD STRING STRINGADDCR STRINGCOMPARE STRINGFORMAT STRINGFROMASCIIARRAY STRINGINSTR
STRINGISALNUM STRINGISALPHA STRINGISASCII STRINGISDIGIT STRINGISFLOAT STRINGISINT STRINGISLOWER
STRINGISSPACE STRINGISUPPER STRINGISXDIGIT STRINGLEFT STRINGLEN STRINGLOWER STRINGMID STRINGREGEXP
STRINGREGEXPREPLACE STRINGREPLACE STRINGREVERSE STRINGRIGHT STRINGSPLIT STRINGSTRIPCR STRINGSTRIPWS
STRINGTOASCIIARRAY STRINGTOBINARY STRINGTRIMLEFT STRINGTRIMRIGHT STRINGUPPER TAN TCPACCEPT
TCPCLOSESOCKET TCPCONNECT TCPLISTEN TCPNAMETOIP TCPRECV TCPSEND TCPSHUTDOWN TCPSTARTUP TIMERDIFF
TIMERINIT TOOLTIP TRAYCREATEITEM TRAYCREATEMENU TRAYGETMSG TRAYITEMDELETE TRAYITEMGETHANDLE
TRAYITEMGETSTATE TRAYITEMGETTEXT TRAYITEMSETONEVENT TRAYITEMSETSTATE TRAYITEMSETTEXT TRAYSETCLICK
TRAYSETICON TRAYSETONEVENT TRAYSETPAUSEICON TRAYSETSTATE TRAYSETTOOLTIP TRAYTIP UBOUND UDPBIND
UDPCLOSESOCKET UDPOPEN UDPRECV UDPSEND UNKNOWN_375 UNKNOWN_376 VARGETTYPE WINACTIVATE WINACTIVE
WINCLOSE WINEXISTS WINFLASH WINGETCARETPOS WINGETCLASSLIST WINGETCLIENTSIZE WINGETHANDLE WINGETPOS
WINGETPROCESS WINGETSTATE WINGETTEXT WINGETTITLE WINKILL WINLIST WINMENUSELECTITEM WINMINIMIZEALL
WINMINIMIZEALLUNDO WINMOVE WINSETONTOP WINSETSTATE WINSETTITLE WINSETTRANS WINWAIT WINWAITACTIVE
WINWAITCLOSE WINWAITNOTACTIVE
`

// AutoIt script tokens: the keywords an EA06 script names by number, and
// the operators by opcode.
var (
	autoitKeywords = []string{"UNKNOWN_0", "AND", "OR", "NOT", "IF", "THEN", "ELSE", "ELSEIF", "ENDIF",
		"WHILE", "WEND", "DO", "UNTIL", "FOR", "NEXT", "TO", "STEP", "IN", "EXITLOOP", "CONTINUELOOP",
		"SELECT", "CASE", "ENDSELECT", "SWITCH", "ENDSWITCH", "CONTINUECASE", "DIM", "REDIM", "LOCAL",
		"GLOBAL", "CONST", "STATIC", "FUNC", "ENDFUNC", "RETURN", "EXIT", "BYREF", "WITH", "ENDWITH",
		"TRUE", "FALSE", "DEFAULT", "NULL", "UNKNOWN_43", "ENUM"}
	autoitOperators = []string{",", "=", ">", "<", "<>", ">=", "<=", "(", ")", "+", "-", "/", "*", "&",
		"[", "]", "==", "^", "+=", "-=", "/=", "*=", "&=", "?", ":"}
	// autoitPrefix is written before a name token (opcodes 0x30-0x37):
	// macros start with @, variables with $, objects with ., strings
	// with a quote, directives with #.
	autoitPrefix = [8]byte{0, 0, '@', '$', 0, '.', '"', '#'}
)

// autoitDecompile turns an EA06 token stream back into script text as
// ClamAV does: keywords and functions by name, numbers in hexadecimal, doubles in %g form, names and strings with their
// sigils, operators, a newline per line token. Undecodable input ends the
// text where it is; the output never exceeds max bytes.
func autoitDecompile(in []byte, max int64) []byte {
	le := binary.LittleEndian
	functions := strings.Fields(autoitFunctionNames)
	if len(in) < 4 {
		return in
	}
	lines := le.Uint32(in)
	var out []byte
	p := 4
	for lines > 0 && p < len(in) && int64(len(out)) < max {
		op := in[p]
		p++
		switch {
		case op == 0 || op == 1:
			if len(in)-p < 4 {
				return out
			}
			id := le.Uint32(in[p:])
			p += 4
			if op == 0 {
				if int(id) >= len(autoitKeywords) {
					return out
				}
				out = append(out, autoitKeywords[id]...)
			} else {
				if int(id) >= len(functions) {
					return out
				}
				out = append(out, functions[id]...)
			}
			out = append(out, ' ')
		case op == 5:
			if len(in)-p < 4 {
				return out
			}
			out = fmt.Appendf(out, "0x%08x ", le.Uint32(in[p:]))
			p += 4
		case op == 0x10:
			if len(in)-p < 8 {
				return out
			}
			out = fmt.Appendf(out, "0x%016x ", le.Uint64(in[p:]))
			p += 8
		case op == 0x20:
			if len(in)-p < 8 {
				return out
			}
			out = strconv.AppendFloat(out, math.Float64frombits(le.Uint64(in[p:])), 'g', 6, 64)
			out = append(out, ' ')
			p += 8
		case op >= 0x30 && op <= 0x37:
			if len(in)-p < 4 {
				return out
			}
			chars := le.Uint32(in[p:])
			p += 4
			if uint64(chars)*2 > uint64(len(in)-p) {
				return out
			}
			if c := autoitPrefix[op-0x30]; c != 0 {
				out = append(out, c)
			}
			// Each UTF-16 character is XORed with the string's length.
			w := bytes.Clone(in[p : p+2*int(chars)])
			for k := 0; k+1 < len(w); k += 2 {
				w[k] ^= byte(chars)
				w[k+1] ^= byte(chars >> 8)
			}
			out = append(out, autoitU2A(w)[:chars]...)
			p += 2 * int(chars)
			if op == 0x36 {
				out = append(out, '"')
			}
			if op != 0x34 {
				out = append(out, ' ')
			}
		case op >= 0x40 && op <= 0x58:
			out = append(out, autoitOperators[op-0x40]...)
			out = append(out, ' ')
		case op == 0x7f:
			lines--
			out = append(out, '\n')
		default:
			return out
		}
	}
	return out
}
