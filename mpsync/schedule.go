package mpsync

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"mpsync.dev/rules"
)

// DefaultSettingsPoll is how often a running scheduler re-reads the rules'
// effective settings when no run is due sooner, so that an override edited
// on disk takes effect without a restart.
const DefaultSettingsPoll = time.Minute

// scheduler is the state of a running Start loop.
type scheduler struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *scheduler) stop() {
	s.cancel()
	<-s.done
}

// ruleClock tracks when each rule runs next; guarded by Engine.mu.
type ruleClock struct {
	next     map[rules.Rule]time.Time
	settings map[rules.Rule]rules.Settings
}

// Start runs both rules on their effective schedules in a goroutine and
// returns at once. On a first start both rules run immediately, MPUpdate
// first; then each rule runs every Frequency (shaped by Options.Schedule).
// A disabled rule does not run; when the settings change (an override pack
// edited), the schedule follows within [DefaultSettingsPoll] or at the next
// run, without a restart. Runs never overlap. A panic in a run is recovered,
// logged and recorded as a failed run. Start returns [ErrRunning] when the
// scheduler already runs. Stop (or Close, or cancelling ctx) ends it.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.needWorkspace("start"); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed { // checked under the lock Close takes, so Close cannot miss this loop
		return ErrClosed
	}
	if e.sched != nil {
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &scheduler{cancel: cancel, done: make(chan struct{})}
	e.sched = s
	go func() {
		defer close(s.done)
		e.loop(ctx)
		// Ended by its context: the engine can be started again.
		e.mu.Lock()
		if e.sched == s {
			e.sched = nil
		}
		e.mu.Unlock()
	}()
	return nil
}

// Run is Start followed by waiting until ctx is done, then Stop: the
// lifecycle of a long-running program (`mpsync run`).
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	e.Stop()
	return nil
}

// Stop ends the scheduler and waits for an in-flight run to finish; it
// leaves no goroutine behind. Stop on an engine that is not running does
// nothing.
func (e *Engine) Stop() {
	e.mu.Lock()
	s := e.sched
	e.mu.Unlock()
	if s == nil {
		return
	}
	s.stop()
	e.mu.Lock()
	if e.sched == s {
		e.sched = nil
	}
	e.mu.Unlock()
	if e.lease != nil {
		// Hand over at once rather than when the TTL runs out.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.lease.Release(ctx, e.holder); err != nil {
			e.log.Warn("cannot release the lease", "holder", e.holder, "err", err)
		}
	}
}

func (e *Engine) loop(ctx context.Context) {
	for {
		if _, err := e.RunDue(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("scheduled run did not happen", "err", err)
		}
		wake := e.nextWake(ctx)
		t := e.clock.NewTimer(wake.Sub(e.clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// nextWake returns when the loop should look again: the earliest next run,
// or the settings poll, whichever is sooner.
func (e *Engine) nextWake(ctx context.Context) time.Time {
	wake := e.clock.Now().Add(DefaultSettingsPoll)
	for _, next := range e.NextRuns(ctx) {
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
	}
	return wake
}

// NextRuns returns when each enabled rule runs next on the schedule; a
// disabled rule is absent. Before the first run, a rule is due now.
func (e *Engine) NextRuns(ctx context.Context) map[rules.Rule]time.Time {
	out := map[rules.Rule]time.Time{}
	for _, r := range rules.All() {
		if next, ok := e.nextRun(ctx, r); ok {
			out[r] = next
		}
	}
	return out
}

// nextRun computes a rule's next run from its settings and last run,
// following setting changes. When the settings cannot be read, the last
// valid ones stay in force.
func (e *Engine) nextRun(ctx context.Context, r rules.Rule) (time.Time, bool) {
	st, err := e.settings.Settings(ctx, r)
	e.mu.Lock()
	prev, known := e.rc.settings[r]
	if err != nil {
		e.mu.Unlock()
		e.log.Warn("rule settings unreadable; keeping the last valid ones", "rule", r.ShortName(), "err", err)
		if !known {
			return time.Time{}, false
		}
		e.mu.Lock()
		st = prev
	}
	e.rc.settings[r] = st
	next, scheduled := e.rc.next[r]
	var ev *Event
	switch {
	case !st.Enabled:
		delete(e.rc.next, r)
		e.mu.Unlock()
		return time.Time{}, false
	case !scheduled:
		// First start, or re-enabled: due now.
		next = e.clock.Now()
		e.rc.next[r] = next
	case known && prev.Frequency != st.Frequency:
		// Frequency changed: re-plan from now rather than from a stale time.
		next = e.nextAfter(st, e.clock.Now())
		e.rc.next[r] = next
		ev = &Event{Kind: EventScheduleChanged, Rule: r,
			Message: fmt.Sprintf("%s; next run %s", st, sinceText(next))}
	}
	e.mu.Unlock()
	if ev != nil {
		e.emit(*ev)
	}
	return next, true
}

// RunDue runs, now, every enabled rule whose scheduled time has come (both
// together, MPUpdate first), then schedules each for its next run. It is the
// step the scheduler takes at every wake-up; a harness driving a
// [mpsynctest.ManualClock] calls it after each advance to see exactly the
// runs that are due (see mpsynctest.Drive). It returns the report of the run,
// or nil when nothing was due.
func (e *Engine) RunDue(ctx context.Context) (rep *Report, err error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	now := e.clock.Now()
	var due []rules.Rule
	defer func() {
		// A panic anywhere in the step (settings source, lease, workspace,
		// store, approver) fails the run, not the process.
		if p := recover(); p != nil {
			err = fmt.Errorf("run of %v panicked: %v", due, p)
			e.log.Error("run panicked", "rules", due, "panic", p, "stack", string(debug.Stack()))
			e.finishRuns(ctx, due, now, nil, err)
		}
	}()
	for r, next := range e.NextRuns(ctx) {
		if !next.After(now) {
			due = append(due, r)
		}
	}
	if len(due) == 0 {
		return nil, nil
	}
	due, _ = normaliseRules(due)
	if ok, err := e.holdsLease(ctx); err != nil || !ok {
		// Another engine holds the lease and runs the rules. Look again
		// after the settings poll: soon enough to take over once the
		// holder's lease expires, without spinning.
		e.mu.Lock()
		for _, r := range due {
			e.rc.next[r] = now.Add(DefaultSettingsPoll)
		}
		e.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("lease: %w", err)
		}
		e.log.Debug("another engine holds the lease; not running", "holder", e.holder)
		return nil, nil
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	defer func() {
		e.mu.Lock()
		for _, r := range due {
			st := e.rc.settings[r]
			next := e.nextAfter(st, now)
			if nb := notBefore(rep, r, now); !nb.IsZero() && nb.Before(next) {
				// A change waits for a window that opens before the rule's
				// next run: run then, so a 12-hour rule does not miss a
				// 4-hour window.
				next = nb
			}
			e.rc.next[r] = next
		}
		e.mu.Unlock()
	}()
	return e.syncLocked(ctx, due, runOptions{leased: e.lease != nil})
}

// nextAfter returns a rule's first scheduled run after t.
func (e *Engine) nextAfter(st rules.Settings, t time.Time) time.Time {
	s, err := rules.NewSchedule(st.Frequency, e.schedOpts)
	if err != nil {
		// New validated the options and settings sources validate
		// frequencies; fall back to the plain interval all the same.
		e.log.Error("cannot build schedule", "rule", st.Rule.ShortName(), "err", err)
		return t.Add(st.Frequency)
	}
	return s.Next(t)
}

// notBefore returns the earliest future time at which a change of rule r
// that the approver deferred may be approved, or zero.
func notBefore(rep *Report, r rules.Rule, now time.Time) time.Time {
	var first time.Time
	if rep == nil {
		return first
	}
	for _, o := range rep.Pending() {
		if o.Rule != r || o.Decision == nil {
			continue
		}
		if nb := o.Decision.NotBefore; nb.After(now) && (first.IsZero() || nb.Before(first)) {
			first = nb
		}
	}
	return first
}

// Close stops the scheduler if it runs, waiting for an in-flight run, and
// makes further calls return [ErrClosed]. It does not close the store.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.Stop()
	return nil
}
