// Package clock is the engine's source of time: an interface the engine and
// the approvers read the time through, and the real clock.
//
// A test or a staging pipeline passes mpsync.dev/mpsync/mpsynctest.ManualClock
// instead and steps through a week of schedules in milliseconds. The package
// is a leaf so that approvers, leases and the engine share it without
// importing each other.
package clock

import "time"

// Clock is the engine's source of time. [System] reads the real clock;
// [mpsync.dev/mpsync/mpsynctest.ManualClock] lets a test or a staging
// pipeline move time by hand.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d after Now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer from a [Clock].
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped it.
	Stop() bool
}

// System is the real clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer returns a [time.Timer].
func (System) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time { return s.t.C }

func (s sysTimer) Stop() bool { return s.t.Stop() }
