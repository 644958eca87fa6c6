package mpsync_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
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
