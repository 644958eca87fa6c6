package store

import (
	"context"
	"errors"
	"fmt"
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
		if b, err := os.ReadFile(filepath.Join(dir, holderName)); err == nil {
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
	_ = os.WriteFile(filepath.Join(dir, holderName), []byte(h+"\n"), 0o644)
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
