package plan

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// bigInput builds a plan input of n catalog packs with references: a base
// library every pack references, and each solution pack referencing up to
// three packs of lower number (a DAG, so the import order is deep). The
// store holds a third of the packs at an older version (upgrades), a third
// current (kept), and n/10 packs the catalog no longer lists (removals),
// some of which reference each other and some of which kept packs still
// reference (blocked removals). Seeded: the same input every run.
func bigInput(n int, seed uint64) Input {
	rnd := rand.New(rand.NewPCG(seed, 1))
	const lib = "Contoso.Base.Library"
	id := func(i int) string { return fmt.Sprintf("Contoso.Solution.P%05d", i) }
	gone := func(i int) string { return fmt.Sprintf("Contoso.Gone.P%05d", i) }
	shaOf := func(s string, ver string) string { return fmt.Sprintf("%064x", hash64(s+"@"+ver)) }
	in := Input{Rules: rules.All(), WorkspaceID: ws, Catalog: &catalog.Catalog{WorkspaceID: ws, Serial: 1},
		Manifests: map[string]ManifestResult{}, Platform: pack.Inventory{"System.Library": v("7.5.8501.0")}, PlatformName: "test"}
	in.Catalog.Solutions = []catalog.Solution{{Name: "Big", Enabled: true}}
	addPack := func(p catalog.Pack, refs []pack.Reference) {
		in.Catalog.Packs = append(in.Catalog.Packs, p)
		in.Manifests[p.SHA256] = ManifestResult{Manifest: pack.Manifest{ID: p.ID, Version: p.Version, References: refs}}
	}
	libP := catalog.Pack{ID: lib, Version: v("2.0.0.0"), Channel: catalog.ChannelBase, SHA256: shaOf(lib, "2"), Size: 1, Href: "p/" + lib}
	addPack(libP, []pack.Reference{ref("System.Library", "7.0.0.0")})
	for i := range n - 1 {
		refs := []pack.Reference{ref(lib, "1.0.0.0")}
		for range rnd.IntN(4) {
			if i > 0 {
				refs = append(refs, ref(id(rnd.IntN(i)), "1.0.0.0"))
			}
		}
		p := catalog.Pack{ID: id(i), Version: v("2.0.0.0"), Channel: catalog.ChannelSolution, Solution: "Big",
			SHA256: shaOf(id(i), "2"), Size: 1, Href: "p/" + id(i)}
		addPack(p, refs)
		switch i % 3 {
		case 0: // an upgrade from 1.0
			in.Entries = append(in.Entries, owned(id(i), "1.0.0.0", 'x', rules.GetIntelligencePacks, refs...))
			in.Entries[len(in.Entries)-1].SHA256 = shaOf(id(i), "1")
		case 1: // kept
			e := owned(id(i), "2.0.0.0", 'x', rules.GetIntelligencePacks, refs...)
			e.SHA256 = p.SHA256
			if i%30 == 1 && i/10 < n/10 {
				// A kept pack that still references a pack going away:
				// that removal is blocked.
				e.References = append(slices.Clone(e.References), ref(gone(i/10), "1.0.0.0"))
			}
			in.Entries = append(in.Entries, e)
		}
	}
	for i := range n / 10 {
		var refs []pack.Reference
		if i > 0 && rnd.IntN(2) == 0 {
			refs = append(refs, ref(gone(rnd.IntN(i)), "1.0.0.0"))
		}
		e := owned(gone(i), "1.0.0.0", 'g', rules.GetIntelligencePacks, refs...)
		e.SHA256 = shaOf(gone(i), "1")
		in.Entries = append(in.Entries, e)
	}
	sortEntries(in.Entries)
	return in
}

func sortEntries(es []storage.Entry) {
	// Stores list entries sorted by id.
	slices.SortFunc(es, func(a, b storage.Entry) int { return strings.Compare(a.ID, b.ID) })
}

func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// BenchmarkPlan10k makes a fresh plan of 10,000 packs with references
// (Classify and Resolve, import and removal order computed), with the
// manifests already read: the planner's own cost. "naive" is the planner
// as it was before (naive_test.go), for comparison in the same run.
func BenchmarkPlan10k(b *testing.B) {
	in := bigInput(10_000, 1)
	b.Run("planner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			changes, _ := Classify(in)
			if len(Resolve(in, changes)) == 0 {
				b.Fatal("empty plan")
			}
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			changes, _ := Classify(in)
			if len(naiveResolve(in, changes)) == 0 {
				b.Fatal("empty plan")
			}
		}
	})
}

// TestAssignIDsInParallel checks that a plan large enough for assignIDs to
// share the work gives every change the id its fields name, as the serial
// path does, on the processors available and on one.
func TestAssignIDsInParallel(t *testing.T) {
	in := bigInput(10_000, 7)
	changes, _ := Classify(in)
	if len(changes) < 4096 {
		t.Fatalf("%d changes: too few for the parallel path", len(changes))
	}
	seen := map[string]bool{}
	for i := range changes {
		c := changes[i]
		want := ChangeID(c.Rule, c.Action, c.Pack, c.To, c.SHA256)
		if c.Action == ActionRemove {
			want = ChangeID(c.Rule, c.Action, c.Pack, c.From, c.SHA256)
		}
		if c.ID != want {
			t.Fatalf("change %d (%s %s): id %q, want %q", i, c.Action, c.Pack, c.ID, want)
		}
		seen[c.ID] = true
	}
	if len(seen) != len(changes) {
		t.Fatalf("%d distinct ids for %d changes", len(seen), len(changes))
	}
	serial := slices.Clone(changes)
	for i := range serial {
		serial[i].ID = ""
	}
	old := runtime.GOMAXPROCS(1)
	assignIDs(serial)
	runtime.GOMAXPROCS(old)
	if !slices.Equal(serial, changes) {
		t.Fatal("the serial and parallel ids differ")
	}
}
