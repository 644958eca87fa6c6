package mpsync

import (
	"slices"

	"mpsync.dev/mpsync/pack"
)

// importOrder returns the ids of ms with references first (only references
// within ms count); ties and cycles fall back to id order.
func importOrder(ms []pack.Manifest) []string {
	in := map[string]pack.Manifest{}
	for _, m := range ms {
		in[m.ID] = m
	}
	var out []string
	done := map[string]bool{}
	var visit func(id string, path map[string]bool)
	visit = func(id string, path map[string]bool) {
		if done[id] || path[id] {
			return
		}
		path[id] = true
		refs := slices.Clone(in[id].References)
		slices.SortFunc(refs, func(a, b pack.Reference) int { return compareStrings(a.ID, b.ID) })
		for _, r := range refs {
			if _, ok := in[r.ID]; ok {
				visit(r.ID, path)
			}
		}
		done[id] = true
		out = append(out, id)
	}
	ids := make([]string, 0, len(in))
	for id := range in {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		visit(id, map[string]bool{})
	}
	return out
}

// removalOrder returns the ids of ms with dependents first.
func removalOrder(ms []pack.Manifest) []string {
	out := importOrder(ms)
	slices.Reverse(out)
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
