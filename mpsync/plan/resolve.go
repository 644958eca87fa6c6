package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// resolver carries [Resolve]: it checks every import's and upgrade's
// references against what the store will hold, blocks what cannot be
// satisfied (and what depends on it), blocks removals that would break a
// pack that stays, and orders the result.
//
// Packs are named by their index in changes once looked up, so a plan of n
// packs costs about n log n; a change is checked again only when something
// it depends on was blocked (see [fixpoint]).
type resolver struct {
	in      Input
	changes []Change
	byPack  map[string]int // index into changes
	entries map[string]int // the store before the plan: index into in.Entries
	// catalog holds the catalog's packs by id (the first of an id); made
	// when first needed.
	catalog map[string]catalog.Pack
	// manifests holds each target's manifest, by index into changes, and
	// refAt the index in changes of each of its references' packs (-1 when
	// none).
	manifests []*pack.Manifest
	refAt     [][]int32
}

// manifest returns the manifest of changes[i], a target.
func (r *resolver) manifest(i int) *pack.Manifest {
	if m := r.manifests[i]; m != nil {
		return m
	}
	return &pack.Manifest{}
}

// Resolve is the second half of the diff: it checks every import's and
// upgrade's references against what the store will hold, blocks what cannot
// be satisfied (and what depends on it, and packs in reference loops),
// blocks removals that would break a pack that stays, and returns the
// changes in the order they are applied: imports and upgrades references
// first (base packs ahead of solution packs when both rules run), then
// removals dependents first, then blocked and kept changes. It works in
// changes (the slice [Classify] returned): the result may share its
// array, and changes is not usable afterwards.
func Resolve(in Input, changes []Change) []Change {
	r := &resolver{in: in, changes: changes, byPack: make(map[string]int, len(changes)),
		entries: make(map[string]int, len(in.Entries))}
	for i, c := range changes {
		r.byPack[c.Pack] = i
	}
	for i, e := range in.Entries {
		r.entries[e.ID] = i
	}
	r.manifests = make([]*pack.Manifest, len(changes))
	r.refAt = make([][]int32, len(changes))
	var at []int32 // one allocation for every target's refAt
	targets := 0
	for i := range changes {
		if changes[i].IsTarget() {
			targets++
		}
	}
	held := make([]pack.Manifest, 0, targets) // never grows: the pointers stay valid
	for i := range changes {
		if c := &changes[i]; c.IsTarget() {
			mr, ok := in.Manifests[c.SHA256]
			if !ok || mr.Err != nil {
				r.blockUnreadable(i, mr, ok)
				continue
			}
			held = append(held, mr.Manifest)
			r.manifests[i] = &held[len(held)-1]
			start := len(at)
			for _, ref := range mr.Manifest.References {
				j, ok := r.byPack[ref.ID]
				if !ok {
					j = -1
				}
				at = append(at, int32(j))
			}
			r.refAt[i] = at[start:len(at):len(at)]
		}
	}
	// The graph of the targets; blocking a target takes it out (see alive).
	tg, unique := r.targetGraph()
	// Block packs in reference loops, then imports whose references nothing
	// satisfies, until nothing more is blocked: blocking one pack can leave
	// another without its reference. Blocking only takes targets away, so
	// no loop appears after the first pass.
	if unique {
		r.blockCycles(tg)
		r.blockUnsatisfied(tg)
	} else {
		r.blockUnsatisfiedSlowly()
	}
	// Block removals that would break a pack that stays. A removal blocked
	// keeps its pack, whose references then stay used.
	var removals []int
	users := make([][]user, len(changes)) // who references each removal's pack
	var twice map[string][]int            // removals by pack, when some pack has more than one (no valid catalog)
	removalAt := map[string]int{}         // the removals by pack (the last change of a pack), a map far smaller than byPack
	for i, c := range changes {
		if c.Action == ActionRemove {
			removals = append(removals, i)
			if r.byPack[c.Pack] != i && twice == nil {
				twice = map[string][]int{}
			} else if r.byPack[c.Pack] == i {
				removalAt[c.Pack] = i
			}
		}
	}
	removing := func(id string) (int, bool) {
		j, ok := removalAt[id]
		return j, ok && changes[j].Action == ActionRemove
	}
	for _, i := range removals {
		if twice != nil {
			twice[changes[i].Pack] = append(twice[changes[i].Pack], i)
		}
	}
	if len(removals) > 0 {
		for _, e := range in.Entries {
			for _, ref := range e.References {
				if j, ok := removing(ref.ID); ok {
					users[j] = append(users[j], user{id: e.ID, entry: true})
				}
			}
		}
		for i, c := range changes {
			if !c.IsTarget() {
				continue
			}
			for _, j := range r.refAt[i] {
				if j >= 0 && changes[j].Action == ActionRemove {
					users[j] = append(users[j], user{id: c.Pack})
				}
			}
		}
	}
	fixpoint(len(changes), removals, func(i int) bool {
		c := changes[i]
		if c.Action != ActionRemove {
			return false
		}
		who := r.stayingUser(users[r.byPack[c.Pack]])
		if who != "" {
			block(&changes[i], fmt.Sprintf("%s; not removed: %s references it and stays", c.Reason, who))
		}
		return who != ""
	}, func(i int) []int {
		var wake []int
		e, _ := r.entry(changes[i].Pack)
		for _, ref := range e.References {
			if twice != nil {
				wake = append(wake, twice[ref.ID]...)
			} else if j, ok := removing(ref.ID); ok {
				wake = append(wake, j)
			}
		}
		return wake
	})
	if !unique {
		return r.order(nil)
	}
	return r.order(&tg)
}

// blockUnsatisfied blocks the targets whose references nothing satisfies,
// and what waits for them, until nothing more is blocked. tg is the graph
// of the targets: checking a target reads only the changes of the packs it
// references, so blocking one wakes the targets referencing it.
func (r *resolver) blockUnsatisfied(tg indexGraph) {
	var wake []int
	fixpoint(len(r.changes), tg.nodes, func(i int) bool {
		c := r.changes[i]
		if !c.IsTarget() {
			return false
		}
		reason, unmet := r.unsatisfiedAt(*r.manifest(i), r.refAt[i])
		if unmet {
			block(&r.changes[i], reason)
		}
		return unmet
	}, func(i int) []int {
		wake = wake[:0]
		for _, k := range tg.deps[tg.node[i]] {
			wake = append(wake, tg.nodes[k])
		}
		return wake
	})
}

// blockUnsatisfiedSlowly is the loop blockCycles and blockUnsatisfied
// stand for, run as written: for changes naming a pack twice (which no
// valid catalog does), where loops are looked for only once the targets
// name each pack once.
func (r *resolver) blockUnsatisfiedSlowly() {
	for again := true; again; {
		again = false
		if g, ok := r.targetGraph(); ok {
			again = r.blockCycles(g)
		}
		for i, c := range r.changes {
			if !c.IsTarget() {
				continue
			}
			if reason, unmet := r.unsatisfied(*r.manifest(i)); unmet {
				block(&r.changes[i], reason)
				again = true
			}
		}
	}
}

// entry returns the store's entry for id, if the store holds it.
func (r *resolver) entry(id string) (*storage.Entry, bool) {
	i, ok := r.entries[id]
	if !ok {
		return &storage.Entry{}, false
	}
	return &r.in.Entries[i], true
}

// catalogPack returns the catalog's pack with the given id.
func (r *resolver) catalogPack(id string) (catalog.Pack, bool) {
	if r.in.Catalog == nil {
		return catalog.Pack{}, false
	}
	if r.catalog == nil {
		r.catalog = make(map[string]catalog.Pack, len(r.in.Catalog.Packs))
		for _, p := range r.in.Catalog.Packs {
			if _, dup := r.catalog[p.ID]; !dup {
				r.catalog[p.ID] = p
			}
		}
	}
	p, ok := r.catalog[id]
	return p, ok
}

// fixpoint is the loop "until nothing changes, check every candidate in
// index order; check blocks some", without checking candidates nothing
// changed for. check(i) checks candidate i and reports whether it blocked
// it; woken(i) lists the candidates whose check may answer otherwise once i
// is blocked. Candidates are checked in the order, and see the state, that
// the plain loop would give them: one woken by a candidate before it in the
// same pass is checked later in that pass, one woken by a candidate after
// it in the next pass. A candidate's reason names what blocked it when it
// was checked, so the result is the plain loop's, reasons included.
func fixpoint(n int, candidates []int, check func(i int) bool, woken func(i int) []int) {
	if len(candidates) == 0 {
		return
	}
	// cur is this pass's queue: the candidates not yet checked (in order:
	// callers pass them sorted) merged with a heap of those woken for this
	// pass.
	queued := make([]bool, n) // in cur
	inNext := make([]bool, n)
	woke := &intHeap{less: func(a, b int) bool { return a < b }}
	list := candidates
	for _, i := range list {
		queued[i] = true
	}
	var next []int
	for len(list) > 0 || woke.len() > 0 {
		for len(list) > 0 || woke.len() > 0 {
			var i int
			if woke.len() > 0 && (len(list) == 0 || woke.h[0] < list[0]) {
				i = woke.pop()
			} else {
				i, list = list[0], list[1:]
			}
			if !queued[i] {
				continue // checked already in this pass (a repeat)
			}
			queued[i] = false
			if !check(i) {
				continue
			}
			for _, d := range woken(i) {
				switch {
				case d > i && !queued[d]:
					queued[d] = true
					woke.push(d)
				case d <= i && !inNext[d]:
					inNext[d] = true
					next = append(next, d)
				}
			}
		}
		slices.Sort(next)
		for _, d := range next {
			inNext[d] = false
			queued[d] = true
		}
		list, next = next, nil
	}
}

// intHeap is a min-heap of ints under less.
type intHeap struct {
	h    []int
	less func(a, b int) bool
}

func (h *intHeap) len() int { return len(h.h) }

func (h *intHeap) push(x int) {
	h.h = append(h.h, x)
	for i := len(h.h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(h.h[i], h.h[p]) {
			break
		}
		h.h[p], h.h[i] = h.h[i], h.h[p]
		i = p
	}
}

func (h *intHeap) pop() int {
	top := h.h[0]
	last := len(h.h) - 1
	h.h[0] = h.h[last]
	h.h = h.h[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < last && h.less(h.h[l], h.h[m]) {
			m = l
		}
		if l+1 < last && h.less(h.h[l+1], h.h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		h.h[m], h.h[i] = h.h[i], h.h[m]
		i = m
	}
	return top
}

// user is a pack that references a pack being removed: an entry of the
// store, or a plan target (by its manifest).
type user struct {
	id    string
	entry bool
}

// stayingUser returns the smallest id among us (the packs referencing a
// pack) that stays after the plan: a target, or an entry that is neither
// removed nor replaced by a target (whose own manifest is among us).
func (r *resolver) stayingUser(us []user) string {
	best := ""
	for _, u := range us {
		if u.entry {
			if i, ok := r.byPack[u.id]; ok && (r.changes[i].Action == ActionRemove || r.changes[i].IsTarget()) {
				continue
			}
		}
		if best == "" || u.id < best {
			best = u.id
		}
	}
	return best
}

// blockCycles blocks imports and upgrades whose packs reference each other
// in a loop: Operations Manager cannot import such packs in any order.
//
// It blocks what "find a loop with pack.Graph, block it, look again"
// blocks, the loops found in the same order and named the same way, without
// rebuilding the graph for each loop: the packs Kahn's algorithm cannot
// place are exactly those in or behind a loop, and blocking a loop's packs
// frees only packs that waited on them.
//
// g is the graph of the targets; its reference lists are left sorted by id.
// It reports whether it blocked anything.
func (r *resolver) blockCycles(g indexGraph) (blocked bool) {
	changes := r.changes
	n := len(g.nodes)
	waiting := make([]int, n)
	placed := make([]bool, n)
	removed := make([]bool, n)
	var ready []int
	place := func(k int) {
		ready = append(ready[:0], k)
		for len(ready) > 0 {
			k := ready[len(ready)-1]
			ready = ready[:len(ready)-1]
			placed[k] = true
			for _, d := range g.deps[k] {
				if placed[d] || removed[d] {
					continue
				}
				if waiting[d]--; waiting[d] == 0 {
					ready = append(ready, d)
				}
			}
		}
	}
	for k := range n {
		waiting[k] = len(g.refs[k])
	}
	left := n
	for k := range n {
		if waiting[k] == 0 && !placed[k] {
			place(k)
		}
	}
	for k := range n {
		if placed[k] {
			left--
		}
	}
	if left == 0 {
		return false // no loop: the usual case
	}
	// Walk the open packs in id order, references by smallest id, as
	// pack.Graph's findCycle does.
	byID := make([]int, n)
	for k := range byID {
		byID[k] = k
	}
	id := func(k int) string { return changes[g.nodes[k]].Pack }
	slices.SortFunc(byID, func(a, b int) int { return strings.Compare(id(a), id(b)) })
	for k := range n {
		slices.SortFunc(g.refs[k], func(a, b int) int { return strings.Compare(id(a), id(b)) })
	}
	open := func(k int) bool { return !placed[k] && !removed[k] }
	seen := map[int]int{}
	for s := 0; s < n; s++ {
		start := byID[s]
		if !open(start) {
			continue
		}
		// Every open pack waits on an open pack, so the walk loops.
		clear(seen)
		var path []int
		for k := start; ; {
			if i, ok := seen[k]; ok {
				path = path[i:]
				break
			}
			seen[k] = len(path)
			path = append(path, k)
			for _, ref := range g.refs[k] {
				if open(ref) {
					k = ref
					break
				}
			}
		}
		ids := make([]string, len(path))
		for i, k := range path {
			ids[i] = id(k)
		}
		loop := strings.Join(rotateCycle(ids), " -> ")
		for _, k := range path {
			block(&changes[g.nodes[k]], fmt.Sprintf("packs reference each other in a loop (%s); none can be imported first", loop))
			removed[k] = true
		}
		// The loop's packs are gone: packs that waited only on them can
		// be placed now.
		for _, k := range path {
			for _, d := range g.deps[k] {
				if open(d) {
					if waiting[d]--; waiting[d] == 0 {
						place(d)
					}
				}
			}
		}
		blocked = true
		s-- // the same pack may still be open, behind another loop
	}
	return blocked
}

// indexGraph is the reference graph of some of the changes: nodes[k] is
// the index in changes of node k; refs[k] are the nodes k references
// (without repeats) and deps[k] the nodes referencing k.
type indexGraph struct {
	nodes      []int
	node       []int32 // node[i] is the node of changes[i], or -1
	refs, deps [][]int
}

// targetGraph returns the graph of the imports and upgrades, by their
// manifests; ok is false when two of them are for the same pack.
func (r *resolver) targetGraph() (g indexGraph, ok bool) {
	return r.graph(func(c Change) bool { return c.IsTarget() }, func(i int) []pack.Reference {
		return r.manifest(i).References
	}, func(i int) []int32 { return r.refAt[i] })
}

// removalGraph returns the graph of the removals, by the store's entries.
func (r *resolver) removalGraph() (g indexGraph, ok bool) {
	return r.graph(func(c Change) bool { return c.Action == ActionRemove }, func(i int) []pack.Reference {
		e, _ := r.entry(r.changes[i].Pack)
		return e.References
	}, nil)
}

// refAt, when not nil, gives the index in changes of each reference's pack
// (as byPack would), sparing the lookups.
func (r *resolver) graph(in func(Change) bool, refs func(i int) []pack.Reference, refAt func(i int) []int32) (g indexGraph, ok bool) {
	node := make([]int32, len(r.changes))
	g.node = node
	shadowed := false // a member's pack is also another change's
	for i, c := range r.changes {
		node[i] = -1
		if in(c) {
			node[i] = int32(len(g.nodes))
			g.nodes = append(g.nodes, i)
			shadowed = shadowed || r.byPack[c.Pack] != i
		}
	}
	member := func(id string) (int, bool) {
		j, ok := r.byPack[id]
		return j, ok && node[j] >= 0
	}
	if shadowed {
		refAt = nil
		// byPack names the last change of a pack, which may not be the
		// member: look members up by pack instead (no valid catalog gets
		// here).
		byID := map[string]int{}
		for _, i := range g.nodes {
			if _, dup := byID[r.changes[i].Pack]; dup {
				return g, false
			}
			byID[r.changes[i].Pack] = i
		}
		member = func(id string) (int, bool) {
			j, ok := byID[id]
			return j, ok
		}
	}
	// Two passes, so that every node's lists are slices of two arrays.
	edges := func(k, i int, each func(j int)) {
		var at []int32
		if refAt != nil {
			at = refAt(i)
		}
		var seen [8]int // the first references, for repeats without a map
		n := 0
		for x, ref := range refs(i) {
			var j int
			var ok bool
			if at != nil {
				j = int(at[x])
				ok = j >= 0 && node[j] >= 0
			} else {
				j, ok = member(ref.ID)
			}
			if !ok {
				continue
			}
			to := int(node[j])
			if n <= len(seen) && slices.Contains(seen[:n], to) || n > len(seen) && repeats(refs(i)[:x], ref.ID, to, node, member, at) {
				continue
			}
			if n < len(seen) {
				seen[n] = to
			}
			n++
			each(to)
		}
	}
	nref := make([]int, len(g.nodes))
	ndep := make([]int, len(g.nodes))
	total := 0
	for k, i := range g.nodes {
		edges(k, i, func(to int) { nref[k]++; ndep[to]++; total++ })
	}
	refFlat, depFlat := make([]int, total), make([]int, total)
	g.refs = make([][]int, len(g.nodes))
	g.deps = make([][]int, len(g.nodes))
	ro, do := 0, 0
	for k := range g.nodes {
		g.refs[k] = refFlat[ro : ro : ro+nref[k]]
		g.deps[k] = depFlat[do : do : do+ndep[k]]
		ro += nref[k]
		do += ndep[k]
	}
	for k, i := range g.nodes {
		edges(k, i, func(to int) {
			g.refs[k] = append(g.refs[k], to)
			g.deps[to] = append(g.deps[to], k)
		})
	}
	return g, true
}

// repeats reports whether one of refs (the references before the one to
// node to) already leads to node to: for a pack with more than eight
// references.
func repeats(refs []pack.Reference, id string, to int, node []int32, member func(string) (int, bool), at []int32) bool {
	for x, ref := range refs {
		var j int
		var ok bool
		if at != nil {
			j = int(at[x])
			ok = j >= 0 && node[j] >= 0
		} else {
			j, ok = member(ref.ID)
		}
		if ok && int(node[j]) == to {
			return true
		}
	}
	return false
}

// kahn returns the nodes of g for which alive holds, in an order where each
// comes after the nodes in before[k], the smallest pack id first among
// those ready (as pack.Graph orders); ok is false when a loop leaves some
// unplaced.
func (r *resolver) kahn(g indexGraph, before, after [][]int, alive func(k int) bool) (order []int, ok bool) {
	// rank[k] is node k's place in id order: the heap compares ints.
	byID := make([]int, 0, len(g.nodes))
	for k := range g.nodes {
		if alive(k) {
			byID = append(byID, k)
		}
	}
	n := len(byID)
	slices.SortFunc(byID, func(a, b int) int { return strings.Compare(r.changes[g.nodes[a]].Pack, r.changes[g.nodes[b]].Pack) })
	rank := make([]int32, len(g.nodes))
	for p, k := range byID {
		rank[k] = int32(p)
	}
	waiting := make([]int, len(g.nodes))
	ready := &intHeap{less: func(a, b int) bool { return rank[a] < rank[b] }}
	for _, k := range byID { // in id order: ready is a heap as it grows
		for _, b := range before[k] {
			if alive(b) {
				waiting[k]++
			}
		}
		if waiting[k] == 0 {
			ready.h = append(ready.h, k)
		}
	}
	order = make([]int, 0, n)
	for ready.len() > 0 {
		k := ready.pop()
		order = append(order, k)
		for _, d := range after[k] {
			if !alive(d) {
				continue
			}
			if waiting[d]--; waiting[d] == 0 {
				ready.push(d)
			}
		}
	}
	return order, len(order) == n
}

// order returns imports and upgrades with references first, then removals
// with dependents first, then blocked and kept changes by pack id.
//
// tg is the graph of the targets before any was blocked (nil when two named
// the same pack).
func (r *resolver) order(tg *indexGraph) []Change {
	rg, rok := r.removalGraph()
	if tg == nil || !rok {
		return r.orderByIDs() // the same pack twice: order as pack.Graph would fail to
	}
	idx := make([]int, 0, len(r.changes)) // indices into changes, in plan order
	// Imports and upgrades, references first.
	target := func(k int) bool { return r.changes[tg.nodes[k]].IsTarget() }
	perm, ok := r.kahn(*tg, tg.refs, tg.deps, target)
	if !ok {
		perm = r.sortedNodes(*tg, target)
	}
	// MPUpdate's packs ahead of the solution packs, unless a base pack
	// references a solution pack of the plan.
	split := true
	for _, k := range perm {
		i := tg.nodes[k]
		c := &r.changes[i]
		if c.Rule != rules.MPUpdate {
			continue
		}
		for _, ref := range r.manifest(i).References {
			if j, ok := r.byPack[ref.ID]; ok && r.changes[j].IsTarget() && r.changes[j].Rule != rules.MPUpdate {
				split = false
			}
		}
	}
	if split {
		for _, k := range perm {
			if r.changes[tg.nodes[k]].Rule == rules.MPUpdate {
				idx = append(idx, tg.nodes[k])
			}
		}
		for _, k := range perm {
			if r.changes[tg.nodes[k]].Rule != rules.MPUpdate {
				idx = append(idx, tg.nodes[k])
			}
		}
	} else {
		for _, k := range perm {
			idx = append(idx, tg.nodes[k])
		}
	}
	// Removals, dependents first.
	all := func(int) bool { return true }
	perm, ok = r.kahn(rg, rg.deps, rg.refs, all)
	if !ok {
		perm = r.sortedNodes(rg, all)
	}
	for _, k := range perm {
		idx = append(idx, rg.nodes[k])
	}
	// The rest, blocked first, by pack id.
	n := len(idx)
	for i := range r.changes {
		if c := &r.changes[i]; !c.IsTarget() && c.Action != ActionRemove {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx[n:], func(a, b int) int {
		x, y := &r.changes[a], &r.changes[b]
		return cmp.Or(cmp.Compare(rank(x.Action), rank(y.Action)), cmp.Compare(x.Pack, y.Pack))
	})
	if len(idx) == 0 {
		return nil
	}
	permute(r.changes, idx)
	return r.changes
}

// permute reorders cs in place so that cs[k] becomes the old cs[idx[k]];
// idx is a permutation of the indices of cs, and is used up.
func permute(cs []Change, idx []int) {
	for start := range idx {
		if idx[start] < 0 || idx[start] == start {
			continue
		}
		tmp := cs[start]
		j := start
		for {
			next := idx[j]
			idx[j] = -1
			if next == start {
				cs[j] = tmp
				break
			}
			cs[j] = cs[next]
			j = next
		}
	}
}

// sortedNodes returns g's nodes by pack id: the order when a loop leaves
// none.
func (r *resolver) sortedNodes(g indexGraph, alive func(k int) bool) []int {
	perm := make([]int, 0, len(g.nodes))
	for k := range g.nodes {
		if alive(k) {
			perm = append(perm, k)
		}
	}
	slices.SortStableFunc(perm, func(a, b int) int { return strings.Compare(r.changes[g.nodes[a]].Pack, r.changes[g.nodes[b]].Pack) })
	return perm
}

// orderByIDs is order through pack.Graph, for changes that name a pack
// twice (which no catalog or store listing does).
func (r *resolver) orderByIDs() []Change {
	in := r.in
	var targets, removals, rest []Change
	for _, c := range r.changes {
		switch {
		case c.IsTarget():
			targets = append(targets, c)
		case c.Action == ActionRemove:
			removals = append(removals, c)
		default:
			rest = append(rest, c)
		}
	}
	targetManifests := make([]pack.Manifest, 0, len(targets))
	for _, c := range targets {
		m := in.Manifests[c.SHA256].Manifest
		m.ID = c.Pack
		targetManifests = append(targetManifests, m)
	}
	removalManifests := make([]pack.Manifest, 0, len(removals))
	for _, c := range removals {
		e, _ := r.entry(c.Pack)
		removalManifests = append(removalManifests, e.Manifest())
	}
	targets = sortBy(targets, baseFirst(targets, importOrder(targetManifests), in))
	removals = sortBy(removals, RemovalOrder(removalManifests))
	slices.SortStableFunc(rest, func(a, b Change) int {
		return cmp.Or(cmp.Compare(rank(a.Action), rank(b.Action)), cmp.Compare(a.Pack, b.Pack))
	})
	return slices.Concat(targets, removals, rest)
}
