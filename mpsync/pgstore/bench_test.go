package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/internal/pgtest"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/pgstore"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
	"mpsync.dev/mpsync/workspace"
)

const coldAdvisor = "Microsoft.SystemCenter.Advisor"

func coldSyncOptions(tb testing.TB, n, size int) []mpsynctest.Option {
	lib := mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")
	adv := pack.Reference{Alias: "Advisor", ID: coldAdvisor, Version: pack.MustParseVersion("7.1.10226.0"), PublicKeyToken: "31bf3856ad364e35"}
	gen := func(id, version string, refs ...pack.Reference) []byte {
		b, err := packgen.Spec{ID: id, Version: pack.MustParseVersion(version), References: refs, Rules: 1, TargetSize: size}.Bytes()
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	opts := []mpsynctest.Option{mpsynctest.WithSolution("Big", true),
		mpsynctest.WithPack(coldAdvisor, "7.1.10226.1239", catalog.ChannelBase, "", gen(coldAdvisor, "7.1.10226.1239", lib))}
	for i := range n - 1 {
		id := fmt.Sprintf("Microsoft.IntelligencePacks.Big.P%04d", i)
		opts = append(opts, mpsynctest.WithPack(id, "7.2.1.0", catalog.ChannelSolution, "Big", gen(id, "7.2.1.0", lib, adv)))
	}
	return opts
}

func client(tb testing.TB, srv *mpsynctest.Server) *workspace.Client {
	cfg := srv.ClientConfig()
	cfg.TempDir = tb.TempDir()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	c, err := workspace.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkColdSync is the first sync of a group, n packs of ~100 KB from
// the fake workspace through the engine, into an empty directory store and
// into an empty PostgreSQL store (a new schema), in the same run.
func BenchmarkColdSync(b *testing.B) {
	for _, n := range []int{300, 1000} {
		srv := mpsynctest.NewServer(coldSyncOptions(b, n, 100<<10)...)
		for _, kind := range []string{"dir", "pg"} {
			b.Run(fmt.Sprintf("packs=%d/store=%s", n, kind), func(b *testing.B) {
				ctx := context.Background()
				for b.Loop() {
					b.StopTimer()
					c := client(b, srv)
					schema, dir := pgtest.Schema(), b.TempDir()
					b.StartTimer()
					var st interface {
						mpsync.Store
						Close() error
					}
					var err error
					if kind == "dir" {
						st, err = store.OpenDir(dir, nil)
					} else {
						st, err = pgstore.Open(ctx, pgtest.DSN(b), &pgstore.Options{Schema: schema})
					}
					if err != nil {
						b.Fatal(err)
					}
					e, err := mpsync.New(st, &mpsync.Options{Workspace: c})
					if err != nil {
						b.Fatal(err)
					}
					rep, err := e.Sync(ctx)
					if err != nil || rep.Err() != nil || len(rep.Applied()) != n {
						b.Fatalf("sync: %v %v (%d applied)", err, rep.Err(), len(rep.Applied()))
					}
					e.Close()
					st.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/pack")
			})
		}
		srv.Close()
	}
}

// BenchmarkIdleTick counts the database round trips of a scheduler tick
// when nothing changed: the holder's (the rules are due, the catalog
// answers 304) and a standby's (the lease is held by another). Ticks are
// minutes apart in production, so every tick starts with the stores'
// caches stale: the stores cache for idleCacheFor and the loop waits
// longer than that between ticks (outside the timing).
func BenchmarkIdleTick(b *testing.B) {
	ctx := context.Background()
	srv := mpsynctest.NewServer(coldSyncOptions(b, 3, 1<<10)...)
	defer srv.Close()
	clock := mpsynctest.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	schema := pgtest.Schema()
	const idleCacheFor = 200 * time.Millisecond
	mk := func(holder string) (*pgstore.Store, *mpsync.Engine) {
		st := open(b, &pgstore.Options{Schema: schema, Now: clock.Now, CacheFor: idleCacheFor})
		e, err := mpsync.New(st, &mpsync.Options{Workspace: client(b, srv), Clock: clock, Ledger: st.Ledger(),
			Lease: st.Lease("PROD"), Holder: holder})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { e.Close() })
		return st, e
	}
	// An operator connects the group (an unbound store, as the command's
	// connect); the servers' schedulers then run under the lease.
	op := open(b, &pgstore.Options{Schema: schema, Now: clock.Now})
	eop, err := mpsync.New(op, &mpsync.Options{Workspace: client(b, srv), Clock: clock, Ledger: op.Ledger()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eop.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	eop.Close()
	st1, e1 := mk("MS01")
	st2, e2 := mk("MS02")
	for range 2 { // the first runs import; then idle
		if _, err := e1.RunDue(ctx); err != nil {
			b.Fatal(err)
		}
		clock.Advance(25 * time.Hour)
	}
	var holder, standby int64
	for b.Loop() {
		b.StopTimer()
		time.Sleep(idleCacheFor + 5*time.Millisecond) // the caches are stale
		b.StartTimer()
		clock.Advance(25 * time.Hour) // every rule is due
		n1 := st1.RoundTrips()
		rep, err := e1.RunDue(ctx)
		if err != nil || rep == nil || len(rep.Applied()) != 0 {
			b.Fatalf("holder tick: %v %v", rep, err)
		}
		holder += st1.RoundTrips() - n1
		n2 := st2.RoundTrips()
		if rep, err := e2.RunDue(ctx); err != nil || rep != nil {
			b.Fatalf("standby tick: %v %v", rep, err)
		}
		standby += st2.RoundTrips() - n2
	}
	b.ReportMetric(float64(holder)/float64(b.N), "holder-trips/tick")
	b.ReportMetric(float64(standby)/float64(b.N), "standby-trips/tick")
}

// peak samples the heap in use while fn runs and returns the most seen
// above the heap before it.
func peak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var top atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > top.Load() {
				top.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if top.Load() < base {
		return 0
	}
	return top.Load() - base
}

// BenchmarkStream100MB measures writing and reading back a 100 MB pack:
// through the store (spool to a file, validate, COPY into bytea chunks;
// Open streams the chunks), and, for the choice of representation, the raw
// bytes as bytea chunks with COPY against large objects (lo_write in
// chunks). peak-MB is the most heap in use above the start.
func BenchmarkStream100MB(b *testing.B) {
	ctx := context.Background()
	const size = 100 << 20
	file := filepath.Join(b.TempDir(), "big.xml")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	spec := packgen.Spec{ID: "Contoso.Big", Version: pack.MustParseVersion("1.0.0.0"), TargetSize: size}
	if _, err := spec.WriteTo(f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(file)
	b.Run("store", func(b *testing.B) {
		st := open(b, &pgstore.Options{Limits: pack.Limits{MaxBytes: 2 * size}, TempDir: b.TempDir()})
		var top uint64
		for b.Loop() {
			top = max(top, peak(func() {
				r, _ := os.Open(file)
				defer r.Close()
				if _, err := st.Import(ctx, storage.ImportRequest{ID: "Contoso.Big", Size: fi.Size()}, r); err != nil {
					b.Fatal(err)
				}
				rc, err := st.Open(ctx, "Contoso.Big")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != fi.Size() {
					b.Fatal(n, err)
				}
				rc.Close()
				if err := st.Remove(ctx, "Contoso.Big"); err != nil {
					b.Fatal(err)
				}
			}))
		}
		b.SetBytes(2 * fi.Size())
		b.ReportMetric(float64(top)/(1<<20), "peak-MB")
	})
	conn, err := pgx.Connect(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE raw_chunks (seq int, data bytea, PRIMARY KEY (seq))`); err != nil {
		b.Fatal(err)
	}
	b.Run("raw=bytea-copy", func(b *testing.B) {
		var top uint64
		for b.Loop() {
			top = max(top, peak(func() {
				r, _ := os.Open(file)
				defer r.Close()
				buf := make([]byte, pgstore.ChunkSize)
				seq := int32(0)
				src := pgx.CopyFromFunc(func() ([]any, error) {
					n, err := io.ReadFull(r, buf)
					if n == 0 {
						return nil, nil
					}
					if err != nil && err != io.ErrUnexpectedEOF {
						return nil, err
					}
					seq++
					return []any{seq, buf[:n]}, nil
				})
				if _, err := conn.CopyFrom(ctx, pgx.Identifier{"raw_chunks"}, []string{"seq", "data"}, src); err != nil {
					b.Fatal(err)
				}
				rows, err := conn.Query(ctx, `SELECT data FROM raw_chunks ORDER BY seq`)
				if err != nil {
					b.Fatal(err)
				}
				var total int
				for rows.Next() {
					total += len(rows.RawValues()[0])
				}
				rows.Close()
				if total != int(fi.Size()) {
					b.Fatal(total, rows.Err())
				}
				conn.Exec(ctx, `TRUNCATE raw_chunks`)
			}))
		}
		b.SetBytes(2 * fi.Size())
		b.ReportMetric(float64(top)/(1<<20), "peak-MB")
	})
	b.Run("raw=large-object", func(b *testing.B) {
		var top uint64
		for b.Loop() {
			top = max(top, peak(func() {
				r, _ := os.Open(file)
				defer r.Close()
				tx, err := conn.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				los := tx.LargeObjects()
				oid, err := los.Create(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				obj, err := los.Open(ctx, oid, pgx.LargeObjectModeWrite)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(obj, r, make([]byte, pgstore.ChunkSize)); err != nil {
					b.Fatal(err)
				}
				obj.Close()
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
				tx, _ = conn.Begin(ctx)
				los = tx.LargeObjects()
				obj, err = los.Open(ctx, oid, pgx.LargeObjectModeRead)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, obj, make([]byte, pgstore.ChunkSize))
				if err != nil || n != fi.Size() {
					b.Fatal(n, err)
				}
				obj.Close()
				los.Unlink(ctx, oid)
				tx.Commit(ctx)
			}))
		}
		b.SetBytes(2 * fi.Size())
		b.ReportMetric(float64(top)/(1<<20), "peak-MB")
	})
}

// BenchmarkBatchStage stages n upgrades into a batch over a store of n
// packs, asking the batch for each staged pack (as the engine's dependency
// checks do): the cost of the batch's view, which a batch that re-read the
// store and re-applied every staged change on each call paid n² for.
func BenchmarkBatchStage(b *testing.B) {
	ctx := context.Background()
	const n = 500
	st := open(b, nil)
	id := func(i int) string { return fmt.Sprintf("Contoso.Batch.P%04d", i) }
	seed, err := st.Batch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		p := storetest.Pack(id(i), "1.0")
		if _, err := seed.Import(ctx, storetest.Request(id(i), "1.0", p), bytes.NewReader(p)); err != nil {
			b.Fatal(err)
		}
	}
	if err := seed.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	ups := make([][]byte, n)
	for i := range n {
		ups[i] = storetest.Pack(id(i), "2.0")
	}
	for b.Loop() {
		bt, err := st.Batch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := bt.Import(ctx, storetest.Request(id(i), "2.0", ups[i]), bytes.NewReader(ups[i])); err != nil {
				b.Fatal(err)
			}
			if e, err := bt.Get(ctx, id(i)); err != nil || e.Version.String() != "2.0.0.0" {
				b.Fatal(e, err)
			}
		}
		bt.Discard()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/pack")
}
