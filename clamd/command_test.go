package clamd

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in      string
		cmd     Cmd
		arg     string
		framing Framing
		used    int
		err     error
	}{
		{"zPING\x00", CmdPing, "", FrameZ, 6, nil},
		{"nPING\n", CmdPing, "", FrameN, 6, nil},
		{"nPING\r\n", CmdPing, "", FrameN, 7, nil},
		{"PING", CmdPing, "", FrameOld, 4, nil},
		{"PING\r\n", CmdPing, "", FrameOld, 6, nil},
		{"PING\nVERSION\n", CmdPing, "", FrameOld, 5, nil},
		{"zPING\x00zPING\x00", CmdPing, "", FrameZ, 6, nil},
		{"zPINGX\x00", CmdUnknown, "", FrameZ, 7, nil},
		{"zSCAN /x\x00", CmdScan, "/x", FrameZ, 9, nil},
		{"zSCANX/x\x00", CmdScan, "/x", FrameZ, 9, nil},
		{"zSCAN\x00", CmdUnknown, "", FrameZ, 6, nil},
		{"zSCAN \x00", CmdScan, "", FrameZ, 7, nil},
		{"zVERSIONCOMMANDS\x00", CmdVersionCommands, "", FrameZ, 17, nil},
		{"VERSIONCOMMANDS\n", CmdUnknown, "", FrameOld, 16, nil},
		{"zDETSTATSCLEAR\x00", CmdDetStatsClear, "", FrameZ, 15, nil},
		{"INSTREAM\n", CmdUnknown, "", FrameOld, 9, nil},
		{"ALLMATCHSCAN /x\n", CmdUnknown, "/x", FrameOld, 16, nil},
		{"nALLMATCHSCAN /x\n", CmdAllMatchScan, "/x", FrameN, 17, nil},
		{"nPING\x00x\n", CmdPing, "", FrameN, 8, nil},
		{"zPING", 0, "", 0, 0, errIncomplete},
		{"nPING", 0, "", 0, 0, errIncomplete},
		{"", 0, "", 0, 0, errIncomplete},
		{"z" + strings.Repeat("a", MaxCommand), 0, "", 0, 0, errTooLong},
		{strings.Repeat("a", MaxCommand+1), 0, "", 0, 0, errTooLong},
	}
	for _, tt := range tests {
		r, n, err := splitCommand([]byte(tt.in))
		if err != tt.err {
			t.Errorf("%q: error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if r.Cmd != tt.cmd || r.Arg != tt.arg || r.Framing != tt.framing || n != tt.used {
			t.Errorf("%q: got %v %q %q used %d, want %v %q %q used %d", tt.in, r.Cmd, r.Arg, r.Framing, n, tt.cmd, tt.arg, tt.framing, tt.used)
		}
	}
}

func TestCommandList(t *testing.T) {
	const want = "SCAN QUIT RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN MULTISCAN FILDES STATS IDSESSION INSTREAM DETSTATSCLEAR DETSTATS ALLMATCHSCAN"
	if got := commandList(); got != want {
		t.Errorf("commandList() = %q, want clamd 1.4.6's %q", got, want)
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"zPING\x00", "nSCAN /x\n", "PING", "zINSTREAM\x00\x00\x00\x00\x00", "nFILDES\nX", "zIDSESSION\x00zEND\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := splitCommand(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) || n > MaxCommand+1 {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		if r.Cmd != CmdUnknown && !bytes.HasPrefix(r.Raw, []byte(r.Cmd.String())) {
			t.Fatalf("command %v from %q", r.Cmd, r.Raw)
		}
	})
}

// FuzzConnection feeds arbitrary bytes to a connection of a real server
// (over an in-memory pipe): it must answer or hang up, never crash or
// hang past its timeouts.
func FuzzConnection(f *testing.F) {
	for _, s := range []string{
		"zPING\x00", "zINSTREAM\x00\x00\x00\x00\x03abc\x00\x00\x00\x00", "zINSTREAM\x00\xff\xff\xff\xff",
		"zIDSESSION\x00zPING\x00nVERSION\nzINSTREAM\x00\x00\x00\x00\x01a\x00\x00\x00\x00zEND\x00",
		"nSTATS\n", "zFILDES\x00X", "VERSIONCOMMANDS", "zSCAN /nonexistent\x00",
	} {
		f.Add([]byte(s))
	}
	cfg := testConfig()
	cfg.ReadTimeout = 200 * time.Millisecond
	cfg.CommandReadTimeout = 200 * time.Millisecond
	cfg.StreamMaxLength = 4096
	db, err := NewDatabase(context.Background(), func(context.Context) (Rules, Info, error) {
		return fakeRules{}, Info{}, nil
	})
	if err != nil {
		f.Fatal(err)
	}
	s := NewServer(cfg, db, Options{Version: "fuzz"})
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Contains(b, []byte("SHUTDOWN")) || bytes.Contains(b, []byte("QUIT")) || bytes.Contains(b, []byte("SCAN")) {
			return // path scans and shutdown touch the machine, not the parser
		}
		client, server := net.Pipe()
		if !s.track(server) {
			t.Fatal("server closed")
		}
		done := make(chan struct{})
		go func() { s.serveConn(server); close(done) }()
		go func() { client.Write(b); client.Close() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection still open 5 s after input %q", b)
		}
		io.Copy(io.Discard, client)
	})
}
