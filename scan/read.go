package scan

import (
	"errors"
	"io"
)

// errTooBig reports that more than the limit was available.
var errTooBig = errors.New("larger than the limit")

// keepBuffer is the largest read buffer a worker keeps for the next file;
// larger ones are left to the garbage collector so that one huge file does
// not pin its size in memory for the rest of the scan.
const keepBuffer = 8 << 20

// readAll reads r to the end into buf (grown as needed) and returns the
// bytes. hint is the expected size. When limit > 0 and r holds more than
// limit bytes, it returns the first limit+1 bytes and errTooBig: a file
// that grew past a limit after it was measured is still caught.
func readAll(r io.Reader, hint, limit int64, buf []byte) ([]byte, error) {
	want := hint + 1 // one more byte to see EOF without a second call
	if limit > 0 && want > limit+1 {
		want = limit + 1
	}
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if limit > 0 && int64(len(buf)) > limit {
				return buf, errTooBig
			}
			c := 2*int64(cap(buf)) + 4096
			if limit > 0 && c > limit+1 {
				c = limit + 1
			}
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if limit > 0 && int64(len(buf)) > limit {
				return buf, errTooBig
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
