package plan

// The planner's Resolve as it was before the 10,000-pack work (commit
// cee803e), kept as the oracle the faster Resolve is compared with
// (TestResolveMatchesNaive) and as BenchmarkPlan10k's "naive" side.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// naiveResolver carries [Resolve]: it checks every import's and
// upgrade's references against what the store will hold, blocks what cannot
// be satisfied (and what depends on it), blocks removals that would break a
// pack that stays, and orders the result.
type naiveResolver struct {
	in      Input
	changes []Change
	byPack  map[string]int           // index into changes
	entries map[string]storage.Entry // the store before the plan
}

// Resolve is the second half of the diff: it checks every import's and
// upgrade's references against what the store will hold, blocks what cannot
// be satisfied (and what depends on it, and packs in reference loops),
// blocks removals that would break a pack that stays, and returns the
// changes in the order they are applied: imports and upgrades references
// first (base packs ahead of solution packs when both rules run), then
// removals dependents first, then blocked and kept changes.
func naiveResolve(in Input, changes []Change) []Change {
	r := &naiveResolver{in: in, changes: changes, byPack: map[string]int{}, entries: map[string]storage.Entry{}}
	for i, c := range changes {
		r.byPack[c.Pack] = i
	}
	for _, e := range in.Entries {
		r.entries[e.ID] = e
	}
	r.blockUnreadable()
	// Block imports whose references nothing satisfies and packs in
	// reference loops, until neither blocks anything more: blocking one
	// pack can leave another without its reference.
	for again := true; again; {
		again = naiveBlockCycles(in, changes)
		for i, c := range changes {
			if !c.IsTarget() {
				continue
			}
			if reason, unmet := r.unsatisfied(in.Manifests[c.SHA256].Manifest); unmet {
				block(&changes[i], reason)
				again = true
			}
		}
	}
	// Block removals that would break a pack that stays.
	for again := true; again; {
		again = false
		for i, c := range changes {
			if c.Action != ActionRemove {
				continue
			}
			if user := r.stayingUser(c.Pack); user != "" {
				block(&changes[i], fmt.Sprintf("%s; not removed: %s references it and stays", c.Reason, user))
				again = true
			}
		}
	}
	return r.order()
}

// blockUnreadable blocks imports and upgrades whose pack could not be
// downloaded or read, keeping the error.
func (r *naiveResolver) blockUnreadable() {
	for i, c := range r.changes {
		if !c.IsTarget() {
			continue
		}
		if mr, ok := r.in.Manifests[c.SHA256]; !ok || mr.Err != nil {
			err := fmt.Errorf("manifest not read")
			if ok {
				err = mr.Err
			}
			r.changes[i].Error = err.Error()
			block(&r.changes[i], "cannot read the pack from the workspace: "+err.Error())
		}
	}
}

// unsatisfied checks one manifest's references against the state the plan
// leads to: plan targets, packs that stay, and the platform inventory.
func (r *naiveResolver) unsatisfied(m pack.Manifest) (string, bool) {
	for _, ref := range m.References {
		have, ok := r.availableAfter(ref.ID)
		if ok && !have.Less(ref.Version) {
			if reason, bad := TokenMismatch(ref, r.tokenAfter(ref.ID)); bad {
				return reason, true
			}
			continue
		}
		if i, inPlan := r.byPack[ref.ID]; inPlan && r.changes[i].Action == ActionBlocked && r.changes[i].To.Compare(ref.Version) >= 0 {
			return fmt.Sprintf("waits for %s %s, which is blocked", ref.ID, r.changes[i].To), true
		}
		if p, listed := catalogPack(r.in.Catalog, ref.ID); listed && p.Channel == catalog.ChannelBase &&
			!slices.Contains(r.in.Rules, rules.MPUpdate) && !p.Version.Less(ref.Version) {
			return fmt.Sprintf("waits for MPUpdate to import base pack %s %s", ref.ID, p.Version), true
		}
		if ok {
			if r.fromPlatform(ref.ID) {
				return fmt.Sprintf("reference %s >= %s not satisfied: the group has %s %s (%s); %s",
					ref.ID, ref.Version, ref.ID, have, r.in.PlatformName, PlatformHint), true
			}
			return fmt.Sprintf("reference %s >= %s not satisfied: %s is present at %s", ref.ID, ref.Version, ref.ID, have), true
		}
		return fmt.Sprintf("reference %s >= %s not satisfied: no imported, planned or platform pack has that id (%s); %s",
			ref.ID, ref.Version, r.in.PlatformName, PlatformHint), true
	}
	return "", false
}

// fromPlatform reports whether the version of id the group will hold after
// the plan is the platform's: neither planned nor imported.
func (r *naiveResolver) fromPlatform(id string) bool {
	if _, planned := r.byPack[id]; planned {
		return false
	}
	if _, imported := r.entries[id]; imported {
		return false
	}
	_, ok := r.in.Platform[id]
	return ok
}

// tokenAfter returns the public key token of the pack id the group will
// hold after the plan, "" when unknown (an XML pack, a platform pack).
func (r *naiveResolver) tokenAfter(id string) string {
	if i, ok := r.byPack[id]; ok && r.changes[i].IsTarget() {
		return r.in.Manifests[r.changes[i].SHA256].Manifest.PublicKeyToken
	}
	if e, ok := r.entries[id]; ok {
		return e.PublicKeyToken
	}
	return ""
}

// availableAfter returns the version of id the management group will hold
// after the plan: a plan target, an entry that is not being removed, or a
// platform pack.
func (r *naiveResolver) availableAfter(id string) (pack.Version, bool) {
	if i, ok := r.byPack[id]; ok {
		c := r.changes[i]
		switch c.Action {
		case ActionImport, ActionUpgrade:
			return c.To, true
		case ActionRemove:
			return pack.Version{}, false
		}
	}
	if e, ok := r.entries[id]; ok {
		return e.Version, true
	}
	v, ok := r.in.Platform[id]
	return v, ok
}

// stayingUser returns a pack that references id and stays after the plan.
func (r *naiveResolver) stayingUser(id string) string {
	var users []string
	for _, e := range r.in.Entries {
		if i, ok := r.byPack[e.ID]; ok && (r.changes[i].Action == ActionRemove || r.changes[i].IsTarget()) {
			continue // removed, or replaced by a target checked below
		}
		if _, refs := e.Manifest().Reference(id); refs {
			users = append(users, e.ID)
		}
	}
	for _, c := range r.changes {
		if !c.IsTarget() {
			continue
		}
		if _, refs := r.in.Manifests[c.SHA256].Manifest.Reference(id); refs {
			users = append(users, c.Pack)
		}
	}
	if len(users) == 0 {
		return ""
	}
	slices.Sort(users)
	return users[0]
}

// order returns imports and upgrades with references first, then removals
// with dependents first, then blocked and kept changes by pack id.
func (r *naiveResolver) order() []Change {
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
		removalManifests = append(removalManifests, r.entries[c.Pack].Manifest())
	}
	targets = sortBy(targets, naiveBaseFirst(targets, graphOrder(targetManifests, (*pack.Graph).ImportOrder), in))
	removals = sortBy(removals, graphOrder(removalManifests, (*pack.Graph).RemovalOrder))
	slices.SortStableFunc(rest, func(a, b Change) int {
		return cmp.Or(cmp.Compare(rank(a.Action), rank(b.Action)), cmp.Compare(a.Pack, b.Pack))
	})
	return slices.Concat(targets, removals, rest)
}

// baseFirst moves MPUpdate's packs ahead of the solution packs in an import
// order when both rules run together (the connection guide's base packs go first), as
// long as no base pack references a solution pack of the plan; otherwise the
// plain reference order stands.
func naiveBaseFirst(targets []Change, ids []string, in Input) []string {
	rule := map[string]rules.Rule{}
	for _, c := range targets {
		rule[c.Pack] = c.Rule
	}
	var base, solution []string
	for _, id := range ids {
		if rule[id] == rules.MPUpdate {
			base = append(base, id)
		} else {
			solution = append(solution, id)
		}
	}
	for _, c := range targets {
		if c.Rule != rules.MPUpdate {
			continue
		}
		for _, ref := range in.Manifests[c.SHA256].Manifest.References {
			if r, ok := rule[ref.ID]; ok && r != rules.MPUpdate {
				return ids
			}
		}
	}
	return slices.Concat(base, solution)
}

// blockCycles blocks imports and upgrades whose packs reference each other
// in a loop: Operations Manager cannot import such packs in any order. It
// reports whether it blocked anything.
func naiveBlockCycles(in Input, changes []Change) (blocked bool) {
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

func catalogPack(c *catalog.Catalog, id string) (catalog.Pack, bool) {
	if c == nil {
		return catalog.Pack{}, false
	}
	return c.Pack(id)
}
