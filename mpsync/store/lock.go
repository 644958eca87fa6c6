package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// dirLock is the exclusive lock a Dir holds on path/lock.
type dirLock struct {
	fl     *flock.Flock
	holder string
}

// lockRetry is how often takeLock tries again while another process holds
// the lock.
const lockRetry = 50 * time.Millisecond

// takeLock takes the exclusive lock of the store at dir, waiting up to
// timeout (zero: DefaultLockTimeout; negative: not at all). On success it
// records this process in path/holder for the error a waiter reports.
func takeLock(dir string, timeout time.Duration) (*dirLock, error) {
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	p := filepath.Join(dir, lockName)
	// A lock or holder file that is a symbolic link (or anything but a
	// regular file) would have the store create, lock or overwrite
	// whatever it points to; refuse it (issue 15).
	for _, name := range []string{lockName, holderName} {
		if err := checkPlainFile(filepath.Join(dir, name)); err != nil {
			return nil, opErr("open", "", "lock", filepath.Join(dir, name), err)
		}
	}
	fl := flock.New(p)
	ok, err := fl.TryLock()
	if err == nil && !ok && timeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		ok, err = fl.TryLockContext(ctx, lockRetry)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			ok, err = false, nil
		}
	}
	if err != nil {
		return nil, opErr("open", "", "lock", p, err)
	}
	if !ok {
		holder := ""
		if b, err := readHolder(filepath.Join(dir, holderName)); err == nil {
			if h := strings.TrimSpace(string(b)); h != "" && len(h) < 256 {
				holder = " by " + h
			}
		}
		wait := ""
		if timeout > 0 {
			wait = " (waited " + timeout.String() + ")"
		}
		return nil, opErr("open", "", "lock", dir, fmt.Errorf("%w: %s is held%s%s", ErrLocked, p, holder, wait))
	}
	host, _ := os.Hostname()
	h := "pid " + strconv.Itoa(os.Getpid())
	if host != "" {
		h += " on " + host
	}
	h += " since " + time.Now().UTC().Format(time.RFC3339)
	// Failing to record the holder only makes a waiter's error less helpful.
	_ = writeHolder(dir, h+"\n")
	return &dirLock{fl: fl, holder: h}, nil
}

// release gives the lock up; nil does nothing.
func (l *dirLock) release() error {
	if l == nil || l.fl == nil {
		return nil
	}
	err := l.fl.Unlock()
	l.fl = nil
	return err
}

// checkPlainFile returns an error when path exists and is not a regular
// file: a symbolic link, a directory, a device, a named pipe. A missing
// file is fine (the store creates it).
func checkPlainFile(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; the store does not follow links for its lock files: remove it (the store creates it again)", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s); remove it (the store creates it again)", path, fileKind(fi.Mode()))
	}
	return nil
}

// fileKind names a file type that is not a regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// maxHolder bounds what is read of the holder file: it names a process
// in one short line.
const maxHolder = 256

// readHolder reads at most maxHolder bytes of the holder file, and only
// from a regular file.
func readHolder(path string) ([]byte, error) {
	if err := checkPlainFile(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxHolder))
}

// writeHolder replaces the holder file by a new one renamed over it, so a
// link put in its place is replaced, never written through.
func writeHolder(dir, text string) error {
	f, err := os.CreateTemp(dir, tmpPrefix+"holder-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, holderName))
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
