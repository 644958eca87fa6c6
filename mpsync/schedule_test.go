package mpsync_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
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
	set map[rules.Rule]mpsync.RuleSettings
}

func newSwitchable() *switchable {
	s := &switchable{set: map[rules.Rule]mpsync.RuleSettings{}}
	for _, r := range rules.All() {
		s.set[r] = mpsync.RuleSettings{Rule: r, Enabled: true, Frequency: r.DefaultFrequency(), EnabledSource: "default", FrequencySource: "default"}
	}
	return s
}

func (s *switchable) Settings(_ context.Context, r rules.Rule) (mpsync.RuleSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[r], nil
}

func (s *switchable) update(r rules.Rule, f func(*mpsync.RuleSettings)) {
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

	src.update(rules.GetIntelligencePacks, func(s *mpsync.RuleSettings) {
		s.Frequency, s.FrequencySource = time.Hour, "override Test.Hourly in pack Test.Overrides"
	})
	src.update(rules.MPUpdate, func(s *mpsync.RuleSettings) { s.Enabled, s.EnabledSource = false, "override Test.Off" })
	reps, err = mpsynctest.Drive(ctx, r.engine, r.clock, t0.Add(25*time.Hour))
	require.NoError(t, err)
	runs := countRuns(reps)
	assert.Equal(t, 24, runs[rules.GetIntelligencePacks], "hourly after the override")
	assert.Zero(t, runs[rules.MPUpdate], "a disabled rule does not run")

	st, err := r.engine.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Rules[0].Enabled)
	assert.Equal(t, "override Test.Off", st.Rules[0].EnabledSource)
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
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: client, OnEvent: func(ev mpsync.Event) {
			if ev.Kind == mpsync.EventRunFinished {
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
		e.Stop()
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
	e.Stop()
	e.Stop() // idempotent
	require.NoError(t, e.Close())
	_, err = e.Sync(context.Background())
	assert.ErrorIs(t, err, mpsync.ErrClosed)
}
