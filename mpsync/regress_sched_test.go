package mpsync_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
)

type countingLease struct {
	mpsync.Lease
	n atomic.Int64
}

func (l *countingLease) Acquire(ctx context.Context, h string, ttl time.Duration) (bool, error) {
	l.n.Add(1)
	return l.Lease.Acquire(ctx, h, ttl)
}

// Regression: when another engine held the lease, the scheduler spun (the
// due time never moved, so the timer fired at once, over and over).
func TestRegressionStandbyDoesNotSpinWhileAnotherHoldsTheLease(t *testing.T) {
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	s := store.NewMemory()
	ml := mpsync.NewMemoryLease(nil)
	ok, _ := ml.Acquire(context.Background(), "B", time.Hour)
	require.True(t, ok)
	cl := &countingLease{Lease: ml}
	e := newFakeEngine(t, ws, s, &mpsync.Options{Clock: mpsync.SystemClock{}, Lease: cl, Holder: "A"})
	require.NoError(t, e.Start(context.Background()))
	time.Sleep(200 * time.Millisecond)
	e.Stop(context.Background())
	t.Logf("Acquire called %d times in 200ms", cl.n.Load())
	require.Less(t, cl.n.Load(), int64(10), "scheduler busy-loops on the lease while another engine holds it")
}

// Regression: a scheduler ended by cancelling its context left the engine
// looking started, so a later Start returned ErrRunning.
func TestRegressionStartAfterCtxCancel(t *testing.T) {
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, ws, store.NewMemory(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, e.Start(ctx))
	cancel()
	time.Sleep(50 * time.Millisecond)
	err := e.Start(context.Background())
	require.NoError(t, err, "Start after the first scheduler's ctx was cancelled")
	e.Stop(context.Background())
}

type errWS struct{ *fakeWS }

func (w errWS) Catalog(ctx context.Context) (mpsync.CatalogResult, error) {
	return mpsync.CatalogResult{}, errors.New("401 unauthorized: wrong key")
}

// Regression: the first Sync bound the store to the workspace before the
// catalog was fetched, so a wrong workspace id bound the store.
func TestRegressionFirstSyncBindsOnlyAfterAFreshCatalog(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	bad := newFakeEngine(t, errWS{newFakeWS("typo-ws")}, s, nil)
	_, err := bad.Sync(ctx)
	require.Error(t, err)
	c, _ := bad.Connection(ctx)
	t.Logf("after failed first sync: state=%s workspace=%s", c.State, c.WorkspaceID)
	good := newFakeWS("ws1")
	good.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, good, s, nil)
	_, err = e.Sync(ctx)
	require.NoError(t, err, "the correct workspace is refused because a failed sync bound the store")
}

// Regression: Disconnect of a never-connected store marked it disconnected,
// so Sync refused and Connect demanded the Resources pack of a reconnect.
func TestRegressionDisconnectNeverConnected(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	e0, err := mpsync.New(s, nil)
	require.NoError(t, err)
	_, err = e0.Disconnect(ctx)
	t.Logf("disconnect never-connected: err=%v", err)
	c, _ := e0.Connection(ctx)
	t.Logf("state=%s ws=%q", c.State, c.WorkspaceID)
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, ws, s, nil)
	_, err = e.Connect(ctx)
	require.NoError(t, err, "first Connect of a store that was never connected")
}

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
