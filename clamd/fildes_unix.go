//go:build unix

package clamd

import (
	"syscall"
)

// maxHeldFDs bounds the received descriptors a connection holds before
// FILDES takes them; more are closed as they arrive (and the kernel closes
// those that do not fit the control buffer).
const maxHeldFDs = 8

// recvmsg reads one packet from a unix socket and keeps any descriptors
// passed with it.
func (r *connReader) recvmsg(b []byte) (int, error) {
	oob := make([]byte, syscall.CmsgSpace(4*maxHeldFDs))
	n, oobn, _, _, err := r.unix.ReadMsgUnix(b, oob)
	if oobn > 0 {
		end := r.off + int64(len(r.buf)) + int64(n)
		msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for i := range msgs {
				fds, ferr := syscall.ParseUnixRights(&msgs[i])
				if ferr != nil {
					continue
				}
				for _, fd := range fds {
					if len(r.fds) >= maxHeldFDs {
						syscall.Close(fd)
						continue
					}
					r.fds = append(r.fds, recvFD{fd: fd, end: end})
				}
			}
		}
	}
	return n, err
}

func closeFD(fd int) { syscall.Close(fd) }

// readFD reads the regular file open on fd from its start, up to limit+1
// bytes (limit 0: no limit). It fails with errNotRegular for anything but
// a regular file. The caller closes fd.
func readFD(fd int, limit int64) ([]byte, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, errNotRegular
	}
	size := st.Size
	if limit > 0 && size > limit+1 {
		size = limit + 1
	}
	data := make([]byte, 0, size)
	var off int64
	for len(data) < cap(data) {
		n, err := syscall.Pread(fd, data[len(data):cap(data)], off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		data = data[:len(data)+n]
		off += int64(n)
	}
	return data, nil
}
