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

// BenchmarkIdleTick measures a run of the 5-minute rule when nothing
// changed: the catalog answers 304 (CatalogResult.NotModified, an
// in-process workspace: no HTTP), and the store, the settings (the store's
// override packs, the default) and the approvals are unchanged.
//
//   - reused: a store with a generation (storage.Generationer); the run
//     reuses the last plan, lists nothing and plans nothing.
//   - listed: a store without one (store.Memory as it is): the run lists the
//     store and compares the listing (the override settings list it too).
//   - replan: the same store as reused with reuse turned off: today's full
//     re-plan on every tick.
func BenchmarkIdleTick(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		for _, mode := range []string{"reused", "listed", "replan"} {
			b.Run(fmt.Sprintf("packs=%d/%s", n, mode), func(b *testing.B) {
				ws := &notModWS{fakeWS: newFakeWS("ws-bench")}
				ws.put(advisorID, "7.1.10226.1239", "", scLib)
				ws.solution("Big", true)
				for i := range n {
					ws.put(fmt.Sprintf("Microsoft.IntelligencePacks.Big.P%05d", i), "7.2.1.0", "Big", ref(advisorID, "7.1.10226.0"))
				}
				var s mpsync.Store = newGenStore()
				if mode == "listed" {
					s = store.NewMemory()
				}
				e, err := mpsync.New(s, &mpsync.Options{Workspace: ws})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				if mode == "replan" {
					mpsync.DisableIdleReuse(e)
				}
				ctx := context.Background()
				if rep, err := e.Sync(ctx); err != nil || rep.Err() != nil || len(rep.Applied()) != n+1 {
					b.Fatalf("first sync: %v %v", err, rep)
				}
				if rep, err := e.Sync(ctx, rules.GetIntelligencePacks); err != nil || len(rep.Plan.Actionable()) != 0 {
					b.Fatalf("second sync: %v", err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					rep, err := e.Sync(ctx, rules.GetIntelligencePacks)
					if err != nil || rep.Reused != (mode != "replan") {
						b.Fatalf("idle run: %v, reused %v", err, rep.Reused)
					}
				}
			})
		}
	}
}
