package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pgstore"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store/storetest"
)

// clock is a manual clock shared by two stores' leases.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// A holder that was paused past its lease writes nothing once another
// server took over: every kind of write is refused with ErrFenced and the
// store is as the new holder left it.
func TestFencedAfterTakeover(t *testing.T) {
	ctx := context.Background()
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano())
	schema := "fence_" + time.Now().Format("150405") + "_" + t.Name()[4:9]
	a := open(t, &pgstore.Options{Schema: schema, Now: c.now})
	b := open(t, &pgstore.Options{Schema: schema, Now: c.now})
	la, lb := a.Lease("PROD"), b.Lease("PROD")

	// Bound but never acquired: refused.
	require.ErrorIs(t, a.WriteMeta(ctx, "m", []byte("x")), pgstore.ErrFenced)

	ok, err := la.Acquire(ctx, "a", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	tokA := a.Token()
	require.NotZero(t, tokA)
	require.NoError(t, a.WriteMeta(ctx, "m", []byte("a1")))
	p1 := storetest.Pack("Contoso.Fence", "1.0")
	_, err = a.Import(ctx, storetest.Request("Contoso.Fence", "1.0", p1), bytes.NewReader(p1))
	require.NoError(t, err)
	// a stages a batch before it is paused.
	batch, err := a.Batch(ctx)
	require.NoError(t, err)
	defer batch.Discard()
	p2 := storetest.Pack("Contoso.Fence", "2.0")
	_, err = batch.Import(ctx, storetest.Request("Contoso.Fence", "2.0", p2), bytes.NewReader(p2))
	require.NoError(t, err)

	// Renewal keeps the token.
	ok, err = la.Acquire(ctx, "a", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, tokA, a.Token())

	// b cannot take a live lease; a is "paused" past it, and b takes over.
	ok, err = lb.Acquire(ctx, "b", 10*time.Second)
	require.NoError(t, err)
	require.False(t, ok)
	require.ErrorIs(t, b.WriteMeta(ctx, "m", []byte("b0")), pgstore.ErrFenced, "a standby writes nothing")
	c.add(11 * time.Second)
	ok, err = lb.Acquire(ctx, "b", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Greater(t, b.Token(), tokA)
	require.NoError(t, b.WriteMeta(ctx, "m", []byte("b1")))

	// a resumes, still believing it holds the lease.
	require.Equal(t, tokA, a.Token())
	fencedErrs := []error{
		a.WriteMeta(ctx, "m", []byte("a2")),
		a.AppendMeta(ctx, "m", []byte("a3")),
		batch.Commit(ctx),
		a.Remove(ctx, "Contoso.Fence"),
	}
	_, err = a.Rollback(ctx, "Contoso.Fence")
	fencedErrs = append(fencedErrs, err)
	p3 := storetest.Pack("Contoso.Other", "1.0")
	_, err = a.Import(ctx, storetest.Request("Contoso.Other", "1.0", p3), bytes.NewReader(p3))
	fencedErrs = append(fencedErrs, err)
	for i, err := range fencedErrs {
		require.ErrorIs(t, err, pgstore.ErrFenced, "write %d", i)
		var pe *pgstore.Error
		require.True(t, errors.As(err, &pe))
		require.Equal(t, "fence", pe.Step, "write %d: %v", i, err)
	}
	m, err := b.ReadMeta(ctx, "m")
	require.NoError(t, err)
	require.Equal(t, "b1", string(m))
	l, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, l, 1)
	require.Equal(t, "1.0.0.0", l[0].Version.String(), "a's batch did not commit")

	// When a asks again it learns it lost the lease; its writes stay refused.
	ok, err = la.Acquire(ctx, "a", 10*time.Second)
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, a.Token())
	require.ErrorIs(t, a.WriteMeta(ctx, "m", []byte("a4")), pgstore.ErrFenced)

	// b releases; a takes over with a newer token still.
	tokB := b.Token()
	require.NoError(t, lb.Release(ctx, "b"))
	require.ErrorIs(t, b.WriteMeta(ctx, "m", []byte("b2")), pgstore.ErrFenced, "a released lease fences its holder")
	ok, err = la.Acquire(ctx, "a", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Greater(t, a.Token(), tokB)
	require.NoError(t, a.WriteMeta(ctx, "m", []byte("a5")))
}

// An unbound store (an operator's command) writes whoever holds the lease.
func TestUnboundStoreWrites(t *testing.T) {
	st := open(t, nil)
	require.NoError(t, st.WriteMeta(context.Background(), "manual.json", []byte("{}")))
}

// Servers started at the same moment on an empty database all come up, and
// the migration ran once.
func TestConcurrentFirstStart(t *testing.T) {
	schema := "conc_" + time.Now().Format("150405")
	const n = 6
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = pgstore.Open(context.Background(), dsn(t), &pgstore.Options{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "store %d", i)
		defer stores[i].Close()
	}
	got, err := stores[0].Migrations(context.Background())
	require.NoError(t, err)
	require.Equal(t, pgstore.SchemaVersion, got, "each version applied once")
	for i, st := range stores {
		data := storetest.Pack("Contoso.Conc", "1.0")
		_, err := st.Import(context.Background(), storetest.Request("Contoso.Conc", "1.0", data), bytes.NewReader(data))
		require.NoError(t, err, "store %d imports", i)
	}
	_, err = stores[0].Get(context.Background(), "Contoso.Conc")
	require.NoError(t, err)
	_, err = stores[0].ReadMeta(context.Background(), "nothing")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// Ledger appends by a lease holder carry the fencing token too: once
// another server took the lease over, the paused holder's appends (one or
// a batch) are refused and nothing of them is recorded; an operator's
// unbound store appends whoever holds the lease.
func TestLedgerFencedAfterTakeover(t *testing.T) {
	ctx := context.Background()
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano())
	schema := "lfence_" + time.Now().Format("150405")
	a := open(t, &pgstore.Options{Schema: schema, Now: c.now})
	b := open(t, &pgstore.Options{Schema: schema, Now: c.now})
	op := open(t, &pgstore.Options{Schema: schema, Now: c.now})
	la, lb := a.Lease("PROD"), b.Lease("PROD")
	rec := func(reason string) ledger.Record {
		return ledger.Record{Time: c.now(), Kind: ledger.KindResult, Group: "PROD", Pack: "Contoso.Fence", Reason: reason}
	}
	require.ErrorIs(t, a.Ledger().Append(ctx, rec("a0")), pgstore.ErrFenced, "bound but never acquired")

	ok, err := la.Acquire(ctx, "a", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, a.Ledger().Append(ctx, rec("a1")))
	require.NoError(t, a.Ledger().AppendBatch(ctx, []ledger.Record{rec("a2"), rec("a3")}))

	c.add(11 * time.Second) // a is paused past its lease; b takes over
	ok, err = lb.Acquire(ctx, "b", 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.Ledger().Append(ctx, rec("b1")))

	err = a.Ledger().Append(ctx, rec("a4"))
	require.ErrorIs(t, err, pgstore.ErrFenced)
	require.Contains(t, err.Error(), "stale fencing token")
	require.ErrorIs(t, a.Ledger().AppendBatch(ctx, []ledger.Record{rec("a5"), rec("a6")}), pgstore.ErrFenced)
	require.NoError(t, op.Ledger().Append(ctx, rec("op1")), "an unbound store's ledger is not fenced")

	got, err := op.Ledger().Query(ctx, ledger.Query{Pack: "Contoso.Fence"})
	require.NoError(t, err)
	var reasons []string
	for _, r := range got {
		reasons = append(reasons, r.Reason)
	}
	require.Equal(t, []string{"a1", "a2", "a3", "b1", "op1"}, reasons, "nothing the paused holder appended after the takeover is recorded")
}
