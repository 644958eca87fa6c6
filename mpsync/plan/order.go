package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"mpsync.dev/mpsync/pack"
)

// importOrder returns the ids of ms with references first (references
// within ms only), ties by id. Callers remove cycles first (blockCycles);
// should one remain, the ids come back sorted.
func importOrder(ms []pack.Manifest) []string {
	return graphOrder(ms, (*pack.Graph).ImportOrder)
}

// RemovalOrder returns the ids of ms with dependents first (references
// within ms only), ties by id; the order Disconnect removes packs in.
func RemovalOrder(ms []pack.Manifest) []string {
	return graphOrder(ms, (*pack.Graph).RemovalOrder)
}

func graphOrder(ms []pack.Manifest, order func(*pack.Graph) ([]string, error)) []string {
	g, err := pack.NewGraph(ms)
	if err == nil {
		var ids []string
		if ids, err = order(g); err == nil {
			return ids
		}
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}

// blockCycles blocks imports and upgrades whose packs reference each other
// in a loop: Operations Manager cannot import such packs in any order. It
// reports whether it blocked anything.
func blockCycles(in Input, changes []Change) (blocked bool) {
	for {
		var ms []pack.Manifest
		byPack := map[string]int{}
		for i, c := range changes {
			if c.IsTarget() {
				m := in.Manifests[c.SHA256].Manifest
				m.ID = c.Pack
				ms = append(ms, m)
				byPack[c.Pack] = i
			}
		}
		g, err := pack.NewGraph(ms)
		if err != nil {
			return blocked
		}
		_, err = g.ImportOrder()
		var cyc *pack.CycleError
		if !errors.As(err, &cyc) {
			return blocked
		}
		blocked = true
		loop := strings.Join(cyc.Cycle, " -> ")
		for _, id := range cyc.Cycle {
			if i, ok := byPack[id]; ok && changes[i].IsTarget() {
				block(&changes[i], fmt.Sprintf("packs reference each other in a loop (%s); none can be imported first", loop))
			}
		}
	}
}
