package pgstore_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pgstore"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store/storetest"
)

// The generation moves with every change of a pack, by this store, a
// batch or another store on the same group, and not with meta writes or
// with changes to another group.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	schema := "gen_" + time.Now().Format("150405")
	a := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	b := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	other := open(t, &pgstore.Options{Schema: schema, Group: "QA", CacheFor: -1})
	gen := func(st *pgstore.Store) uint64 {
		t.Helper()
		g, err := st.Generation(ctx)
		require.NoError(t, err)
		return g
	}
	seen := map[uint64]bool{}
	moved := func(what string, before uint64) uint64 {
		t.Helper()
		g := gen(a)
		require.NotEqual(t, before, g, "%s moves the generation", what)
		require.False(t, seen[g], "%s: a generation never repeats", what)
		require.Equal(t, g, gen(b), "every store of the group sees the same generation")
		seen[g] = true
		return g
	}
	g := gen(a)
	seen[g] = true
	p1, p2 := storetest.Pack("Contoso.Gen", "1.0"), storetest.Pack("Contoso.Gen", "2.0")
	_, err := a.Import(ctx, storetest.Request("Contoso.Gen", "1.0", p1), bytes.NewReader(p1))
	require.NoError(t, err)
	g = moved("an import", g)
	_, err = b.Import(ctx, storetest.Request("Contoso.Gen", "2.0", p2), bytes.NewReader(p2))
	require.NoError(t, err)
	g = moved("an import by another store", g)
	_, err = a.Rollback(ctx, "Contoso.Gen")
	require.NoError(t, err)
	g = moved("a rollback", g)
	bt, err := a.Batch(ctx)
	require.NoError(t, err)
	_, err = bt.Import(ctx, storetest.Request("Contoso.Gen", "2.0", p2), bytes.NewReader(p2))
	require.NoError(t, err)
	require.Equal(t, g, gen(a), "staging changes nothing")
	require.NoError(t, bt.Commit(ctx))
	g = moved("a batch commit", g)

	require.NoError(t, a.WriteMeta(ctx, "runs.json", []byte("{}")))
	require.NoError(t, b.AppendMeta(ctx, "log", []byte("x")))
	_, err = other.Import(ctx, storetest.Request("Contoso.Gen", "1.0", p1), bytes.NewReader(p1))
	require.NoError(t, err)
	require.Equal(t, g, gen(a), "meta writes and another group's packs leave the generation")

	require.Error(t, a.Remove(ctx, "Contoso.Missing"))
	require.Equal(t, g, gen(a), "a refused write leaves it")
	require.NoError(t, b.Remove(ctx, "Contoso.Gen"))
	moved("a removal", g)
}

// The cache answers reads between validations and sees this store's own
// writes at once; another store's writes are seen once the cache is older
// than CacheFor, or at the next Acquire, whichever comes first.
func TestCacheSeesChanges(t *testing.T) {
	ctx := context.Background()
	schema := "cache_" + time.Now().Format("150405")
	const cacheFor = time.Second
	writer := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	st := open(t, &pgstore.Options{Schema: schema, CacheFor: cacheFor})
	lease := st.Lease("PROD")

	p1 := storetest.Pack("Contoso.Cache", "1.0")
	_, err := writer.Import(ctx, storetest.Request("Contoso.Cache", "1.0", p1), bytes.NewReader(p1))
	require.NoError(t, err)
	require.NoError(t, writer.WriteMeta(ctx, "queue.json", []byte("q1")))

	ok, err := lease.Acquire(ctx, "MS01", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	n := st.RoundTrips()
	es, err := st.List(ctx) // lists once: the validation does not carry packs
	require.NoError(t, err)
	require.Len(t, es, 1)
	m, err := st.ReadMeta(ctx, "queue.json")
	require.NoError(t, err)
	require.Equal(t, "q1", string(m))
	_, err = st.ReadMeta(ctx, "missing.json")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = st.Get(ctx, "Contoso.Cache")
	require.NoError(t, err)
	_, err = st.Get(ctx, "Contoso.Missing")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = st.Generation(ctx)
	require.NoError(t, err)
	_, err = st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.RoundTrips()-n, "after the Acquire's validation, only the first List asks the database")

	// Its own writes are seen at once, and cost only the write.
	n = st.RoundTrips()
	require.NoError(t, st.WriteMeta(ctx, "runs.json", []byte("r1")))
	require.NoError(t, st.AppendMeta(ctx, "runs.json", []byte("+r2")))
	m, err = st.ReadMeta(ctx, "runs.json")
	require.NoError(t, err)
	require.Equal(t, "r1+r2", string(m))
	require.Equal(t, int64(2), st.RoundTrips()-n)

	// Another store's writes: seen at the next Acquire.
	require.NoError(t, writer.WriteMeta(ctx, "queue.json", []byte("q2")))
	p2 := storetest.Pack("Contoso.Cache", "2.0")
	_, err = writer.Import(ctx, storetest.Request("Contoso.Cache", "2.0", p2), bytes.NewReader(p2))
	require.NoError(t, err)
	ok, err = lease.Acquire(ctx, "MS01", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	m, err = st.ReadMeta(ctx, "queue.json")
	require.NoError(t, err)
	require.Equal(t, "q2", string(m), "the Acquire validated the cache")
	e, err := st.Get(ctx, "Contoso.Cache")
	require.NoError(t, err)
	require.Equal(t, "2.0.0.0", e.Version.String())

	// ... or once the cache is older than CacheFor, without an Acquire.
	require.NoError(t, writer.WriteMeta(ctx, "queue.json", []byte("q3")))
	require.NoError(t, writer.WriteMeta(ctx, "new.json", []byte("n")))
	require.NoError(t, writer.Remove(ctx, "Contoso.Cache"))
	require.Eventually(t, func() bool {
		m, err := st.ReadMeta(ctx, "queue.json")
		return err == nil && string(m) == "q3"
	}, 5*time.Second, 20*time.Millisecond)
	m, err = st.ReadMeta(ctx, "new.json")
	require.NoError(t, err, "a record created elsewhere is seen")
	require.Equal(t, "n", string(m))
	es, err = st.List(ctx)
	require.NoError(t, err)
	require.Empty(t, es)
	_, err = st.Get(ctx, "Contoso.Cache")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// With CacheFor negative every read is a query: another store's write is
// seen at once.
func TestCacheOff(t *testing.T) {
	ctx := context.Background()
	schema := "nocache_" + time.Now().Format("150405")
	writer := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	st := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	for i := range 3 {
		v := []byte{byte('a' + i)}
		require.NoError(t, writer.WriteMeta(ctx, "m", v))
		got, err := st.ReadMeta(ctx, "m")
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
}

// Goroutines writing and reading through one cached store, while another
// store writes the same group and the lease is renewed (validations), each
// read their own last write at once; the race detector watches the cache.
func TestCacheConcurrentReadYourWrites(t *testing.T) {
	ctx := context.Background()
	schema := "cachec_" + time.Now().Format("150405")
	st := open(t, &pgstore.Options{Schema: schema, CacheFor: 50 * time.Millisecond})
	other := open(t, &pgstore.Options{Schema: schema, CacheFor: -1})
	lease := st.Lease("PROD")
	ok, err := lease.Acquire(ctx, "MS01", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	done := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			other.WriteMeta(ctx, "other.json", []byte(strconv.Itoa(i))) //nolint:errcheck // background noise
			lease.Acquire(ctx, "MS01", time.Hour)                       //nolint:errcheck // background noise
			st.Generation(ctx)                                          //nolint:errcheck // background noise
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			name := "rec" + strconv.Itoa(g)
			for i := range 40 {
				want := name + ":" + strconv.Itoa(i)
				if err := st.WriteMeta(ctx, name, []byte(want)); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					if err := st.AppendMeta(ctx, name, []byte("+")); err != nil {
						t.Error(err)
						return
					}
					want += "+"
				}
				got, err := st.ReadMeta(ctx, name)
				if err != nil || string(got) != want {
					t.Errorf("%s: read %q, %v; wrote %q", name, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	bg.Wait()
}

// Concurrent appends to one record report back out of order; the cache
// once kept the answer that arrived last rather than the newest version,
// so a read after them missed appends the database held.
func TestCacheConcurrentAppendsKeepNewest(t *testing.T) {
	ctx := context.Background()
	schema := "cachea_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	st := open(t, &pgstore.Options{Schema: schema, CacheFor: time.Hour})
	for round := range 10 {
		name := "log" + strconv.Itoa(round)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if err := st.AppendMeta(ctx, name, []byte(strconv.Itoa(i)+"\n")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := st.ReadMeta(ctx, name)
		require.NoError(t, err)
		require.Len(t, bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")), 16, "round %d: %q", round, got)
	}
}
