package mpsync_test

import (
	"context"
	"fmt"
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// BenchmarkSteadyStateRun measures what the 5-minute rule costs when nothing
// changed: one conditional catalog request (304), a store listing and a diff
// of every pack, with no download and no write but the run record.
func BenchmarkSteadyStateRun(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("packs=%d", n), func(b *testing.B) {
			opts := []mpsynctest.Option{mpsynctest.WithSolution("Big", true),
				mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib))}
			for i := range n {
				id := fmt.Sprintf("Microsoft.IntelligencePacks.Big.P%04d", i)
				opts = append(opts, mpsynctest.WithPack(id, "7.2.1.0", catalog.ChannelSolution, "Big", mpsynctest.Pack(id, "7.2.1.0", scLib, ref(advisorID, "7.1.10226.0"))))
			}
			srv := mpsynctest.NewWorkspace(opts...)
			cfg := srv.ClientConfig()
			cfg.TempDir = b.TempDir()
			client, err := newClientFrom(cfg)
			if err != nil {
				b.Fatal(err)
			}
			e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: client})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if rep, err := e.Sync(ctx); err != nil || rep.Err() != nil || len(rep.Applied()) != n+1 {
				b.Fatalf("first sync: %v %v", err, rep)
			}
			srv.ResetStats()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rep, err := e.Sync(ctx, rules.GetIntelligencePacks)
				if err != nil || len(rep.Plan.Actionable()) != 0 {
					b.Fatalf("steady run: %v", err)
				}
			}
			b.StopTimer()
			if st := srv.Stats(); st.PackBytes != 0 || st.NotModified != st.CatalogRequests {
				b.Fatalf("steady state downloaded: %+v", st)
			}
		})
	}
}
