//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"errors"
	"os"
)

// lockSupported reports whether OpenDir takes an OS lock on this platform:
// here it does not, and OpenDir logs a warning that two processes opening
// the same directory are not kept apart.
const lockSupported = false

// errWouldBlock means another open file description holds the lock.
var errWouldBlock = errors.New("lock is held")

// lockFile does nothing on platforms without flock(2).
func lockFile(*os.File) error { return nil }

// unlockFile does nothing on platforms without flock(2).
func unlockFile(*os.File) error { return nil }
