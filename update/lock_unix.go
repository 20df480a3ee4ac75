//go:build unix

package update

import (
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on name, so that a scheduled
// update and one started by hand never install at the same time. The
// lock dies with the process: a crash leaves nothing to clean up.
func lock(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: another update is running: %w", name, err)
	}
	return func() { f.Close() }, nil
}
