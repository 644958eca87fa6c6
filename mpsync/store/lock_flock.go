//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockSupported reports whether OpenDir takes an OS lock on this platform.
const lockSupported = true

// errWouldBlock means another open file description holds the lock.
var errWouldBlock = errors.New("lock is held")

// lockFile takes an exclusive, non-blocking flock(2) on f. flock locks
// belong to the open file description, so two OpenDir calls in one process
// conflict just as two processes do, and the kernel drops the lock when the
// process dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errWouldBlock
		default:
			return err
		}
	}
}

// unlockFile releases the lock taken by lockFile.
func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
