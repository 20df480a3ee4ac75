package clamd

import (
	"bytes"
	"errors"
)

// Framing is how a client delimits a command; replies mirror it.
type Framing byte

// Framings.
const (
	FrameOld Framing = 0   // unprefixed: the command is the first packet
	FrameZ   Framing = 'z' // "zCMD\0": replies end in NUL
	FrameN   Framing = 'n' // "nCMD\n": replies end in LF
)

// Term returns the reply terminator for the framing.
func (f Framing) Term() byte {
	if f == FrameZ {
		return 0
	}
	return '\n'
}

// Cmd identifies a command.
type Cmd int

// Commands, in clamd's table order (which is also VERSIONCOMMANDS' order).
const (
	CmdUnknown Cmd = iota
	CmdScan
	CmdQuit
	CmdReload
	CmdPing
	CmdContScan
	CmdVersionCommands
	CmdVersion
	CmdEnd
	CmdShutdown
	CmdMultiScan
	CmdFildes
	CmdStats
	CmdIDSession
	CmdInstream
	CmdDetStatsClear
	CmdDetStats
	CmdAllMatchScan
)

// commandTable is clamd's command table. Names are matched as prefixes in
// this order, so VERSIONCOMMANDS must precede VERSION and DETSTATSCLEAR
// precede DETSTATS.
var commandTable = [...]struct {
	name     string
	cmd      Cmd
	needsArg bool
	oldStyle bool // accepted without a z/n prefix
}{
	{"SCAN", CmdScan, true, true},
	{"QUIT", CmdQuit, false, true},
	{"RELOAD", CmdReload, false, true},
	{"PING", CmdPing, false, true},
	{"CONTSCAN", CmdContScan, true, true},
	{"VERSIONCOMMANDS", CmdVersionCommands, false, false},
	{"VERSION", CmdVersion, false, true},
	{"END", CmdEnd, false, false},
	{"SHUTDOWN", CmdShutdown, false, true},
	{"MULTISCAN", CmdMultiScan, true, true},
	{"FILDES", CmdFildes, false, true},
	{"STATS", CmdStats, false, false},
	{"IDSESSION", CmdIDSession, false, false},
	{"INSTREAM", CmdInstream, false, false},
	{"DETSTATSCLEAR", CmdDetStatsClear, false, true},
	{"DETSTATS", CmdDetStats, false, true},
	{"ALLMATCHSCAN", CmdAllMatchScan, true, false},
}

// commandList is the VERSIONCOMMANDS list: every name in table order.
func commandList() string {
	var b bytes.Buffer
	for i, c := range commandTable {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.name)
	}
	return b.String()
}

// needsArg reports whether the command takes a path argument.
func (c Cmd) needsArg() bool {
	for _, e := range commandTable {
		if e.cmd == c {
			return e.needsArg
		}
	}
	return false
}

// String returns the command's name.
func (c Cmd) String() string {
	for _, e := range commandTable {
		if e.cmd == c {
			return e.name
		}
	}
	return "UNKNOWN"
}

// Request is one parsed command.
type Request struct {
	Framing Framing
	Cmd     Cmd
	Arg     string // the argument of SCAN-family commands
	Raw     []byte // the command text without prefix and terminator
	// chompedCR is set for an n-framed command that ended in CR LF. clamd
	// chomps the CR but counts it in the command's length, and for a
	// command with an argument that makes it send "Error processing
	// command. ERROR" before the real reply; clients that send CR LF
	// expect that line.
	chompedCR bool
}

// MaxCommand is the longest command line clamd accepts (PATH_MAX + 8); a
// longer one drops the connection without a reply.
const MaxCommand = 4096 + 8

var (
	errIncomplete = errors.New("clamd: incomplete command")
	errTooLong    = errors.New("clamd: command too long")
)

// splitCommand finds the first command in buf. It returns the request and
// the number of bytes it used, errIncomplete when a z or n command has not
// been terminated yet, or errTooLong when it cannot fit in MaxCommand.
//
// An unprefixed command runs to the first LF, or is the whole of buf (the
// first packet) when there is none; trailing CR and LF are removed.
func splitCommand(buf []byte) (Request, int, error) {
	if len(buf) == 0 {
		return Request{}, 0, errIncomplete
	}
	switch f := Framing(buf[0]); f {
	case FrameZ, FrameN:
		cr := false
		i := bytes.IndexByte(buf, f.Term())
		if i < 0 {
			if len(buf) >= MaxCommand {
				return Request{}, 0, errTooLong
			}
			return Request{}, 0, errIncomplete
		}
		if i >= MaxCommand {
			return Request{}, 0, errTooLong
		}
		line := buf[1:i]
		if f == FrameN {
			if j := bytes.IndexByte(line, 0); j >= 0 {
				line = line[:j]
			}
			n := len(line)
			line = bytes.TrimRight(line, "\r\n")
			cr = len(line) < n
		}
		r := parseCommand(line, f)
		r.chompedCR = cr && r.Cmd.needsArg()
		return r, i + 1, nil
	default:
		if len(buf) > MaxCommand {
			return Request{}, 0, errTooLong
		}
		// The command ends at the first LF, else with the packet.
		line, used := buf, len(buf)
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, used = buf[:i], i+1
		}
		line = bytes.TrimRight(line, "\r\n")
		// A NUL ends a C string: clamd sees only what precedes it.
		if i := bytes.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		return parseCommand(line, FrameOld), used, nil
	}
}

// parseCommand matches line against the command table as clamd does: the
// first entry whose name is a prefix of line wins, provided a command that
// takes an argument has one (the argument starts one byte after the name)
// and one that takes none has nothing after its name.
func parseCommand(line []byte, f Framing) Request {
	r := Request{Framing: f, Raw: line}
	for _, e := range commandTable {
		if !bytes.HasPrefix(line, []byte(e.name)) {
			continue
		}
		rest := line[len(e.name):]
		if e.needsArg {
			if len(rest) == 0 {
				return r
			}
			r.Arg = string(rest[1:])
		} else if len(rest) > 0 {
			continue
		}
		if f == FrameOld && !e.oldStyle {
			return r
		}
		r.Cmd = e.cmd
		return r
	}
	return r
}
