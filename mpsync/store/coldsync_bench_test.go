package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
)

const coldAdvisor = "Microsoft.SystemCenter.Advisor"

// coldSyncOptions builds a fake workspace's catalog of n packs of about
// size bytes: the Advisor base pack and n-1 packs of one enabled solution,
// each referencing it and the platform's library.
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

// BenchmarkColdSync measures the first sync of a management group: n packs
// of about 100 KB from the fake workspace (loopback HTTP) through the engine
// into an empty directory store. Each iteration opens a new store.
func BenchmarkColdSync(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("packs=%d", n), func(b *testing.B) {
			srv := mpsynctest.NewServer(coldSyncOptions(b, n, 100<<10)...)
			defer srv.Close()
			ctx := context.Background()
			var bytes int64
			for b.Loop() {
				b.StopTimer()
				cfg := srv.ClientConfig()
				cfg.TempDir = b.TempDir()
				cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
				client, err := workspace.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				b.StartTimer()
				st, err := store.OpenDir(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				e, err := mpsync.New(st, &mpsync.Options{Workspace: client})
				if err != nil {
					b.Fatal(err)
				}
				rep, err := e.Sync(ctx)
				if err != nil || rep.Err() != nil || len(rep.Applied()) != n {
					b.Fatalf("sync: %v %v (%d applied)", err, rep.Err(), len(rep.Applied()))
				}
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				bytes = srv.Stats().PackBytes
				srv.ResetStats()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/float64(n), "ms/pack")
			b.SetBytes(bytes)
		})
	}
}
