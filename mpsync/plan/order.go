package plan

import (
	"slices"

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

// rotateCycle returns the loop starting at its smallest id and ending with
// it again, as pack.CycleError names loops.
func rotateCycle(loop []string) []string {
	i := 0
	for j, id := range loop {
		if id < loop[i] {
			i = j
		}
	}
	c := append(slices.Clone(loop[i:]), loop[:i]...)
	return append(c, c[0])
}
