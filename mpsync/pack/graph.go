package pack

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrDuplicatePack is wrapped by the error [NewGraph] returns when two
// manifests carry the same id.
var ErrDuplicatePack = errors.New("management pack appears more than once")

// ErrCycle is wrapped by every [*CycleError], for callers that only need to
// know that packs reference each other in a loop.
var ErrCycle = errors.New("management packs reference each other in a cycle")

// ErrUnsatisfied is wrapped by every [*UnsatisfiedError].
var ErrUnsatisfied = errors.New("management pack references are not satisfied")

// Graph is the reference graph of a set of management packs: pack A points
// to pack B when A's manifest references B. It answers the ordering
// questions Operations Manager imposes: references are imported first, a
// pack is removed only after the packs that reference it, and every
// reference must be present at the referenced version or higher.
//
// References to packs outside the set (platform libraries, packs already in
// the management group) are not edges; [Graph.Unsatisfied] checks them
// against what the caller says is available.
//
// A Graph is immutable once built and safe for concurrent use.
type Graph struct {
	packs map[string]Manifest
	ids   []string // sorted
	// refs and deps are the edges within the set, each list sorted and
	// without repeats: refs[a] are the packs a references, deps[b] the packs
	// that reference b.
	refs, deps map[string][]string
}

// NewGraph builds the graph of the given manifests. Their order does not
// matter. It fails, wrapping [ErrDuplicatePack], when an id appears twice.
func NewGraph(manifests []Manifest) (*Graph, error) {
	g := &Graph{
		packs: make(map[string]Manifest, len(manifests)),
		refs:  make(map[string][]string, len(manifests)),
		deps:  make(map[string][]string, len(manifests)),
	}
	for _, m := range manifests {
		if prev, dup := g.packs[m.ID]; dup {
			return nil, fmt.Errorf("%w: %s at versions %s and %s", ErrDuplicatePack, m.ID, prev.Version, m.Version)
		}
		g.packs[m.ID] = m
		g.ids = append(g.ids, m.ID)
	}
	slices.Sort(g.ids)
	for _, id := range g.ids {
		for _, r := range g.packs[id].References {
			if _, in := g.packs[r.ID]; !in || slices.Contains(g.refs[id], r.ID) {
				continue
			}
			g.refs[id] = append(g.refs[id], r.ID)
			g.deps[r.ID] = append(g.deps[r.ID], id)
		}
	}
	for _, id := range g.ids {
		slices.Sort(g.refs[id])
		slices.Sort(g.deps[id])
	}
	return g, nil
}

// IDs returns the ids of the packs in the graph, sorted.
func (g *Graph) IDs() []string { return slices.Clone(g.ids) }

// Manifest returns the manifest of the pack with the given id.
func (g *Graph) Manifest(id string) (Manifest, bool) {
	m, ok := g.packs[id]
	return m, ok
}

// ImportOrder returns the pack ids in an order where every pack comes after
// the packs of the set it references. Among packs whose references are all
// placed, the smallest id (byte order) comes first, so the order is the same
// on every run. It fails with a [*CycleError] when packs reference each
// other in a loop.
func (g *Graph) ImportOrder() ([]string, error) { return g.order(g.refs, g.deps, false) }

// RemovalOrder returns the pack ids in an order where every pack comes
// before the packs it references: the dependents of a pack are removed
// first. Ties go to the smallest id. It fails with a [*CycleError] when
// packs reference each other in a loop.
func (g *Graph) RemovalOrder() ([]string, error) { return g.order(g.deps, g.refs, true) }

// order is Kahn's algorithm: a pack is placed once every pack in before[id]
// is; after[id] are the packs waiting on id. reversed says that before
// holds dependents rather than references, for the cycle's direction.
func (g *Graph) order(before, after map[string][]string, reversed bool) ([]string, error) {
	waiting := make(map[string]int, len(g.ids))
	// ready is a min-heap of the ids whose packs can be placed: the
	// smallest pops first. (A sorted slice with inserts cost n² on sets of
	// thousands of packs.)
	ready := &stringHeap{}
	for _, id := range g.ids {
		waiting[id] = len(before[id])
		if waiting[id] == 0 {
			ready.s = append(ready.s, id) // g.ids is sorted: already a heap
		}
	}
	out := make([]string, 0, len(g.ids))
	for ready.Len() > 0 {
		id := heap.Pop(ready).(string)
		out = append(out, id)
		for _, next := range after[id] {
			waiting[next]--
			if waiting[next] == 0 {
				heap.Push(ready, next)
			}
		}
	}
	if len(out) < len(g.ids) {
		return nil, g.findCycle(before, waiting, reversed)
	}
	return out, nil
}

// stringHeap is a min-heap of strings for container/heap.
type stringHeap struct{ s []string }

func (h *stringHeap) Len() int           { return len(h.s) }
func (h *stringHeap) Less(i, j int) bool { return h.s[i] < h.s[j] }
func (h *stringHeap) Swap(i, j int)      { h.s[i], h.s[j] = h.s[j], h.s[i] }
func (h *stringHeap) Push(x any)         { h.s = append(h.s, x.(string)) }
func (h *stringHeap) Pop() any {
	x := h.s[len(h.s)-1]
	h.s = h.s[:len(h.s)-1]
	return x
}

// findCycle returns the cycle reached by walking before edges from the
// smallest unplaced id, always following the smallest unplaced neighbour.
// Every unplaced pack waits on an unplaced pack, so the walk must loop.
// When reversed, the walk followed dependents and the loop is turned round
// so the error always reads in the direction of references.
func (g *Graph) findCycle(before map[string][]string, waiting map[string]int, reversed bool) *CycleError {
	var start string
	for _, id := range g.ids {
		if waiting[id] > 0 {
			start = id
			break
		}
	}
	seen := map[string]int{}
	var path []string
	for id := start; ; {
		if at, ok := seen[id]; ok {
			loop := path[at:]
			if reversed {
				slices.Reverse(loop)
			}
			return newCycleError(loop)
		}
		seen[id] = len(path)
		path = append(path, id)
		for _, r := range before[id] {
			if waiting[r] > 0 {
				id = r
				break
			}
		}
	}
}

// CycleError reports packs that reference each other in a loop, which
// neither Operations Manager nor this package can order.
type CycleError struct {
	// Cycle lists the packs of the loop, each referencing the next, and
	// ends with the first again: ["A", "B", "A"] means A references B and B
	// references A. It starts at the smallest id of the loop. A pack that
	// references itself gives ["A", "A"].
	Cycle []string
}

func newCycleError(loop []string) *CycleError {
	i := 0
	for j, id := range loop {
		if id < loop[i] {
			i = j
		}
	}
	c := append(slices.Clone(loop[i:]), loop[:i]...)
	return &CycleError{Cycle: append(c, c[0])}
}

// Error names the packs of the loop: "management packs reference each
// other in a cycle: A -> B -> A".
func (e *CycleError) Error() string {
	return ErrCycle.Error() + ": " + strings.Join(e.Cycle, " -> ")
}

// Unwrap returns [ErrCycle].
func (e *CycleError) Unwrap() error { return ErrCycle }

// Dependents returns the ids of the packs in the graph that reference id
// directly, sorted.
func (g *Graph) Dependents(id string) []string { return slices.Clone(g.deps[id]) }

// References returns the ids of the packs in the graph that id references
// directly, sorted. References to packs outside the graph are not included;
// read them from the manifest.
func (g *Graph) References(id string) []string { return slices.Clone(g.refs[id]) }

// AllDependents returns the ids of every pack in the graph that references
// id directly or through other packs, sorted: the packs that must be removed
// before id can be.
func (g *Graph) AllDependents(id string) []string {
	seen := map[string]bool{id: true}
	stack := []string{id}
	var out []string
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range g.deps[cur] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				stack = append(stack, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Inventory maps pack ids to the versions present somewhere, such as a
// management group's platform libraries. Its Lookup method fits
// [Graph.Unsatisfied].
type Inventory map[string]Version

// Lookup returns the version of id in the inventory.
func (inv Inventory) Lookup(id string) (Version, bool) {
	v, ok := inv[id]
	return v, ok
}

// Unsatisfied is one reference that a pack of the graph cannot have met.
type Unsatisfied struct {
	// Pack is the id of the referencing pack.
	Pack string
	// Reference is the reference as the pack's manifest declares it.
	Reference Reference
	// Found is the version present, when Missing is false; it is lower than
	// Reference.Version.
	Found Version
	// Missing is true when the referenced pack is neither in the graph nor
	// available.
	Missing bool
}

// String describes the problem: "Contoso.App references Contoso.Lib
// 1.0.0.5 (alias Lib), which is missing" or "..., found 1.0.0.3".
func (u Unsatisfied) String() string {
	head := fmt.Sprintf("%s references %s %s (alias %s)", u.Pack, u.Reference.ID, u.Reference.Version, u.Reference.Alias)
	if u.Missing {
		return head + ", which is missing"
	}
	return head + ", found " + u.Found.String()
}

// Unsatisfied returns every reference of the graph's packs that is not met:
// the referenced pack must be in the graph or reported by available, at the
// referenced version or higher. A pack in the graph is taken at its version
// in the graph, even when available knows another; available may be nil
// when only the graph counts. The result is sorted by pack id, then in the
// manifest's reference order; it is empty when every reference is met.
func (g *Graph) Unsatisfied(available func(id string) (Version, bool)) []Unsatisfied {
	var out []Unsatisfied
	for _, id := range g.ids {
		for _, r := range g.packs[id].References {
			v, ok := Version{}, false
			if m, in := g.packs[r.ID]; in {
				v, ok = m.Version, true
			} else if available != nil {
				v, ok = available(r.ID)
			}
			switch {
			case !ok:
				out = append(out, Unsatisfied{Pack: id, Reference: r, Missing: true})
			case v.Less(r.Version):
				out = append(out, Unsatisfied{Pack: id, Reference: r, Found: v})
			}
		}
	}
	return out
}

// CheckReferences is [Graph.Unsatisfied] as an error: nil when every
// reference is met, otherwise an [*UnsatisfiedError] listing them all.
func (g *Graph) CheckReferences(available func(id string) (Version, bool)) error {
	if u := g.Unsatisfied(available); len(u) > 0 {
		return &UnsatisfiedError{Unsatisfied: u}
	}
	return nil
}

// UnsatisfiedError lists the references that are not met.
type UnsatisfiedError struct {
	Unsatisfied []Unsatisfied
}

// Error lists every unmet reference, separated by "; ".
func (e *UnsatisfiedError) Error() string {
	parts := make([]string, len(e.Unsatisfied))
	for i, u := range e.Unsatisfied {
		parts[i] = u.String()
	}
	return ErrUnsatisfied.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap returns [ErrUnsatisfied].
func (e *UnsatisfiedError) Unwrap() error { return ErrUnsatisfied }
