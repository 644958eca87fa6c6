package workspace_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
)

// BenchmarkFetch100MB downloads a 100 MB pack, generated as it is served,
// from the loopback fake server and reports the peak growth of the heap in
// use (sampled every millisecond) and the total allocated per download.
// The client streams to a temporary file, so the peak must stay far below
// the pack's size; the benchmark fails above 16 MB.
//
//	go test -run '^$' -bench Fetch100MB -benchtime 3x ./mpsync/workspace/
func BenchmarkFetch100MB(b *testing.B) {
	const id, version = "Contoso.Large", "1.0.0.0"
	srv := mpsynctest.NewServer()
	defer srv.Close()
	srv.PublishStream(id, version, catalog.ChannelBase, "", mpsynctest.GeneratedPack(id, version, 100<<20))
	cfg := testConfig(b, srv, nil)
	cfg.MaxPackSize = 128 << 20
	c := newClient(b, cfg)
	cat := mustCatalog(b, c)
	p := packByID(b, cat, id)
	b.SetBytes(p.Size)

	var peak, total float64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)

		var max atomic.Uint64
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
					if ms.HeapInuse > max.Load() {
						max.Store(ms.HeapInuse)
					}
				}
			}
		}()
		rc, err := c.Fetch(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
		close(stop)
		wg.Wait()
		var end runtime.MemStats
		runtime.ReadMemStats(&end)

		growth := float64(0)
		if m := max.Load(); m > base.HeapInuse {
			growth = float64(m - base.HeapInuse)
		}
		peak = max2(peak, growth/(1<<20))
		total += float64(end.TotalAlloc-base.TotalAlloc) / (1 << 20)
	}
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(total/float64(b.N), "alloc-MB/op")
	if peak > 16 {
		b.Errorf("peak heap growth %.1f MB, want under 16 MB", peak)
	}
}

func max2(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}
