//go:build !unix

package clamd

import "errors"

func (r *connReader) recvmsg(b []byte) (int, error) { return r.c.Read(b) }

func closeFD(int) {}

func readFD(fd int, limit int64) ([]byte, error) {
	return nil, errors.New("descriptor passing needs a unix system")
}
