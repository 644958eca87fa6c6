package mpsync_test

import (
	"context"
	"sync"
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
)

func TestRegressionRaceAll(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put(advisor, "1.0.0.0", "")
	ws.put("X", "1.0.0.0", "S")
	clock := mpsynctest.NewManualClock(t0)
	e := newFakeEngine(t, ws, store.NewMemory(), &mpsync.Options{Clock: clock, Lease: mpsync.NewMemoryLease(clock), Holder: "A"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(6)
		go func() { defer wg.Done(); _, _ = e.Sync(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Plan(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Status(ctx) }()
		go func() { defer wg.Done(); _, _ = e.Validate(ctx) }()
		go func() { defer wg.Done(); _ = e.Start(ctx); e.NextRuns(ctx); clock.Advance(300e9) }()
		go func() { defer wg.Done(); e.Stop() }()
	}
	wg.Wait()
	e.Stop()
}
