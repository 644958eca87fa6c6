package mpsync_test

import (
	"context"
	"sync"
	"testing"

	"mpsync.dev/mpsync/lease"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
)

// Regression: Start, Stop and runs called concurrently raced (Start checked
// Close outside the scheduler's lock).
//
// Sync, Plan, Status, Validate, Start and Stop called together from many
// goroutines (checked by the race detector) leave a working engine.
func TestRegressionRaceAll(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put(advisor, "1.0.0.0", "")
	ws.put("X", "1.0.0.0", "S")
	clock := mpsynctest.NewManualClock(t0)
	e := newFakeEngine(t, ws, store.NewMemory(), &mpsync.Options{Clock: clock, Lease: lease.NewMemory(clock), Holder: "A"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(6)
		go func() { defer wg.Done(); _, _ = e.Sync(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Plan(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Status(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Validate(ctx) }()
		go func() { defer wg.Done(); _ = e.Start(ctx); e.NextRuns(ctx); clock.Advance(300e9) }()
		go func() { defer wg.Done(); e.Stop(context.Background()) }()
	}
	wg.Wait()
	e.Stop(context.Background())
	rep, err := e.Sync(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Failed())
	st, err := e.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Packs, 2, "both packs imported once everything settled")
	require.NoError(t, e.Start(ctx), "the scheduler can start again after all the Stops")
	e.Stop(context.Background())
}
