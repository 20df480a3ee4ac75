package clamd

import (
	"errors"
	"net"
)

// connReader reads commands and data from one client. On a unix socket it
// reads commands with recvmsg so that descriptors passed for FILDES are
// received; it notes how far into the byte stream each arrived, because
// clamd accepts a descriptor only on a packet that carries data after the
// FILDES command (or a later packet).
type connReader struct {
	c    net.Conn
	unix *net.UnixConn // nil for TCP
	buf  []byte        // unread bytes
	// off is the stream offset of buf[0]; fds holds received descriptors
	// with the stream offset at the end of the packet that brought them.
	off int64
	fds []recvFD
	// fds is capped at maxHeldFDs: extra descriptors are closed as
	// they arrive. err is the read error that ended the input.
	err error
}

type recvFD struct {
	fd  int
	end int64
}

// readSize is the size of one read when looking for a command.
const readSize = 16 << 10

func newConnReader(c net.Conn) *connReader {
	r := &connReader{c: c}
	r.unix, _ = c.(*net.UnixConn)
	return r
}

// fill reads one packet more into buf.
func (r *connReader) fill() error {
	if r.err != nil {
		return r.err
	}
	start := len(r.buf)
	if cap(r.buf)-start < readSize {
		nb := make([]byte, start, start+readSize)
		copy(nb, r.buf)
		r.buf = nb
	}
	space := r.buf[start : start+readSize]
	var n int
	var err error
	if r.unix != nil {
		n, err = r.recvmsg(space)
	} else {
		n, err = r.c.Read(space)
	}
	if n < 0 { // recvmsg reports -1 with an error
		n = 0
	}
	r.buf = r.buf[:start+n]
	if n == 0 && err == nil {
		err = errors.New("clamd: empty read")
	}
	if err != nil && n == 0 {
		r.err = err
		return err
	}
	return nil
}

// command reads the next command. A z or n command may span packets; an
// old-style one is the rest of the first packet.
func (r *connReader) command() (Request, int64, error) {
	for {
		if len(r.buf) > 0 {
			req, n, err := splitCommand(r.buf)
			if err == nil {
				r.consume(n)
				return req, r.off, nil
			}
			if err != errIncomplete {
				return Request{}, 0, err
			}
		}
		if err := r.fill(); err != nil {
			return Request{}, 0, err
		}
	}
}

func (r *connReader) consume(n int) {
	r.buf = r.buf[n:]
	r.off += int64(n)
	if len(r.buf) == 0 {
		r.buf = r.buf[:0:0]
	}
}

// Read reads stream data: buffered bytes first, then straight from the
// connection.
func (r *connReader) Read(p []byte) (int, error) {
	if len(r.buf) > 0 {
		n := copy(p, r.buf)
		r.consume(n)
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.c.Read(p)
	r.off += int64(n)
	return n, err
}

// takeFD returns a descriptor that arrived on a packet ending after cmdEnd,
// reading one more packet if none has arrived yet, and drops the rest of
// that packet (its bytes only carry the descriptor).
// ok is false when no descriptor came; early is set when one came on the
// command's own packet without data after it, which clamd refuses.
func (r *connReader) takeFD(cmdEnd int64) (fd int, ok, early bool) {
	if r.unix == nil {
		return -1, false, false
	}
	for attempt := 0; attempt < 2; attempt++ {
		for i, f := range r.fds {
			if f.end > cmdEnd {
				r.fds = append(r.fds[:i], r.fds[i+1:]...)
				// The bytes that carried the descriptor are not a command.
				if k := f.end - r.off; k > 0 {
					r.consume(int(min(k, int64(len(r.buf)))))
				}
				return f.fd, true, false
			}
			early = true
		}
		if early || attempt == 1 {
			break
		}
		if len(r.buf) > 0 {
			break // data, not a descriptor, followed the command
		}
		if r.fill() != nil {
			break
		}
	}
	return -1, false, early
}

// close releases descriptors received but not used.
func (r *connReader) close() {
	for _, f := range r.fds {
		closeFD(f.fd)
	}
	r.fds = nil
}
