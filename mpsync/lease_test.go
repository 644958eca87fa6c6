package mpsync_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/lease"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
)

// Regression: a run that had lost its lease kept changing the store.
//
// A run that outlives its lease (here: an approver that takes longer than
// LeaseTTL) must not change the store once another engine has taken over.
func TestRegressionRunThatLostItsLeaseChangesNothing(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	s := store.NewMemory()
	clock := mpsynctest.NewManualClock(t0)
	lease := lease.NewMemory(clock)
	inA := make(chan struct{})
	releaseA := make(chan struct{})
	var running atomic.Int32
	var overlap atomic.Bool
	var holdOnce sync.Once
	slow := approval.ApproverFunc(func(ctx context.Context, r approval.Request) (approval.Decision, error) {
		if running.Add(1) > 1 {
			overlap.Store(true)
		}
		defer running.Add(-1)
		// The first decision (A's) blocks until the test lets it go; a
		// blocking send, so that it cannot slip past before the test
		// waits on inA (review: the select with default could, and the
		// test then hung).
		first := false
		holdOnce.Do(func() { first = true })
		if first {
			inA <- struct{}{}
			<-releaseA
		}
		return approval.Decision{Verdict: plan.Approve}, nil
	})
	a := newFakeEngine(t, ws, s, &mpsync.Options{Clock: clock, Lease: lease, Holder: "A", Approver: slow})
	b := newFakeEngine(t, ws, s, &mpsync.Options{Clock: clock, Lease: lease, Holder: "B", Approver: slow})
	done := make(chan *mpsync.Report, 1)
	go func() { rep, _ := a.RunDue(ctx); done <- rep }()
	<-inA // A is inside its run, holding the lease
	clock.Advance(mpsync.DefaultLeaseTTL + time.Minute)
	repB, err := b.RunDue(ctx)
	require.NoError(t, err)
	require.NotNil(t, repB, "B takes over the expired lease and runs")
	require.Equal(t, "B", lease.Holder())
	close(releaseA)
	repA := <-done
	require.NotNil(t, repA)
	for _, o := range repA.Outcomes {
		if o.Action == plan.ActionImport {
			require.Equal(t, mpsync.ResultSkipped, o.Result, "A lost the lease: it must not change the store")
			require.ErrorContains(t, o.Err, "lease")
		}
	}
	require.False(t, overlap.Load() && repA.Applied() != nil)
}

func TestLeaseLetsOneManagementServerRun(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	lease := lease.NewMemory(r.clock)
	ms1 := r.newEngine(t, r.store, &mpsync.Options{Lease: lease, Holder: "MS01"})
	ms2 := r.newEngine(t, r.store, &mpsync.Options{Lease: lease, Holder: "MS02"})

	rep1, err := ms1.RunDue(ctx)
	require.NoError(t, err)
	require.NotNil(t, rep1, "MS01 takes the free lease and runs")
	rep2, err := ms2.RunDue(ctx)
	require.NoError(t, err)
	assert.Nil(t, rep2, "MS02 waits while MS01 holds the lease")
	assert.Equal(t, "MS01", lease.Holder())

	// MS01 goes down: it stops renewing, the lease expires, MS02 takes over.
	r.clock.Advance(mpsync.DefaultLeaseTTL + time.Minute)
	rep2, err = ms2.RunDue(ctx)
	require.NoError(t, err)
	require.NotNil(t, rep2, "MS02 takes over after the lease expired")
	assert.Equal(t, "MS02", lease.Holder())
	rep1, err = ms1.RunDue(ctx)
	require.NoError(t, err)
	assert.Nil(t, rep1, "MS01 back up does not run while MS02 holds the lease")
}
