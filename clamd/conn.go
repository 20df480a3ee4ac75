package clamd

import (
	"bytes"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// Reply strings, as clamd sends them.
const (
	replyUnknown         = "UNKNOWN COMMAND"
	replyUnavailable     = "COMMAND UNAVAILABLE"
	replyProcessingError = "Error processing command. ERROR"
	replyInvalidSession  = "Command invalid inside IDSESSION. ERROR"
	replyOldInSession    = `Only nCMDS\n and zCMDS\0 are accepted inside IDSESSION. ERROR`
	replyNoFD            = "No file descriptor received. ERROR"
	replyFDEarly         = "PROTOCOL ERROR: ancillary data sent without FILDES. ERROR"
	replyQuota           = "INSTREAM size limit exceeded. ERROR"
	replyTimedOut        = "COMMAND READ TIMED OUT\n"
)

// replier writes reply lines to one connection. Inside IDSESSION several
// scans reply at once, so writes are serialised, and each line carries the
// request number.
type replier struct {
	c       net.Conn
	timeout time.Duration
	mu      sync.Mutex
	failed  bool
}

// line writes "[id: ]text<term>". A client that does not read its replies
// within SendBufTimeout is dropped, as clamd does.
func (w *replier) line(id int, term byte, text string) error {
	var b bytes.Buffer
	if id > 0 {
		b.WriteString(itoa(id))
		b.WriteString(": ")
	}
	b.WriteString(text)
	b.WriteByte(term)
	return w.write(b.Bytes())
}

func (w *replier) write(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed {
		return net.ErrClosed
	}
	if w.timeout > 0 {
		w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	_, err := w.c.Write(p)
	if err != nil {
		w.failed = true
		w.c.Close()
	}
	return err
}

// gone reports whether a write to the client has failed.
func (w *replier) gone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// sendTimeout is the write deadline for replies: SendBufTimeout, but at
// least long enough for a loaded machine to push one reply.
func (s *Server) sendTimeout() time.Duration {
	return max(s.cfg.SendBufTimeout, 5*time.Second)
}

// serveConn runs one client connection: one command, or an IDSESSION.
func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	defer func() {
		// A bug met by one client must not end the daemon for all.
		if p := recover(); p != nil {
			s.log.Printf("internal error serving %s: %v\n%s", c.RemoteAddr(), p, debug.Stack())
		}
	}()
	r := newConnReader(c)
	defer r.close()
	w := &replier{c: c, timeout: s.sendTimeout()}

	if s.cfg.CommandReadTimeout > 0 {
		c.SetReadDeadline(time.Now().Add(s.cfg.CommandReadTimeout))
	}
	req, end, err := r.command()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.write([]byte(replyTimedOut))
		}
		return
	}
	c.SetReadDeadline(time.Time{})
	if req.Cmd == CmdIDSession && req.Framing != FrameOld {
		s.session(c, r, w, req)
		return
	}
	s.dispatch(c, r, w, req, end, 0, nil)
}

// dispatch runs one command outside a session (id 0) or inside one. In a
// session, scans run on their own goroutines counted in wg, after the
// command's input has been read; it returns false when the connection
// must end.
func (s *Server) dispatch(c net.Conn, r *connReader, w *replier, req Request, end int64, id int, wg *sync.WaitGroup) bool {
	term := req.Framing.Term()
	reply := func(text string) { w.line(id, term, text) }
	async := func(f func()) {
		if wg == nil {
			f()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	switch req.Cmd {
	case CmdPing:
		reply("PONG")
	case CmdVersion:
		if !s.cfg.EnableVersionCommand {
			reply(replyUnavailable)
			break
		}
		reply(s.Version())
	case CmdVersionCommands:
		if !s.cfg.EnableVersionCommand {
			reply(replyUnavailable)
			break
		}
		reply(s.Version() + "| COMMANDS: " + commandList())
	case CmdReload:
		if !s.cfg.EnableReloadCommand {
			reply(replyUnavailable)
			break
		}
		reply("RELOADING")
		s.log.Printf("Reading databases (RELOAD command)")
		s.db.ReloadAsync(s.ctx)
		return false
	case CmdShutdown, CmdQuit:
		if !s.cfg.EnableShutdownCommand {
			reply(replyUnavailable)
			break
		}
		s.log.Printf("SHUTDOWN command received")
		s.requestShutdown()
		return false
	case CmdStats:
		if !s.cfg.EnableStatsCommand {
			reply(replyUnavailable)
			break
		}
		w.write(s.stats(id, term))
	case CmdScan, CmdContScan, CmdMultiScan, CmdAllMatchScan:
		if req.chompedCR {
			reply(replyProcessingError)
		}
		arg := req.Arg
		async(func() { s.scanPath(w, id, term, req.Cmd, arg) })
	case CmdInstream:
		st, errText := s.readStream(c, r)
		if errText != "" {
			reply(errText)
			return false
		}
		async(func() {
			defer st.close()
			s.scanStream(w, id, term, st)
		})
	case CmdFildes:
		if s.cfg.ReadTimeout > 0 { // the descriptor may come on a later packet
			c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		}
		fd, ok, early := r.takeFD(end)
		c.SetReadDeadline(time.Time{})
		switch {
		case early:
			// clamd notices the descriptor before it parses the command
			// and answers with NUL terminators whatever the framing.
			w.line(id, 0, replyFDEarly)
			w.line(id, 0, replyProcessingError)
			return false
		case !ok:
			reply(replyNoFD)
			return false
		}
		async(func() { s.scanFD(w, id, term, fd) })
	case CmdDetStats, CmdDetStatsClear:
		return false // removed from clamd: accepted, no reply
	default:
		reply(replyUnknown)
		return false
	}
	return true
}

// session runs an IDSESSION: numbered commands until END, an invalid
// command, or ReadTimeout without one. Replies come as scans finish.
func (s *Server) session(c net.Conn, r *connReader, w *replier, open Request) {
	var wg sync.WaitGroup
	defer wg.Wait()
	// At most MaxQueue commands of one session are outstanding; past that
	// the session's input is not read until one finishes.
	outstanding := make(chan struct{}, s.cfg.MaxQueue)
	sessTerm := open.Framing.Term()
	for id := 1; ; id++ {
		if s.cfg.ReadTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		}
		req, end, err := r.command()
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Time{})
		if req.Framing == FrameOld {
			w.line(id, sessTerm, replyOldInSession)
			w.line(id, sessTerm, replyProcessingError)
			return
		}
		switch req.Cmd {
		case CmdEnd:
			return
		case CmdScan, CmdInstream, CmdFildes, CmdVersion, CmdVersionCommands, CmdPing, CmdStats:
			outstanding <- struct{}{}
			var one sync.WaitGroup
			ok := s.dispatch(c, r, w, req, end, id, &one)
			wg.Add(1)
			go func() {
				defer wg.Done()
				one.Wait()
				<-outstanding
			}()
			if !ok {
				return
			}
		default:
			w.line(id, req.Framing.Term(), replyInvalidSession)
			return
		}
	}
}
