//go:build unix

package clamd

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// Fildes passes f's descriptor with FILDES over a unix socket and returns
// the reply line, e.g. "fd[12]: OK".
func (c *Client) Fildes(f *os.File) (string, error) {
	conn, err := c.dial()
	if err != nil {
		return "", err
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return "", fmt.Errorf("clamd FILDES needs a unix socket")
	}
	rights := syscall.UnixRights(int(f.Fd()))
	if _, _, err := uc.WriteMsgUnix([]byte("zFILDES\x00X"), rights, nil); err != nil {
		return "", err
	}
	return readReply(conn, nil)
}
