package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// randomInput builds a small plan input with everything the resolver
// handles: references within the plan, to the store, to the platform and to
// nothing; loops; key tokens; unreadable packs; removals referenced by
// packs that stay; base and solution packs; stale or missing catalogs.
func randomInput(rnd *rand.Rand) Input {
	n := 1 + rnd.IntN(25)
	id := func(i int) string { return fmt.Sprintf("P%02d", i) }
	ver := func() pack.Version { return pack.Version{Major: uint32(1 + rnd.IntN(3))} }
	refTo := func() pack.Reference {
		var r pack.Reference
		switch k := rnd.IntN(10); {
		case k < 7:
			r = pack.Reference{ID: id(rnd.IntN(n)), Version: ver()}
		case k < 8:
			r = pack.Reference{ID: "System.Library", Version: pack.Version{Major: uint32(6 + rnd.IntN(3))}}
		default:
			r = pack.Reference{ID: "Missing.Lib", Version: ver()}
		}
		if rnd.IntN(6) == 0 {
			r.PublicKeyToken = []string{"aaaa", "bbbb"}[rnd.IntN(2)]
		}
		return r
	}
	refs := func() []pack.Reference {
		var out []pack.Reference
		for range rnd.IntN(4) {
			out = append(out, refTo())
		}
		return out
	}
	token := func() string {
		if rnd.IntN(3) == 0 {
			return []string{"aaaa", "bbbb"}[rnd.IntN(2)]
		}
		return ""
	}
	in := Input{Rules: [][]rules.Rule{rules.All(), {rules.GetIntelligencePacks}, {rules.MPUpdate}}[rnd.IntN(3)],
		WorkspaceID: ws, Manifests: map[string]ManifestResult{},
		Platform: pack.Inventory{"System.Library": pack.Version{Major: 7}}, PlatformName: "test", Stale: rnd.IntN(8) == 0}
	if rnd.IntN(12) != 0 {
		in.Catalog = &catalog.Catalog{WorkspaceID: ws, Serial: 1,
			Solutions: []catalog.Solution{{Name: "S", Enabled: true}, {Name: "Off", Enabled: false}}}
	}
	hashes := 0
	newSHA := func() string { hashes++; return fmt.Sprintf("%064d", hashes) }
	for i := range n {
		inCatalog, inStore := rnd.IntN(4) != 0, rnd.IntN(2) == 0
		ch, sol := catalog.ChannelSolution, "S"
		if rnd.IntN(4) == 0 {
			ch, sol = catalog.ChannelBase, ""
		} else if rnd.IntN(8) == 0 {
			sol = "Off"
		}
		var p catalog.Pack
		if inCatalog && in.Catalog != nil {
			p = catalog.Pack{ID: id(i), Version: ver(), Channel: ch, Solution: sol, SHA256: newSHA(), Size: 1, Href: "p/" + id(i)}
			in.Catalog.Packs = append(in.Catalog.Packs, p)
			switch rnd.IntN(12) {
			case 0: // not read
			case 1:
				in.Manifests[p.SHA256] = ManifestResult{Err: fmt.Errorf("download failed")}
			default:
				in.Manifests[p.SHA256] = ManifestResult{Manifest: pack.Manifest{ID: p.ID, Version: p.Version, References: refs(), PublicKeyToken: token()}}
			}
		}
		if inStore {
			e := storage.Entry{ID: id(i), Version: ver(), SHA256: newSHA(), References: refs(), PublicKeyToken: token(),
				Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: ws, Rule: string(rules.ForChannel(ch)), Solution: sol}}
			switch k := rnd.IntN(10); {
			case k == 0:
				e.Owner = storage.OwnerCustom
			case k == 1:
				e.WorkspaceID = "ws-old"
			case k < 5 && p.ID != "":
				e.Version, e.SHA256 = p.Version, p.SHA256
			}
			in.Entries = append(in.Entries, e)
		}
	}
	if in.Catalog != nil && len(in.Catalog.Packs) > 1 && rnd.IntN(40) == 0 {
		// A pack listed twice (no valid catalog does this; the planner
		// still must not fail).
		dup := in.Catalog.Packs[rnd.IntN(len(in.Catalog.Packs))]
		dup.SHA256 = newSHA()
		in.Catalog.Packs = append(in.Catalog.Packs, dup)
		in.Manifests[dup.SHA256] = ManifestResult{Manifest: pack.Manifest{ID: dup.ID, Version: dup.Version, References: refs()}}
	}
	slices.SortFunc(in.Entries, func(a, b storage.Entry) int { return strings.Compare(a.ID, b.ID) })
	if in.Catalog != nil {
		rnd.Shuffle(len(in.Catalog.Packs), func(i, j int) { in.Catalog.Packs[i], in.Catalog.Packs[j] = in.Catalog.Packs[j], in.Catalog.Packs[i] })
	}
	return in
}

// TestResolveMatchesNaive compares Resolve with the planner as it was
// (naiveResolve) over random inputs: the same changes, in the same order,
// with the same reasons and ids.
func TestResolveMatchesNaive(t *testing.T) {
	rnd := rand.New(rand.NewPCG(16, 10_000))
	seen := map[string]int{}
	for iter := range 20_000 {
		in := randomInput(rnd)
		c1, t1 := Classify(in)
		c2, _ := Classify(in)
		got := Resolve(in, c1)
		want := naiveResolve(in, c2)
		require.Equal(t, want, got, "iteration %d", iter)
		_ = t1
		for _, c := range got {
			switch {
			case strings.Contains(c.Reason, "loop"):
				seen["loop"]++
			case strings.Contains(c.Reason, "not removed"):
				seen["removal blocked"]++
			case strings.Contains(c.Reason, "which is blocked"):
				seen["waits for blocked"]++
			case strings.Contains(c.Reason, "key token"):
				seen["token"]++
			case strings.Contains(c.Reason, "not satisfied"):
				seen["unsatisfied"]++
			}
			seen[string(c.Action)]++
		}
	}
	for _, k := range []string{"loop", "removal blocked", "waits for blocked", "token", "unsatisfied", "import", "upgrade", "remove", "keep", "blocked"} {
		require.Positive(t, seen[k], "random inputs never produced %q: %v", k, seen)
	}
	t.Log(seen)
}

// TestResolveMatchesNaiveLarge does the same on the benchmark's input.
func TestResolveMatchesNaiveLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("the naive planner takes seconds at this size")
	}
	in := bigInput(2_000, 3)
	c1, _ := Classify(in)
	c2, _ := Classify(in)
	require.Equal(t, naiveResolve(in, c2), Resolve(in, c1))
}
