package clamd

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// spoolThreshold is the stream size kept in memory; larger streams go to
// an unlinked temporary file until a scan slot is free.
const spoolThreshold = 1 << 20

// maxStream is the hard cap on one stream when StreamMaxLength is 0.
const maxStream = 4<<30 - 1

// stream is one received INSTREAM body.
type stream struct {
	mem  []byte
	file *os.File
	size int64
	name string // "stream"
	from string // for the log: "local" or "IP@port"
}

func (st *stream) close() {
	if st.file != nil {
		st.file.Close()
		st.file = nil
	}
	st.mem = nil
}

// bytes returns the whole stream in memory.
func (st *stream) bytes() ([]byte, error) {
	if st.file == nil {
		return st.mem, nil
	}
	b := make([]byte, st.size)
	if _, err := st.file.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

func (st *stream) write(p []byte, tmpdir string) error {
	if st.file == nil && int64(len(st.mem))+int64(len(p)) > spoolThreshold {
		f, err := os.CreateTemp(tmpdir, "glassav-instream-*")
		if err != nil {
			return err
		}
		os.Remove(f.Name()) // unlinked: gone when closed, whatever happens
		if _, err := f.Write(st.mem); err != nil {
			f.Close()
			return err
		}
		st.file, st.mem = f, nil
	}
	if st.file != nil {
		_, err := st.file.Write(p)
		st.size += int64(len(p))
		return err
	}
	st.mem = append(st.mem, p...)
	st.size += int64(len(p))
	return nil
}

// readStream reads INSTREAM chunks: a big-endian uint32 length, that many
// bytes, until a zero length. The quota is checked on each length header,
// before its data is read, as clamd does. On failure it returns the reply
// to send; the connection then ends.
func (s *Server) readStream(c net.Conn, r *connReader) (*stream, string) {
	st := &stream{name: "stream", from: "local"}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		st.from = a.IP.String() + "@" + itoa(a.Port)
	}
	quota := s.cfg.StreamMaxLength
	if quota <= 0 || quota > maxStream {
		quota = maxStream
	}
	var hdr [4]byte
	buf := make([]byte, 64<<10)
	fail := func(text string) (*stream, string) {
		st.close()
		return nil, text
	}
	for {
		if s.cfg.ReadTimeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fail(streamReadError(err))
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 {
			c.SetReadDeadline(time.Time{})
			return st, ""
		}
		if n > quota-st.size {
			s.log.Printf("INSTREAM: Size limit reached, (requested: %d, max: %d)", n, quota-st.size)
			s.metrics.limitHit("StreamMaxLength")
			return fail(replyQuota)
		}
		for n > 0 {
			if s.cfg.ReadTimeout > 0 {
				c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
			}
			k := min(n, int64(len(buf)))
			m, err := io.ReadFull(r, buf[:k])
			if m > 0 {
				if werr := st.write(buf[:m], s.cfg.TemporaryDirectory); werr != nil {
					s.log.Printf("INSTREAM: %v", werr)
					return fail("Error writing to temporary file ERROR")
				}
				n -= int64(m)
			}
			if err != nil {
				return fail(streamReadError(err))
			}
		}
	}
}

// streamReadError is the reply for a stream that broke off: the client
// closed its side mid-chunk or stopped sending for ReadTimeout. clamd just
// closes; a line saying why costs nothing and helps a client that still
// reads.
func streamReadError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "INSTREAM: read timed out. ERROR"
	}
	return "INSTREAM: truncated stream. ERROR"
}
