package unpack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// The compiled NSIS script (the "headers" block) names the files the
// installer carries, which ClamAV does not read: glassav names members by
// it when it can, else as ClamAV does (content.001...). The script starts
// with a flags word and a table of eight (offset, count) pairs locating
// its parts; the third part is the list of instructions, 7 words each
// (opcode and six parameters), the fourth the string table. Two opcodes
// matter: EW_CREATEDIR (SetOutPath when its second parameter is set),
// whose first parameter is the output directory, and EW_EXTRACTFILE,
// whose second parameter is the file's name (relative to the output
// directory) and third the position of its data block in the data that
// follows the script. A name is used only when that position is exactly
// where a member's block starts, so a script read wrongly (an NSIS
// variant that numbers its opcodes differently) names nothing.

const (
	nsisBlocksTable     = 4 // after the flags word
	nsisBlockEntries    = 2
	nsisBlockStrings    = 3
	nsisBlockLangTables = 4
	nsisEntrySize       = 28
	nsisOpCreateDir     = 11
	nsisOpExtract       = 20
	// nsisMaxNameLen bounds a decoded name, in characters.
	nsisMaxNameLen = 1024
)

// nsisScript is what a script says about the files: where each one's
// name and output directory are in the string table, by the position of
// its data block after the script. Names are decoded only for blocks
// that are there, so a script of a million instructions costs a map of
// offsets, not a million strings.
type nsisScript struct {
	strings nsisStrings
	files   map[int64]nsisScriptFile
}

type nsisScriptFile struct {
	name, dir int64 // string table indexes; dir < 0: none
}

// parseNSISScript reads the instructions of script, or returns nil when
// it does not look like a script.
func parseNSISScript(script []byte) *nsisScript {
	le := binary.LittleEndian
	if len(script) < nsisBlocksTable+8*8 {
		return nil
	}
	block := func(i int) (off, num int64) {
		p := script[nsisBlocksTable+8*i:]
		return int64(le.Uint32(p)), int64(le.Uint32(p[4:]))
	}
	eoff, enum := block(nsisBlockEntries)
	soff, _ := block(nsisBlockStrings)
	send, _ := block(nsisBlockLangTables) // the next part ends the strings
	if send <= soff || send > int64(len(script)) {
		send = int64(len(script))
	}
	if eoff < 0 || enum <= 0 || eoff+enum*nsisEntrySize > int64(len(script)) || soff >= send {
		return nil
	}
	s := &nsisScript{strings: nsisStrings{table: script[soff:send]}, files: make(map[int64]nsisScriptFile)}
	st := &s.strings
	// A Unicode installer's table starts with an empty UTF-16 string.
	st.unicode = len(st.table) >= 2 && st.table[0] == 0 && st.table[1] == 0
	// NSIS 3 codes are control characters no NSIS 2 string holds; NSIS
	// 2's are letters (ü to ÿ) to NSIS 3.
	st.nsis2 = !st.unicode && !bytes.ContainsAny(st.table, "\x01\x02\x03\x04")
	dir := int64(-1)
	for i := int64(0); i < enum; i++ {
		e := script[eoff+i*nsisEntrySize:]
		p := func(k int) int64 { return int64(int32(le.Uint32(e[4+4*k:]))) }
		switch le.Uint32(e) {
		case nsisOpCreateDir:
			if p(1) != 0 {
				dir = p(0)
			}
		case nsisOpExtract:
			pos := p(2)
			if _, dup := s.files[pos]; !dup && pos >= 0 {
				s.files[pos] = nsisScriptFile{name: p(1), dir: dir}
			}
		}
	}
	return s
}

// name returns the name the script gives the data block at pos.
func (s *nsisScript) name(pos int64) (string, bool) {
	if s == nil {
		return "", false
	}
	f, ok := s.files[pos]
	if !ok {
		return "", false
	}
	name := s.strings.get(f.name)
	if name == "" {
		return "", false
	}
	if dir := s.strings.get(f.dir); dir != "" && !strings.HasPrefix(name, "$") && !strings.Contains(name, ":") {
		name = dir + `\` + name
	}
	return name, true
}

// nsisStrings reads the script's string table: ANSI or UTF-16 strings
// ending in a zero, with codes that stand for variables, shell folders
// and language strings (NSIS 3: 1 to 4; NSIS 2's ANSI: 252 to 255), each
// followed by a 14-bit number in two bytes of 7 bits (or one UTF-16 unit
// made of those two bytes).
type nsisStrings struct {
	table   []byte
	unicode bool
	nsis2   bool // ANSI with NSIS 2's codes
}

// nsisVarNames are NSIS's built-in variables after $0-$9 and $R0-$R9.
var nsisVarNames = [...]string{"CMDLINE", "INSTDIR", "OUTDIR", "EXEDIR", "LANGUAGE",
	"TEMP", "PLUGINSDIR", "EXEPATH", "EXEFILE", "HWNDPARENT", "_CLICK", "_OUTDIR"}

// nsisShellNames name the shell folders by the first byte of their code's
// argument: a CSIDL, or with the top bit a folder read from the registry.
var nsisShellNames = map[byte]string{
	0x02: "SMPROGRAMS", 0x05: "DOCUMENTS", 0x06: "FAVORITES", 0x07: "SMSTARTUP",
	0x08: "RECENT", 0x09: "SENDTO", 0x0b: "STARTMENU", 0x10: "DESKTOP", 0x14: "FONTS",
	0x15: "TEMPLATES", 0x1a: "APPDATA", 0x1c: "LOCALAPPDATA", 0x24: "WINDIR",
	0x25: "SYSDIR", 0x81: "PROGRAMFILES", 0x91: "COMMONFILES",
}

func nsisVarName(n int) string {
	switch {
	case n < 10:
		return fmt.Sprintf("$%d", n)
	case n < 20:
		return fmt.Sprintf("$R%d", n-10)
	case n-20 < len(nsisVarNames):
		return "$" + nsisVarNames[n-20]
	}
	return fmt.Sprintf("$_%d_", n)
}

// get decodes the string at index at (in characters of the table's
// width), or returns "" when at is outside the table.
func (s *nsisStrings) get(at int64) string {
	w := int64(1)
	if s.unicode {
		w = 2
	}
	if at < 0 || at*w >= int64(len(s.table)) {
		return ""
	}
	d := s.table[at*w:]
	var sb strings.Builder
	var u []uint16
	flush := func() {
		if len(u) > 0 {
			sb.WriteString(string(utf16.Decode(u)))
			u = u[:0]
		}
	}
	for i := 0; i+int(w) <= len(d) && sb.Len()+len(u) < nsisMaxNameLen; i += int(w) {
		var c, arg int
		var lo byte // the argument's first byte
		if s.unicode {
			c = int(binary.LittleEndian.Uint16(d[i:]))
			if i+4 <= len(d) {
				v := binary.LittleEndian.Uint16(d[i+2:])
				lo = byte(v)
				arg = int(v&0x7f) | int(v>>8&0x7f)<<7
			}
		} else {
			c = int(d[i])
			if i+3 <= len(d) {
				lo = d[i+1]
				arg = int(d[i+1]&0x7f) | int(d[i+2]&0x7f)<<7
			}
		}
		code := 0
		switch {
		case c == 0:
			flush()
			return sb.String()
		case c >= 1 && c <= 4 && !s.nsis2:
			code = c
		case s.nsis2 && c >= 252:
			code = map[int]int{255: 1, 254: 2, 253: 3, 252: 4}[c]
		}
		switch code {
		case 0:
			if s.unicode {
				u = append(u, uint16(c))
			} else {
				flush()
				sb.WriteRune(rune(c)) // Latin-1, near enough for a name
			}
			continue
		case 4: // skip: the next character is literal
			i += int(w)
			if i+int(w) <= len(d) {
				if s.unicode {
					u = append(u, binary.LittleEndian.Uint16(d[i:]))
				} else {
					flush()
					sb.WriteRune(rune(d[i]))
				}
			}
			continue
		case 3:
			flush()
			sb.WriteString(nsisVarName(arg))
		case 2:
			flush()
			if name, ok := nsisShellNames[lo]; ok {
				sb.WriteString("$" + name)
			} else {
				fmt.Fprintf(&sb, "$SHELL_%#x", lo)
			}
		case 1:
			flush()
			fmt.Fprintf(&sb, "$(LSTR_%d)", arg)
		}
		// The code's argument: one UTF-16 unit, or two bytes.
		i += 2
	}
	flush()
	return sb.String()
}
