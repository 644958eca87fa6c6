package mpsync_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"mpsync.dev/mpsync/status"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
)

// blockingStore blocks the first WriteMeta(runs.json) after arm() until release.
type blockingStore struct {
	mpsync.Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) WriteMeta(ctx context.Context, name string, data []byte) error {
	if name == "runs.json" && b.armed.CompareAndSwap(true, false) {
		close(b.entered)
		<-b.release
	}
	return b.Store.WriteMeta(ctx, name, data)
}

// Regression: Validate's read-modify-write of runs.json, unserialised,
// overwrote the LastSuccess a concurrent Sync recorded.
//
// Validate updates runs.json (read-modify-write) while a Sync may run: the
// updates are serialised, so Validate never writes back a history it read
// before the run and the run's LastSuccess survives.
func TestRegressionValidateKeepsRunHistory(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	bs := &blockingStore{Store: store.NewMemory(), entered: make(chan struct{}), release: make(chan struct{})}
	e := newFakeEngine(t, ws, bs, nil)
	_, err := e.Connect(ctx) // connected, MPUpdate ran
	require.NoError(t, err)
	bs.armed.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = e.Validate(ctx) }()
	<-bs.entered // Validate has read runs.json and is writing it
	synced := make(chan error, 1)
	go func() { _, err := e.Sync(ctx); synced <- err }()
	close(bs.release) // the Sync's history update waits for Validate's write
	wg.Wait()
	require.NoError(t, <-synced)
	st, err := e.Status(ctx)
	require.NoError(t, err)
	require.False(t, st.Rules[1].LastSuccess.IsZero(), "the LastSuccess the concurrent Sync recorded is kept")
}

// countingMetaStore counts the writes of each metadata record.
type countingMetaStore struct {
	*store.Memory
	mu     sync.Mutex
	writes map[string]int
}

func (s *countingMetaStore) WriteMeta(ctx context.Context, name string, data []byte) error {
	s.mu.Lock()
	s.writes[name]++
	s.mu.Unlock()
	return s.Memory.WriteMeta(ctx, name, data)
}

func (s *countingMetaStore) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes[name]
}

// A run used to write the run history twice, once for what the catalog
// request learned of the service and once for the run's result: on the
// directory store, two durable transactions every five minutes. It writes
// it once, and both are in it.
func TestRunWritesTheRunHistoryOnce(t *testing.T) {
	ctx := context.Background()
	s := &countingMetaStore{Memory: store.NewMemory(), writes: map[string]int{}}
	r := newRig(t, nil)
	e := r.newEngine(t, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		before := s.count("runs.json")
		_, err := e.Sync(ctx)
		require.NoError(t, err)
		require.Equal(t, before+1, s.count("runs.json"), "run %d: one write of the run history", i)
	}
	st, err := e.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.Workspace.Reachable, "what the catalog request learned is recorded")
	require.Equal(t, r.srv.Serial(), st.Workspace.LastCatalogSerial)
	require.Equal(t, status.RunOK, st.Rules[1].LastResult, "and so is the run's result")

	// A dry run (Plan) has no end to wait for: it writes its note at once.
	before := s.count("runs.json")
	_, err = e.Plan(ctx)
	require.NoError(t, err)
	require.Equal(t, before+1, s.count("runs.json"))
}

// Regression (issue 15, point 6): pending approvals for versions already
// superseded stayed listed forever: a change waiting for X 1.0 after the
// operator imported X 2.0, or one the catalog no longer plans.
func TestRegressionOvertakenApprovalsArePruned(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	ws.put("Y", "1.0.0.0", "S")
	s := store.NewMemory()
	clock := mpsynctest.NewManualClock(t0)
	manual := approval.NewManual(s, approval.ManualClock(clock))
	e := newFakeEngine(t, ws, s, &mpsync.Options{Approver: manual, Clock: clock})
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	waiting := func() []string {
		t.Helper()
		p, err := manual.Pending(ctx)
		require.NoError(t, err)
		var out []string
		for _, c := range p {
			out = append(out, c.Change.Pack)
		}
		return out
	}
	require.ElementsMatch(t, []string{advisor, "X", "Y"}, waiting())

	// The operator imports X 2.0 by hand; the catalog stops serving Y.
	_, err = e.Import(ctx, bytes.NewReader(mpsynctest.Pack("X", "2.0.0.0")), mpsync.ImportOptions{})
	require.NoError(t, err)
	ws.drop("Y")
	st, err := e.Status(ctx)
	require.NoError(t, err)
	for _, a := range st.Approvals {
		assert.NotEqual(t, "X", a.Pack, "status lists a change the store has overtaken")
	}

	_, err = e.Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{advisor}, waiting(), "the queue drops what is overtaken")
	for _, id := range []string{"X", "Y"} {
		for _, c := range st.Pending {
			if c.Pack == id {
				state, err := manual.State(ctx, c.ID)
				require.NoError(t, err)
				assert.Equal(t, approval.QueueSuperseded, state, id)
			}
		}
	}
	st, err = e.Status(ctx)
	require.NoError(t, err)
	for _, a := range st.Approvals {
		assert.Equal(t, advisor, a.Pack)
	}
}
