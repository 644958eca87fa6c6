package workspace_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
)

// heapPeak runs fn and returns the most heap in use above what was in use
// when it started, sampled every millisecond, and the bytes allocated.
func heapPeak(fn func()) (peakMB, allocMB float64) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var top atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > top.Load() {
					top.Store(ms.HeapInuse)
				}
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	if m := top.Load(); m > base.HeapInuse {
		peakMB = float64(m-base.HeapInuse) / (1 << 20)
	}
	return peakMB, float64(end.TotalAlloc-base.TotalAlloc) / (1 << 20)
}

// BenchmarkImport100MB imports a 100 MB pack from the loopback fake
// workspace into a directory store, durably, three ways:
//
//   - onepass: Client.FetchStream into Dir.Import. The body is read once:
//     each chunk goes to the store's staged file, the SHA-256, the byte
//     count and the validator (storage.ReceivePack), then the store
//     commits (sync, database transaction, rename). Size, hash and
//     identity (the ImportRequest's id and version) are checked on the way.
//   - fetch-import: Client.Fetch (a temporary file, size, hash, identity)
//     then Dir.Import of that file, as the engine does with a pack it
//     downloaded while planning: the bytes cross the disk twice, the
//     store's import is one pass.
//   - naive: download, then validate, as the store did before: Fetch, then
//     receive into a synced file while hashing, then read the file back to
//     validate it (no database commit).
//
// The pack is generated once and served from a file. It reports MB/s end to end, the peak heap growth (fails above
// 16 MB) and the bytes allocated per import.
//
//	go test -run '^$' -bench Import100MB -benchtime 3x -count 5 ./mpsync/workspace/
func BenchmarkImport100MB(b *testing.B) {
	const id, version = "Contoso.Large", "1.0.0.0"
	// The pack is generated once into a file and served from it (the page
	// cache), so the server costs a copy and the heap holds no 100 MB.
	src := filepath.Join(b.TempDir(), "pack.xml")
	gen := mpsynctest.GeneratedPack(id, version, 100<<20)()
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, gen); err != nil {
		b.Fatal(err)
	}
	gen.Close()
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	srv := mpsynctest.NewServer()
	defer srv.Close()
	srv.PublishStream(id, version, catalog.ChannelBase, "", func() io.ReadCloser {
		f, err := os.Open(src)
		if err != nil {
			panic(err)
		}
		return f
	})
	cfg := testConfig(b, srv, nil)
	cfg.MaxPackSize = 128 << 20
	c := newClient(b, cfg)
	p := packByID(b, mustCatalog(b, c), id)
	lim := pack.Limits{MaxBytes: 128 << 20}
	req := storage.ImportRequest{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size,
		Provenance: storage.Provenance{Owner: storage.OwnerWorkspace}}
	ctx := context.Background()

	importInto := func(b *testing.B, open func() (io.ReadCloser, error)) {
		dir, err := os.MkdirTemp(b.TempDir(), "store")
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.OpenDir(dir, &store.DirOptions{Limits: lim})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		rc, err := open()
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		if _, err := st.Import(ctx, req, rc); err != nil {
			b.Fatal(err)
		}
	}
	ways := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"onepass", func(b *testing.B) {
			importInto(b, func() (io.ReadCloser, error) { return c.FetchStream(ctx, p) })
		}},
		{"fetch-import", func(b *testing.B) {
			importInto(b, func() (io.ReadCloser, error) { return c.Fetch(ctx, p) })
		}},
		{"naive", func(b *testing.B) { naiveImport(b, c, p, req, lim) }},
	}
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			b.SetBytes(p.Size)
			var peak, alloc float64
			for range b.N {
				pk, al := heapPeak(func() { w.run(b) })
				peak, alloc = max(peak, pk), alloc+al
			}
			b.ReportMetric(peak, "peak-heap-MB")
			b.ReportMetric(alloc/float64(b.N), "alloc-MB/op")
			if peak > 16 {
				b.Errorf("peak heap growth %.1f MB, want under 16 MB", peak)
			}
		})
	}
}

// naiveImport is download, then validate: Fetch to a temporary file (size,
// hash, identity), receive that into a synced file while hashing it again,
// then read the file back and validate it.
func naiveImport(b *testing.B, c *workspace.Client, p catalog.Pack, req storage.ImportRequest, lim pack.Limits) {
	ctx := context.Background()
	rc, err := c.Fetch(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(filepath.Join(b.TempDir(), "staged"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, _, step, err := storage.Receive(ctx, req, rc, f, lim.MaxBytes); err != nil {
		b.Fatal(step, err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}
	if _, err := storage.ValidatePack(bufio.NewReaderSize(f, 64<<10), req, lim); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImportMany imports 500 packs of about 50 KB from the loopback
// fake workspace into a new directory store, staged in one batch and
// committed once, and reports packs per second:
//
//   - sequential (the naive way): one pack at a time, Client.Fetch (a
//     temporary file, size, hash, identity) then Batch.Import;
//
//   - workers=N: N goroutines, each taking the next pack, streaming it with
//     Client.FetchStream straight into Batch.Import (the download, hash and
//     validation of one pack overlap those of the others).
//
//     go test -run '^$' -bench ImportMany -benchtime 3x -count 5 ./mpsync/workspace/
func BenchmarkImportMany(b *testing.B) {
	const n = 500
	srv := mpsynctest.NewServer()
	defer srv.Close()
	for i := range n {
		id := fmt.Sprintf("Contoso.Many%03d", i)
		doc, err := io.ReadAll(mpsynctest.GeneratedPack(id, "1.0.0.0", 50<<10)())
		if err != nil {
			b.Fatal(err)
		}
		srv.Publish(id, "1.0.0.0", catalog.ChannelBase, "", doc)
	}
	cfg := testConfig(b, srv, nil)
	cfg.Parallel = 8
	c := newClient(b, cfg)
	cat := mustCatalog(b, c)
	packs := cat.Packs
	if len(packs) != n {
		b.Fatalf("%d packs in the catalog, want %d", len(packs), n)
	}
	ctx := context.Background()
	reqOf := func(p catalog.Pack) storage.ImportRequest {
		return storage.ImportRequest{ID: p.ID, Version: p.Version, SHA256: p.SHA256, Size: p.Size,
			Provenance: storage.Provenance{Owner: storage.OwnerWorkspace}}
	}
	// run imports every pack with fn into a batch of a new store and
	// commits it.
	run := func(b *testing.B, fn func(storage.Batch) error) {
		b.StopTimer()
		dir, err := os.MkdirTemp(b.TempDir(), "store")
		if err != nil {
			b.Fatal(err)
		}
		st, err := store.OpenDir(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.StartTimer()
		batch, err := st.Batch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer batch.Discard()
		if err := fn(batch); err != nil {
			b.Fatal(err)
		}
		if err := batch.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if list, err := st.List(ctx); err != nil || len(list) != n {
			b.Fatalf("%d packs in the store (%v), want %d", len(list), err, n)
		}
		b.StartTimer()
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packs/s")
	}
	b.Run("sequential", func(b *testing.B) {
		for range b.N {
			run(b, func(batch storage.Batch) error {
				for _, p := range packs {
					rc, err := c.Fetch(ctx, p)
					if err != nil {
						return err
					}
					_, err = batch.Import(ctx, reqOf(p), rc)
					rc.Close()
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
		report(b)
	})
	for _, workers := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for range b.N {
				run(b, func(batch storage.Batch) error {
					var next atomic.Int64
					errs := make(chan error, workers)
					for range workers {
						go func() {
							for {
								i := int(next.Add(1)) - 1
								if i >= len(packs) {
									errs <- nil
									return
								}
								p := packs[i]
								rc, err := c.FetchStream(ctx, p)
								if err == nil {
									_, err = batch.Import(ctx, reqOf(p), rc)
									rc.Close()
								}
								if err != nil {
									next.Store(int64(len(packs)))
									errs <- err
									return
								}
							}
						}()
					}
					var first error
					for range workers {
						if err := <-errs; err != nil && first == nil {
							first = err
						}
					}
					return first
				})
			}
			report(b)
		})
	}
}
