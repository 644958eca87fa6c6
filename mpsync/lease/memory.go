// Package lease holds leases for the engine's Lease interface: who of a
// management group's management servers runs the rules. [Memory] serves
// engines in one process (a staging pipeline simulating several servers,
// tests); mpsync.dev/mpsync/pgledger's lease serves several machines.
package lease

import (
	"context"
	"errors"
	"sync"
	"time"

	"mpsync.dev/mpsync/clock"
)

// Memory is a lease (mpsync.Lease) for engines in one process (a staging pipeline
// simulating several management servers, tests). It reads time from clock.
type Memory struct {
	clock  clock.Clock
	mu     sync.Mutex
	holder string
	until  time.Time
}

// NewMemory returns a free lease; nil clock means [clock.System].
func NewMemory(c clock.Clock) *Memory {
	if c == nil {
		c = clock.System{}
	}
	return &Memory{clock: c}
}

// Acquire takes or renews the lease for holder until ttl from now; it
// reports false when another holder's lease has not expired.
func (l *Memory) Acquire(_ context.Context, holder string, ttl time.Duration) (bool, error) {
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

// Release frees the lease if holder holds it.
func (l *Memory) Release(_ context.Context, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == holder {
		l.holder, l.until = "", time.Time{}
	}
	return nil
}

// Holder returns the current holder, or "" when the lease is free or
// expired.
func (l *Memory) Holder() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" || !l.clock.Now().Before(l.until) {
		return ""
	}
	return l.holder
}
