package mpsynctest

import (
	"context"
	"sort"
	"sync"
	"time"

	"mpsync.dev/mpsync/clock"

	"mpsync.dev/mpsync"
	"mpsync.dev/rules"
)

// ManualClock is an [clock.Clock] whose time moves only when told to. A
// test harness or a staging pipeline that simulates a week uses it to drive
// the engine's 12-hour and 5-minute rules without sleeping.
//
// Advancing fires every timer that falls due, in time order, without
// waiting for the receivers to act. To step an engine through its schedule
// exactly, use [Drive], which runs what is due at each step itself.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

// NewManualClock returns a clock that reads start until it is advanced.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (c *ManualClock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{clock: c, when: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.fired = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock forward by d, firing due timers in order.
func (c *ManualClock) Advance(d time.Duration) { c.AdvanceTo(c.Now().Add(d)) }

// AdvanceTo moves the clock to t (never backwards), firing every timer due at
// or before t in time order; the clock reads each timer's due time when it
// fires.
func (c *ManualClock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
		if len(c.timers) == 0 || c.timers[0].when.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		next := c.timers[0]
		c.timers = c.timers[1:]
		if next.when.After(c.now) {
			c.now = next.when
		}
		next.fired = true
		next.ch <- c.now
		c.mu.Unlock()
	}
}

// Pending returns how many timers wait to fire.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextTimer returns when the earliest waiting timer fires.
func (c *ManualClock) NextTimer() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	min := c.timers[0].when
	for _, t := range c.timers[1:] {
		if t.when.Before(min) {
			min = t.when
		}
	}
	return min, true
}

type manualTimer struct {
	clock *ManualClock
	when  time.Time
	ch    chan time.Time
	fired bool
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.fired {
		return false
	}
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			t.fired = true
			return true
		}
	}
	return false
}

// Drive moves clock forward to until, stopping at every moment a rule of e
// is due and running what is due there with [mpsync.Engine.RunDue], and
// returns the reports of the runs in order. It is how a harness or a staging
// pipeline runs a week of the engine's schedule in a few seconds and sees
// exactly the runs the schedule makes: no goroutine, no sleeping. (To test
// Engine.Start itself, run it inside a testing/synctest bubble with the
// system clock instead.)
func Drive(ctx context.Context, e *mpsync.Engine, clock *ManualClock, until time.Time) ([]*mpsync.Report, error) {
	var reps []*mpsync.Report
	for {
		if err := ctx.Err(); err != nil {
			return reps, err
		}
		next, ok := earliest(e.NextRuns(ctx))
		if !ok || next.After(until) {
			clock.AdvanceTo(until)
			return reps, nil
		}
		clock.AdvanceTo(next)
		rep, err := e.RunDue(ctx)
		if err != nil {
			return reps, err
		}
		if rep != nil {
			reps = append(reps, rep)
		}
	}
}

func earliest(m map[rules.Rule]time.Time) (time.Time, bool) {
	var min time.Time
	for _, t := range m {
		if min.IsZero() || t.Before(min) {
			min = t
		}
	}
	return min, !min.IsZero()
}
