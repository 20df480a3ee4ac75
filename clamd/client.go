package clamd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Client is a minimal clamd client, for tests, benchmarks and health
// checks. Each call uses its own connection and the z framing.
type Client struct {
	Network string // "unix" or "tcp"
	Address string
	Timeout time.Duration // per call; 0 means 30 s
}

func (c *Client) dial() (net.Conn, error) {
	t := c.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	conn, err := net.DialTimeout(c.Network, c.Address, t)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(t))
	return conn, nil
}

// Raw sends req as is, closes the sending side and returns everything the
// server sent until it closed the connection.
func (c *Client) Raw(req []byte) ([]byte, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	closeWrite(conn)
	return io.ReadAll(conn)
}

func closeWrite(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// Command sends "z<cmd>\0" and returns the reply lines.
func (c *Client) Command(cmd string) ([]string, error) {
	b, err := c.Raw([]byte("z" + cmd + "\x00"))
	if err != nil {
		return nil, err
	}
	return splitReplies(b), nil
}

func splitReplies(b []byte) []string {
	var out []string
	for _, l := range bytes.Split(b, []byte{0}) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// one returns the single reply line of a command.
func (c *Client) one(cmd string) (string, error) {
	r, err := c.Command(cmd)
	if err != nil {
		return "", err
	}
	if len(r) != 1 {
		return "", fmt.Errorf("clamd %s: %d reply lines: %q", cmd, len(r), r)
	}
	return r[0], nil
}

// Ping checks that the server answers PONG.
func (c *Client) Ping() error {
	r, err := c.one("PING")
	if err == nil && r != "PONG" {
		err = fmt.Errorf("clamd PING: reply %q", r)
	}
	return err
}

// Version returns the VERSION reply.
func (c *Client) Version() (string, error) { return c.one("VERSION") }

// Instream scans r's bytes with INSTREAM in chunks of chunk bytes (0:
// 8192, as clamdscan) and returns the reply line, e.g. "stream: OK".
func (c *Client) Instream(r io.Reader, chunk int) (string, error) {
	if chunk <= 0 {
		chunk = 8192
	}
	conn, err := c.dial()
	if err != nil {
		return "", err
	}
	defer conn.Close()
	buf := make([]byte, 4+chunk)
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return "", err
	}
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, err := conn.Write(buf[:4+n]); err != nil {
				return readReply(conn, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return "", rerr
		}
	}
	if _, err := conn.Write([]byte{0, 0, 0, 0}); err != nil {
		return readReply(conn, err)
	}
	return readReply(conn, nil)
}

// readReply reads one NUL-terminated reply. A write error is returned
// only if no reply explains it (the server answers a quota overrun and
// closes while the client is still sending).
func readReply(conn net.Conn, werr error) (string, error) {
	b, err := io.ReadAll(conn)
	if len(b) > 0 {
		return strings.TrimRight(string(b), "\x00"), nil
	}
	if werr != nil {
		return "", werr
	}
	if err == nil {
		err = errors.New("clamd: connection closed without a reply")
	}
	return "", err
}
