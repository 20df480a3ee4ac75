//go:build unix

package translog

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on the file name so that two
// publishers never append to one log at once. The lock dies with the
// process, so a crash leaves nothing to clean up.
func lockDir(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("translog: %s is locked by another process: %w", name, err)
	}
	return func() { f.Close() }, nil
}
