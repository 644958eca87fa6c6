package mpsync

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"mpsync.dev/mpsync/event"

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
	// err is the permanent error that ended the loop, nil when its context
	// ended it; set before done is closed.
	err error
}

// ruleClock tracks when each rule runs next; guarded by Engine.mu.
type ruleClock struct {
	next     map[rules.Rule]time.Time
	settings map[rules.Rule]rules.Settings
	// ranAt is when each rule last ran on the schedule: a change of
	// Frequency re-plans from there, so that reading the schedule
	// (NextRuns) gives the answer the scheduler will act on.
	ranAt map[rules.Rule]time.Time
}

// Start runs both rules on their effective schedules in a goroutine and
// returns at once. On a first start both rules run immediately, MPUpdate
// first; then each rule runs every Frequency (shaped by Options.Schedule).
// A disabled rule does not run; when the settings change (an override pack
// edited), the schedule follows within [DefaultSettingsPoll] or at the next
// run, without a restart. Runs never overlap. A panic in a run is recovered,
// logged and recorded as a failed run. Start returns [ErrRunning] when the
// scheduler already runs, and at once the permanent errors [Engine.Run]
// describes (a disconnected store, one bound to another workspace, a group
// below the connection requirement). Stop (or Close, or cancelling ctx)
// ends it; so does a permanent error met by a later run, which is logged
// and carried by [event.SchedulerStopped].
func (e *Engine) Start(ctx context.Context) error {
	_, err := e.start(ctx)
	return err
}

// start is Start, returning the scheduler it started so that Run waits on
// that one, not on whichever runs when it looks.
func (e *Engine) start(ctx context.Context) (*scheduler, error) {
	if err := e.needWorkspace("start"); err != nil {
		return nil, err
	}
	// Refuse at once what no scheduled run could get past, rather than
	// start a loop that would only stop again.
	if _, err := e.ensureConnected(ctx); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	e.mu.Lock()
	if e.closed { // checked under the lock Close takes, so Close cannot miss this loop
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if e.sched != nil {
		e.mu.Unlock()
		return nil, ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &scheduler{cancel: cancel, done: make(chan struct{})}
	e.sched = s
	e.mu.Unlock()
	// Emitted outside e.mu: a hook that calls Status must not deadlock.
	e.emit(event.Event{Kind: event.SchedulerStarted, Message: "scheduler started"})
	go func() {
		defer close(s.done)
		s.err = e.loop(ctx)
		if s.err == nil && e.isClosed() {
			s.err = ErrClosed // stopped by Close: Run tells its caller
		}
		if s.err != nil && !errors.Is(s.err, ErrClosed) {
			e.log.Error("scheduler stopped", "err", s.err)
		}
		e.emit(event.Event{Kind: event.SchedulerStopped, Message: "scheduler stopped", Err: s.err})
		// The engine can be started again.
		e.mu.Lock()
		if e.sched == s {
			e.sched = nil
		}
		e.mu.Unlock()
	}()
	return s, nil
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// Run is the lifecycle of a long-running program (`mpsync run`), shaped like
// a controller-runtime Runnable: it starts the scheduler and blocks. It
// returns nil when ctx ends, after stopping cleanly, and a permanent error
// as soon as the rules cannot run again without an operator: the store was
// disconnected ([ErrNotConnected]), is bound to another workspace
// ([ErrOtherWorkspace]), the group does not meet the connection requirement
// ([ErrRequirement]), or the engine was closed ([ErrClosed]). Transient
// failures (the service down, a change that failed) are logged, recorded
// and retried on the schedule; they never end Run.
func (e *Engine) Run(ctx context.Context) error {
	s, err := e.start(ctx)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		s.cancel()
	case <-s.done:
	}
	<-s.done // the run in flight, cancelled, stops at its next step
	e.releaseLease(context.WithoutCancel(ctx))
	if errors.Is(s.err, ErrClosed) || ctx.Err() == nil {
		return s.err
	}
	return nil // ctx ended: a clean stop
}

// stopTimeout bounds how long Stop and Run wait to hand the lease over.
const stopTimeout = 10 * time.Second

// Stop ends the scheduler, waits for an in-flight scheduled run to finish
// (its context is cancelled, so it stops at its next step) and releases the
// lease, so that another management server takes over at once rather than
// when the TTL runs out. It leaves no goroutine behind. ctx bounds the wait:
// when it ends first, Stop returns its error and the run finishes on its
// own. Stop on an engine that is not running does nothing and returns nil.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	s := e.sched
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("stop: waiting for the run in flight: %w", ctx.Err())
	}
	e.mu.Lock()
	if e.sched == s {
		e.sched = nil
	}
	e.mu.Unlock()
	return e.releaseLease(ctx)
}

// releaseLease hands the lease over at once rather than when the TTL runs
// out, bounded by stopTimeout.
func (e *Engine) releaseLease(ctx context.Context) error {
	if e.lease == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	if err := e.lease.Release(rctx, e.holder); err != nil {
		e.log.Warn("cannot release the lease", "holder", e.holder, "err", err)
		return fmt.Errorf("stop: release the lease held by %s: %w", e.holder, err)
	}
	return nil
}

// loop runs the due rules at every wake-up until ctx ends (nil) or a run
// fails for a reason no retry can fix (that error).
func (e *Engine) loop(ctx context.Context) error {
	for {
		if _, err := e.RunDue(ctx); err != nil && ctx.Err() == nil {
			if permanent(err) {
				return err
			}
			e.log.Warn("scheduled run did not happen", "err", err)
		}
		wake := e.nextWake(ctx)
		t := e.clock.NewTimer(wake.Sub(e.clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// nextWake returns when the loop should look again: the earliest next run,
// or the settings poll, whichever is sooner.
func (e *Engine) nextWake(ctx context.Context) time.Time {
	wake := e.clock.Now().Add(DefaultSettingsPoll)
	for _, next := range e.advanceSchedule(ctx) {
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
	}
	return wake
}

// NextRuns returns when each enabled rule runs next on the schedule; a
// disabled rule is absent. Before the first run, a rule is due now; after a
// change of Frequency, the next run counts from the rule's last run (a time
// already past means the rule is due now). It only reads:
// the scheduler adopts the same answer (and emits [event.ScheduleChanged])
// at its next wake-up.
func (e *Engine) NextRuns(ctx context.Context) map[rules.Rule]time.Time {
	return e.nextRuns(ctx, false)
}

// advanceSchedule is NextRuns for the scheduler: it records the settings
// and times it computed and emits event.ScheduleChanged for a rule whose
// Frequency changed.
func (e *Engine) advanceSchedule(ctx context.Context) map[rules.Rule]time.Time {
	return e.nextRuns(ctx, true)
}

func (e *Engine) nextRuns(ctx context.Context, commit bool) map[rules.Rule]time.Time {
	out := map[rules.Rule]time.Time{}
	for _, r := range rules.All() {
		if next, ok := e.nextRun(ctx, r, commit); ok {
			out[r] = next
		}
	}
	return out
}

// nextRun computes a rule's next run from its settings and last run,
// following setting changes; with commit it records the result. When the
// settings cannot be read, the last valid ones stay in force.
func (e *Engine) nextRun(ctx context.Context, r rules.Rule, commit bool) (time.Time, bool) {
	st, err := e.settings.Settings(ctx, r)
	e.mu.Lock()
	prev, known := e.rc.settings[r]
	if err != nil {
		e.mu.Unlock()
		if commit {
			e.log.Warn("rule settings unreadable; keeping the last valid ones", "rule", r.ShortName(), "err", err)
		}
		if !known {
			return time.Time{}, false
		}
		e.mu.Lock()
		st = prev
	}
	next, scheduled := e.rc.next[r]
	changed := false
	switch {
	case !st.Enabled:
		scheduled = false
	case !scheduled:
		// First start, or re-enabled: due now.
		next, scheduled = e.clock.Now(), true
	case known && prev.Frequency != st.Frequency:
		// Frequency changed: re-plan from the last run rather than keep a
		// time computed for the old frequency; a next run already past is
		// due now.
		from, ran := e.rc.ranAt[r]
		if !ran {
			from = e.clock.Now()
		}
		next, changed = e.nextAfter(st, from), true
	}
	if commit {
		e.rc.settings[r] = st
		if scheduled {
			e.rc.next[r] = next
		} else {
			delete(e.rc.next, r)
		}
	}
	e.mu.Unlock()
	if commit && changed {
		e.emit(event.Event{Kind: event.ScheduleChanged, Rule: r, Message: fmt.Sprintf("%s; next run %s", st, sinceText(next))})
	}
	return next, scheduled
}

// RunDue runs, now, every enabled rule whose scheduled time has come (both
// together, MPUpdate first), then schedules each for its next run. It is the
// step the scheduler takes at every wake-up; a harness driving a
// [mpsynctest.ManualClock] calls it after each advance to see exactly the
// runs that are due (see mpsynctest.Drive). It returns the report of the run,
// or nil when nothing was due.
func (e *Engine) RunDue(ctx context.Context) (rep *Report, err error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	now := e.clock.Now()
	var due []rules.Rule
	defer func() {
		// A panic anywhere in the step (settings source, lease, workspace,
		// store, approver) fails the run, not the process.
		if p := recover(); p != nil {
			err = fmt.Errorf("run of %v panicked: %v", due, p)
			e.log.Error("run panicked", "rules", due, "panic", p, "stack", string(debug.Stack()))
			e.finishRuns(context.WithoutCancel(ctx), due, now, nil, err, nil)
		}
	}()
	for r, next := range e.advanceSchedule(ctx) {
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
		// after the settings poll, or a third of the lease TTL when that is
		// shorter: soon enough to take over once the holder's lease
		// expires, without spinning.
		retry := min(DefaultSettingsPoll, max(e.leaseTTL/3, 100*time.Millisecond))
		e.mu.Lock()
		for _, r := range due {
			e.rc.next[r] = now.Add(retry)
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
			e.rc.ranAt[r] = now
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

// permanent reports whether a scheduled run failed for a reason that no
// retry on the schedule can fix: only an operator can (connect again,
// switch workspace, upgrade the group, make a new engine).
func permanent(err error) bool {
	return errors.Is(err, ErrNotConnected) || errors.Is(err, ErrOtherWorkspace) ||
		errors.Is(err, ErrRequirement) || errors.Is(err, ErrClosed)
}

// Close makes further calls return [ErrClosed], stops the scheduler if it
// runs and waits for every operation in flight, scheduled or not (a Sync on
// another goroutine included), to finish. It does not close the store: the
// caller that opened it closes it after Close returns.
func (e *Engine) Close() error {
	e.mu.Lock()
	first := !e.closed
	e.closed = true
	e.mu.Unlock()
	var err error
	if first {
		err = e.Stop(context.Background())
	} else if s := e.currentScheduler(); s != nil {
		<-s.done // a concurrent Close is stopping it
	}
	e.inflight.Wait()
	return err
}

func (e *Engine) currentScheduler() *scheduler {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sched
}
