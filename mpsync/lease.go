package mpsync

import (
	"context"
	"errors"
	"sync"
	"time"

	"mpsync.dev/mpsync/clock"
)

// DefaultLeaseTTL is how long a scheduled run holds the lease when
// Options.LeaseTTL is zero: long enough to cover the wait until the next
// wake-up, so a live holder keeps the lease and a dead one loses it soon.
const DefaultLeaseTTL = 3 * DefaultSettingsPoll

// holdsLease reports whether this engine may run now.
func (e *Engine) holdsLease(ctx context.Context) (bool, error) {
	if e.lease == nil {
		return true, nil
	}
	return e.lease.Acquire(ctx, e.holder, e.leaseTTL)
}

// MemoryLease is a [Lease] for engines in one process (a staging pipeline
// simulating several management servers, tests). It reads time from clock.
type MemoryLease struct {
	clock  clock.Clock
	mu     sync.Mutex
	holder string
	until  time.Time
}

// NewMemoryLease returns a free lease; nil clock means [clock.System].
func NewMemoryLease(c clock.Clock) *MemoryLease {
	if c == nil {
		c = clock.System{}
	}
	return &MemoryLease{clock: c}
}

// Acquire implements [Lease].
func (l *MemoryLease) Acquire(_ context.Context, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, errors.New("lease: empty holder")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if l.holder != "" && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	l.holder, l.until = holder, now.Add(ttl)
	return true, nil
}

// Release implements [Lease].
func (l *MemoryLease) Release(_ context.Context, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == holder {
		l.holder, l.until = "", time.Time{}
	}
	return nil
}

// Holder returns the current holder, or "" when the lease is free or
// expired.
func (l *MemoryLease) Holder() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" || !l.clock.Now().Before(l.until) {
		return ""
	}
	return l.holder
}
