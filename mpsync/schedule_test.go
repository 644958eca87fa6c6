package mpsync_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/lease"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/clock"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

func countRuns(reps []*mpsync.Report) map[rules.Rule]int {
	n := map[rules.Rule]int{}
	for _, rep := range reps {
		for _, r := range rep.Plan.Rules {
			n[r]++
		}
	}
	return n
}

func TestDriveTwelveHoursWithDefaults(t *testing.T) {
	r := newRig(t, nil)
	reps, err := mpsynctest.Drive(context.Background(), r.engine, r.clock, t0.Add(12*time.Hour))
	require.NoError(t, err)
	runs := countRuns(reps)
	assert.Equal(t, 2, runs[rules.MPUpdate], "MPUpdate at start and after 12 h")
	assert.Equal(t, 145, runs[rules.GetIntelligencePacks], "every 5 minutes, start included")
	assert.Equal(t, []rules.Rule{rules.MPUpdate, rules.GetIntelligencePacks}, reps[0].Plan.Rules, "first start runs both, base first")
	assert.Equal(t, t0.Add(12*time.Hour), r.clock.Now())
}

// switchable is a settings source a test changes while the engine runs, as
// an override pack edited on disk would.
type switchable struct {
	mu  sync.Mutex
	set map[rules.Rule]rules.Settings
}

func newSwitchable() *switchable {
	s := &switchable{set: map[rules.Rule]rules.Settings{}}
	for _, r := range rules.All() {
		s.set[r] = rules.Effective(nil, r)
	}
	return s
}

func (s *switchable) Settings(_ context.Context, r rules.Rule) (rules.Settings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[r], nil
}

func (s *switchable) update(r rules.Rule, f func(*rules.Settings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.set[r]
	f(&st)
	s.set[r] = st
}

func TestScheduleFollowsSettingsWithoutRestart(t *testing.T) {
	src := newSwitchable()
	r := newRig(t, &mpsync.Options{Settings: src})
	ctx := context.Background()

	reps, err := mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 13, countRuns(reps)[rules.GetIntelligencePacks])

	src.update(rules.GetIntelligencePacks, func(s *rules.Settings) {
		s.Frequency, s.FrequencySource = time.Hour, rules.Source{OverrideID: "Test.Hourly"}
	})
	src.update(rules.MPUpdate, func(s *rules.Settings) { s.Enabled, s.EnabledSource = false, rules.Source{OverrideID: "Test.Off"} })
	reps, err = mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(25*time.Hour))
	require.NoError(t, err)
	runs := countRuns(reps)
	assert.Equal(t, 24, runs[rules.GetIntelligencePacks], "hourly after the override")
	assert.Zero(t, runs[rules.MPUpdate], "a disabled rule does not run")

	st, err := r.engine.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Rules[0].Enabled)
	assert.Equal(t, "Test.Off", st.Rules[0].EnabledSource.OverrideID)
	assert.Equal(t, time.Hour, st.Rules[1].Frequency)

	rep, err := r.engine.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)
	require.Len(t, rep.Skipped, 1, "an explicit sync honours Enabled too")
	assert.Contains(t, rep.Skipped[0].Reason, "override Test.Off")
}

func TestStartRunsOnScheduleInSyncTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		client := newClient(t, srv)
		var mu sync.Mutex
		runs := map[rules.Rule]int{}
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: client, OnEvent: func(ev event.Event) {
			if ev.Kind == event.RunFinished {
				mu.Lock()
				runs[ev.Rule]++
				mu.Unlock()
			}
		}})
		require.NoError(t, err)
		ctx := t.Context()
		require.NoError(t, e.Start(ctx))
		assert.ErrorIs(t, e.Start(ctx), mpsync.ErrRunning)
		time.Sleep(time.Hour + time.Second)
		synctest.Wait()
		e.Stop(context.Background())
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, 1, runs[rules.MPUpdate])
		assert.Equal(t, 13, runs[rules.GetIntelligencePacks])
		require.NoError(t, e.Close())
	})
}

func TestStopLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := mpsynctest.NewServer()
	defer srv.Close()
	cfg := srv.ClientConfig()
	client, err := newClientFrom(cfg)
	require.NoError(t, err)
	e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: client})
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background()))
	e.Stop(context.Background())
	e.Stop(context.Background()) // idempotent
	require.NoError(t, e.Close())
	_, err = e.Sync(context.Background())
	assert.ErrorIs(t, err, mpsync.ErrClosed)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

func TestOverridePacksDriveTheSchedule(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join("..", "testdata", "overrides", "mpupdate-disabled.xml"), filepath.Join(dir, "freeze.xml"))
	copyFile(t, filepath.Join("..", "testdata", "overrides", "gip-hourly.xml"), filepath.Join(dir, "hourly.xml"))
	src := rules.FromOverrides(overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}}), overrides.Target{})
	r := newRig(t, &mpsync.Options{Settings: src})
	ctx := context.Background()

	reps, err := mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(6*time.Hour))
	require.NoError(t, err)
	runs := countRuns(reps)
	assert.Zero(t, runs[rules.MPUpdate], "disabled by the override pack")
	assert.Equal(t, 7, runs[rules.GetIntelligencePacks], "hourly: at start and each hour")
	st, err := r.engine.Status(ctx)
	require.NoError(t, err)
	assert.Contains(t, st.Rules[1].FrequencySource.String(), "override")
	assert.Equal(t, time.Hour, st.Rules[1].Frequency)

	// A broken edit keeps the last valid overrides (the freeze holds) and
	// is reported.
	copyFile(t, filepath.Join("..", "testdata", "overrides", "malformed.xml"), filepath.Join(dir, "freeze.xml"))
	reps, err = mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(8*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, countRuns(reps)[rules.MPUpdate])
	require.Error(t, src.Err())
	assert.Contains(t, src.Err().Error(), "freeze.xml")

	// Lifting the freeze: the rule runs again without a restart.
	require.NoError(t, os.Remove(filepath.Join(dir, "freeze.xml")))
	reps, err = mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(9*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, countRuns(reps)[rules.MPUpdate])
	assert.NoError(t, src.Err())
}

func TestDeferredChangeRunsWhenTheWindowOpens(t *testing.T) {
	win, err := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "UTC")
	require.NoError(t, err)
	r := newRig(t, &mpsync.Options{Approver: win})
	ctx := context.Background()
	until := time.Date(2026, 11, 28, 2, 30, 0, 0, time.UTC)
	reps, err := mpsynctest.Drive(ctx, r.engine, r.clock, until)
	require.NoError(t, err)
	opening := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	var atOpening *mpsync.Report
	for _, rep := range reps {
		if rep.Started.Equal(opening) {
			atOpening = rep
		}
	}
	require.NotNil(t, atOpening, "a run at the window's opening")
	assert.Contains(t, atOpening.Plan.Rules, rules.MPUpdate, "the 12-hour rule runs when its window opens, not at 12:00")
	assert.Equal(t, "import/applied", results(atOpening)[advisorID])
	assert.Contains(t, r.versions(t), advisorID)

	recs, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{Kind: ledger.KindDecision, Pack: advisorID})
	require.NoError(t, err)
	assert.Len(t, recs, 2, "one deferral and one approval recorded, not one per run: %v", recs)
}

// blockingApprover holds every decision until release is closed, so a test
// can hold a run in flight.
type blockingApprover struct {
	entered chan struct{} // closed by the first Decide
	release chan struct{}
	once    sync.Once
}

func newBlockingApprover() *blockingApprover {
	return &blockingApprover{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingApprover) Decide(ctx context.Context, _ approval.Request) (approval.Decision, error) {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return approval.Decision{Verdict: plan.Approve, By: "test"}, nil
	case <-ctx.Done():
		return approval.Decision{}, ctx.Err()
	}
}

// Run used to return nil whenever Start succeeded and only log afterwards,
// so `mpsync run` on a store disconnected under it looped forever.
func TestRunReturnsPermanentError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv)})
		require.NoError(t, err)
		defer e.Close()
		ctx := t.Context()
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(time.Minute) // the first runs connect the store
		synctest.Wait()
		_, err = e.Disconnect(ctx)
		require.NoError(t, err)
		time.Sleep(10 * time.Minute) // the next GetIntelligencePacks run meets the disconnected store
		synctest.Wait()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, mpsync.ErrNotConnected)
		default:
			t.Fatal("Run still running on a disconnected store")
		}
		// Started on a disconnected store, Run refuses at once.
		assert.ErrorIs(t, e.Run(ctx), mpsync.ErrNotConnected)
		assert.ErrorIs(t, e.Start(ctx), mpsync.ErrNotConnected)
	})
}

func TestRunReturnsNilWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		var stopped []error
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv), OnEvent: func(ev event.Event) {
			if ev.Kind == event.SchedulerStopped {
				stopped = append(stopped, ev.Err)
			}
		}})
		require.NoError(t, err)
		defer e.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(time.Hour)
		cancel()
		synctest.Wait()
		require.NoError(t, <-done)
		assert.Equal(t, []error{nil}, stopped, "one stop event, with no error")
		require.NoError(t, e.Start(t.Context()), "the engine can be started again")
		require.NoError(t, e.Stop(t.Context()))
	})
}

// Close used not to wait for a Sync running on another goroutine, so a
// program could close the store under a run still writing to it.
func TestCloseWaitsForSyncInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		ap := newBlockingApprover()
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv), Approver: ap})
		require.NoError(t, err)
		syncDone := make(chan struct{})
		go func() {
			defer close(syncDone)
			_, _ = e.Sync(t.Context())
		}()
		<-ap.entered
		closeDone := make(chan error, 1)
		go func() { closeDone <- e.Close() }()
		synctest.Wait()
		select {
		case <-closeDone:
			t.Fatal("Close returned while a Sync was in flight")
		default:
		}
		_, err = e.Sync(t.Context())
		assert.ErrorIs(t, err, mpsync.ErrClosed, "nothing new is admitted once Close began")
		close(ap.release)
		<-syncDone
		require.NoError(t, <-closeDone)
	})
}

// Stop takes a context: a run that does not finish in time is left to
// finish on its own, and Stop says so.
func TestStopHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		ap := newBlockingApprover()
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv), Approver: ap})
		require.NoError(t, err)
		defer e.Close()
		// Hold the approver past cancellation: the run in flight ignores
		// its cancelled context until released.
		held := approval.ApproverFunc(func(ctx context.Context, req approval.Request) (approval.Decision, error) {
			return ap.Decide(context.WithoutCancel(ctx), req)
		})
		e2, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv), Approver: held})
		require.NoError(t, err)
		require.NoError(t, e2.Start(t.Context()))
		<-ap.entered
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err = e2.Stop(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		close(ap.release)
		require.NoError(t, e2.Close(), "Close waits for the run without a deadline")
	})
}

// NextRuns used to record the settings it read and emit
// event.ScheduleChanged: a status query changed the schedule.
func TestNextRunsOnlyReads(t *testing.T) {
	src := newSwitchable()
	r := newRig(t, &mpsync.Options{Settings: src})
	ctx := context.Background()
	_, err := mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(time.Hour))
	require.NoError(t, err)
	src.update(rules.GetIntelligencePacks, func(s *rules.Settings) { s.Frequency = time.Hour })
	changed := func() int {
		n := 0
		for _, ev := range r.events {
			if ev.Kind == event.ScheduleChanged {
				n++
			}
		}
		return n
	}
	before := changed()
	first := r.engine.NextRuns(ctx)
	second := r.engine.NextRuns(ctx)
	assert.Equal(t, first, second, "reading twice gives the same answer")
	assert.Equal(t, before, changed(), "reading emits nothing")
	assert.Equal(t, t0.Add(2*time.Hour), first[rules.GetIntelligencePacks], "hourly, counted from the last run")
	reps, err := mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, before+1, changed(), "the scheduler adopts the change once")
	require.Len(t, reps, 1)
	assert.Equal(t, t0.Add(2*time.Hour), r.clock.Now())
}

// countingLease counts Acquire calls. Past spinLimit calls it blocks until
// ctx is done: inside a synctest bubble the clock only moves when every
// goroutine is blocked, so a scheduler spinning at one instant would
// otherwise keep the fake clock still and hang the test instead of failing
// it.
type countingLease struct {
	mpsync.Lease
	n atomic.Int64
}

const spinLimit = 1000

func (l *countingLease) Acquire(ctx context.Context, h string, ttl time.Duration) (bool, error) {
	if l.n.Add(1) > spinLimit {
		<-ctx.Done()
		return false, ctx.Err()
	}
	return l.Lease.Acquire(ctx, h, ttl)
}

// Regression: when another engine held the lease, the scheduler spun (the
// due time never moved, so the timer fired at once, over and over).
// The 200 ms are fake time in a synctest bubble.
func TestRegressionStandbyDoesNotSpinWhileAnotherHoldsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ws := newFakeWS("ws1")
		ws.put(advisor, "1.0.0.0", "")
		s := store.NewMemory()
		ml := lease.NewMemory(nil)
		ok, _ := ml.Acquire(context.Background(), "B", time.Hour)
		require.True(t, ok)
		cl := &countingLease{Lease: ml}
		e := newFakeEngine(t, ws, s, &mpsync.Options{Clock: clock.System{}, Lease: cl, Holder: "A"})
		require.NoError(t, e.Start(context.Background()))
		time.Sleep(200 * time.Millisecond)
		e.Stop(context.Background())
		t.Logf("Acquire called %d times in 200ms", cl.n.Load())
		require.Less(t, cl.n.Load(), int64(10), "scheduler busy-loops on the lease while another engine holds it")
	})
}

// Regression: a scheduler ended by cancelling its context left the engine
// looking started, so a later Start returned ErrRunning.
func TestRegressionStartAfterCtxCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ws := newFakeWS("ws1")
		ws.put(advisor, "1.0.0.0", "")
		e := newFakeEngine(t, ws, store.NewMemory(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, e.Start(ctx))
		cancel()
		synctest.Wait() // the first scheduler's goroutine has seen the cancel and ended
		err := e.Start(context.Background())
		require.NoError(t, err, "Start after the first scheduler's ctx was cancelled")
		e.Stop(context.Background())
	})
}

// Review: Run returned nil when Close stopped it, which a supervisor reads
// as "the context ended".
func TestRunReturnsErrClosedAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv)})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- e.Run(t.Context()) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		closed := make(chan error, 2)
		go func() { closed <- e.Close() }()
		go func() { closed <- e.Close() }()
		require.NoError(t, <-closed)
		require.NoError(t, <-closed, "a second Close waits as the first does")
		assert.ErrorIs(t, <-done, mpsync.ErrClosed)
	})
}

// Review: an OnEvent hook that panicked crashed the scheduler's goroutine,
// and the process with it.
func TestPanickingEventHookDoesNotStopTheScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newServer(t)
		var mu sync.Mutex
		finished := 0
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv), OnEvent: func(ev event.Event) {
			if ev.Kind == event.RunFinished {
				mu.Lock()
				finished++
				mu.Unlock()
				panic("buggy hook")
			}
		}})
		require.NoError(t, err)
		require.NoError(t, e.Start(t.Context()))
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		require.NoError(t, e.Close())
		mu.Lock()
		defer mu.Unlock()
		assert.GreaterOrEqual(t, finished, 3, "runs went on after the hook panicked")
	})
}
