package plan

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// Plan is what a run of one or both rules would do: the diff of the
// workspace's catalog against the store, in the order it would be applied.
// Plans are plain values; [Plan.String] renders one for people (its layout is
// not stable: programs read the fields).
type Plan struct {
	// WorkspaceID is the workspace the catalog came from.
	WorkspaceID string `json:"workspaceId"`
	// Rules are the rules planned for, base packs' rule first.
	Rules []rules.Rule `json:"rules"`
	// CatalogSerial is the serial of the catalog planned from.
	CatalogSerial int64 `json:"catalogSerial"`
	// Stale is true when the service could not be reached and the plan uses
	// the last-known catalog; such a plan never removes packs.
	Stale bool `json:"stale,omitempty"`
	// CatalogFetchedAt is when the catalog was last confirmed by the service.
	CatalogFetchedAt time.Time `json:"catalogFetchedAt,omitzero"`
	// CatalogError is why the service could not be reached, when Stale.
	CatalogError string `json:"catalogError,omitempty"`
	// CreatedAt is the engine clock's reading when the plan was made.
	CreatedAt time.Time `json:"createdAt"`
	// Changes lists imports and upgrades (references first), then removals
	// (dependents first), then blocked changes and packs kept as they are.
	Changes []Change `json:"changes"`
}

// Actionable returns the changes that would change the store: imports,
// upgrades and removals, in plan order.
func (p *Plan) Actionable() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == ActionImport || c.Action == ActionUpgrade || c.Action == ActionRemove {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many changes have the given action.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// String renders the plan as a table for people. The layout may change.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for workspace %s (catalog serial %d", p.WorkspaceID, p.CatalogSerial)
	if p.Stale {
		fmt.Fprintf(&b, ", STALE since %s", p.CatalogFetchedAt.UTC().Format(time.RFC3339))
	}
	b.WriteString(")\n")
	WriteChanges(&b, p.Changes, nil)
	return b.String()
}

// Input is everything the diff needs; [Classify] and [Resolve] are pure
// functions of it, so that table tests cover every branch without a server.
type Input struct {
	// Rules are the rules planned for.
	Rules []rules.Rule
	// WorkspaceID is the workspace the store is bound to.
	WorkspaceID string
	// Catalog is the workspace's catalog; nil when none was ever fetched.
	Catalog *catalog.Catalog
	// Stale is true when Catalog is the last-known one (the service could
	// not be reached): nothing is removed then.
	Stale bool
	// Entries are the packs the store holds.
	Entries []storage.Entry
	// Platform lists the packs the group has installed that no workspace
	// serves.
	Platform pack.Inventory
	// PlatformName says where Platform came from, for reasons: "the
	// built-in inventory of Operations Manager 2012 R2", "the inventory in
	// Options.Platform".
	PlatformName string
	// Manifests holds the manifest of each catalog pack [Classify] named as
	// a target, by its sha256, or the error reading it.
	Manifests map[string]ManifestResult
}

// ManifestResult is a target pack's manifest, or why it could not be read.
type ManifestResult struct {
	Manifest pack.Manifest
	Err      error
}

// Classify is the first half of the diff: what each pack needs, before
// references are looked at. It returns the changes and the catalog packs
// whose manifests [Resolve] needs in Input.Manifests.
func Classify(in Input) (changes []Change, targets []catalog.Pack) {
	byID := make(map[string]int, len(in.Entries)) // index into in.Entries
	for i, e := range in.Entries {
		byID[e.ID] = i
	}
	inRules := func(r rules.Rule) bool { return slices.Contains(in.Rules, r) }
	seen := make([]bool, len(in.Entries)) // by index of the last entry of an id
	var at []int32                        // at[k]: the entry of catalog pack k, or -1
	if in.Catalog != nil {
		at = make([]int32, len(in.Catalog.Packs))
		for k, p := range in.Catalog.Packs {
			at[k] = -1
			if i, present := byID[p.ID]; present {
				// Seen whatever its channel: a pack that moved from base
				// to solution is still in the catalog, not gone from it.
				seen[i] = true
				at[k] = int32(i)
			}
		}
	}
	// last returns the index of the last entry of the id of entry i: i
	// itself when no id repeats (a store's listing), without a lookup.
	unique := len(byID) == len(in.Entries)
	last := func(i int, id string) int {
		if unique {
			return i
		}
		return byID[id]
	}
	gone := 0
	for i, e := range in.Entries {
		if e.Owner == storage.OwnerWorkspace && !seen[last(i, e.ID)] {
			gone++
		}
	}
	var targetAt []int             // indices into in.Catalog.Packs
	reasons := map[string]string{} // wantedReason by solution
	if in.Catalog != nil {
		changes = make([]Change, 0, len(in.Catalog.Packs)+gone)
		none := &storage.Entry{}
		for k, p := range in.Catalog.Packs {
			e, present := none, at[k] >= 0
			if present {
				e = &in.Entries[at[k]]
			}
			rule := rules.ForChannel(p.Channel)
			if !inRules(rule) {
				continue
			}
			c, isTarget := classifyPack(&in, rule, &p, e, present, reasons)
			if c.Action == "" {
				continue
			}
			changes = append(changes, c)
			if isTarget {
				targetAt = append(targetAt, k)
			}
		}
		if len(targetAt) > 0 {
			targets = make([]catalog.Pack, len(targetAt))
			for j, k := range targetAt {
				targets[j] = in.Catalog.Packs[k]
			}
		}
	} else {
		changes = make([]Change, 0, gone)
	}
	for i, e := range in.Entries {
		// Packs of any workspace count: a store is bound to one workspace at a
		// time, so packs an earlier workspace imported are removed too.
		if e.Owner != storage.OwnerWorkspace || seen[last(i, e.ID)] {
			continue
		}
		rule := rules.Rule(e.Rule)
		if !inRules(rule) {
			continue
		}
		reason := "pack is no longer in the workspace catalog"
		if e.WorkspaceID != in.WorkspaceID {
			reason = fmt.Sprintf("imported for workspace %s; workspace %s does not list it", e.WorkspaceID, in.WorkspaceID)
		}
		if in.Catalog == nil {
			reason = "no catalog is available"
		}
		changes = append(changes, removal(&in, rule, &e, reason))
	}
	assignIDs(changes)
	return changes, targets
}

// assignIDs gives every change its id (withID). The ids are SHA-256
// digests, about a sixth of a plan's time at 10,000 packs; a large plan
// computes them on every processor.
func assignIDs(changes []Change) {
	const chunk = 2048
	n := runtime.GOMAXPROCS(0)
	if len(changes) < 2*chunk || n < 2 {
		for i := range changes {
			changes[i].ID = idOf(&changes[i])
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(n, (len(changes)+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(changes) {
					return
				}
				for i := lo; i < min(lo+chunk, len(changes)); i++ {
					changes[i].ID = idOf(&changes[i])
				}
			}
		}()
	}
	wg.Wait()
}

// classifyPack decides what one catalog pack needs; isTarget reports that the
// change imports the catalog's bytes, so its manifest is needed. The change
// has no id yet (Classify assigns them); reasons caches wantedReason.
func classifyPack(in *Input, rule rules.Rule, p *catalog.Pack, e *storage.Entry, present bool, reasons map[string]string) (c Change, isTarget bool) {
	c = Change{Rule: rule, Pack: p.ID, To: p.Version, Solution: p.Solution, SHA256: p.SHA256, Size: p.Size, Href: p.Href}
	wanted := in.Catalog.Wanted(*p)
	switch {
	case present && e.Owner == storage.OwnerCustom:
		if !wanted {
			return Change{}, false // not ours, not wanted: nothing to say
		}
		c.Action, c.From = ActionBlocked, e.Version
		c.Reason = fmt.Sprintf("pack %s %s is owned by the operator (custom); sync never upgrades or removes it", p.ID, e.Version)
	case !wanted:
		if !present {
			return Change{}, false
		}
		return removal(in, rule, e, notWantedReason(in.Catalog, *p)), false
	case !present:
		why, ok := reasons[p.Solution]
		if p.Channel == catalog.ChannelBase {
			why = wantedReason(*p) // a constant
		} else if !ok {
			why = wantedReason(*p)
			reasons[p.Solution] = why
		}
		c.Action, c.Reason = ActionImport, why
		return c, true
	default:
		c.From = e.Version
		switch cmp := p.Version.Compare(e.Version); {
		case cmp > 0:
			c.Action, c.Reason = ActionUpgrade, "catalog has "+p.Version.String()+", store has "+e.Version.String()
			return c, true
		case cmp < 0:
			c.Action = ActionBlocked
			c.Reason = fmt.Sprintf("downgrade from %s to %s refused (use Rollback to go back on purpose)", e.Version, p.Version)
		case e.SHA256 == p.SHA256:
			c.Action, c.Reason = ActionKeep, "current"
		default:
			c.Action = ActionBlocked
			c.Reason = fmt.Sprintf("catalog serves version %s with different content (sha256 %s, store has %s); a version must not change its content", p.Version, short(p.SHA256), short(e.SHA256))
		}
	}
	return c, false
}

// removal is the change removing e (without its id, as classifyPack).
func removal(in *Input, rule rules.Rule, e *storage.Entry, reason string) Change {
	c := Change{Rule: rule, Action: ActionRemove, Pack: e.ID, From: e.Version, Solution: e.Solution, SHA256: e.SHA256, Reason: reason}
	switch {
	case scom.IsCorePack(e.ID):
		c.Action = ActionBlocked
		c.Reason = reason + "; kept: " + e.ID + " stays imported (connection guide: Remove Integration with OMS)"
	case in.Stale:
		c.Action = ActionBlocked
		c.Reason = reason + "; removal withheld: the catalog is stale (the service could not be reached)"
	case in.Catalog == nil:
		c.Action = ActionBlocked
		c.Reason = reason + "; removal withheld: no catalog has been fetched"
	}
	return c
}

func wantedReason(p catalog.Pack) string {
	if p.Channel == catalog.ChannelBase {
		return "base pack listed in the catalog"
	}
	return fmt.Sprintf("solution %s is enabled", p.Solution)
}

func notWantedReason(c *catalog.Catalog, p catalog.Pack) string {
	for _, s := range c.Solutions {
		if s.Name == p.Solution {
			return fmt.Sprintf("solution %s is disabled", p.Solution)
		}
	}
	return fmt.Sprintf("solution %s is not listed in the catalog", p.Solution)
}

// withID gives c its id: over the target version and hash, or for a
// removal over the version and hash removed, so an approval of "remove X
// 1.0" does not approve "remove X 2.0".
func withID(c Change) Change {
	c.ID = idOf(&c)
	return c
}

func idOf(c *Change) string {
	v := c.To
	if c.Action == ActionRemove {
		v = c.From
	}
	return ChangeID(c.Rule, c.Action, c.Pack, v, c.SHA256)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// block turns c into a blocked change with the reason, under a new id.
func block(c *Change, reason string) {
	c.Action, c.Reason = ActionBlocked, reason
	*c = withID(*c)
}

// blockUnreadable blocks imports and upgrades whose pack could not be
// downloaded or read, keeping the error.
//
// It blocks changes[i], whose manifest result is mr (found: ok).
func (r *resolver) blockUnreadable(i int, mr ManifestResult, ok bool) {
	err := fmt.Errorf("manifest not read")
	if ok {
		err = mr.Err
	}
	r.changes[i].Error = err.Error()
	block(&r.changes[i], "cannot read the pack from the workspace: "+err.Error())
}

// IsTarget reports whether the change imports the catalog's bytes: an
// import or an upgrade.
func (c Change) IsTarget() bool { return c.Action == ActionImport || c.Action == ActionUpgrade }

// unsatisfied checks one manifest's references against the state the plan
// leads to: plan targets, packs that stay, and the platform inventory.
func (r *resolver) unsatisfied(m pack.Manifest) (string, bool) {
	return r.unsatisfiedAt(m, nil)
}

// unsatisfiedAt is unsatisfied with the index in changes of each
// reference's pack looked up already (at[k] for m.References[k], -1 when
// none), or looked up now when at is nil.
func (r *resolver) unsatisfiedAt(m pack.Manifest, at []int32) (string, bool) {
	for k, ref := range m.References {
		j := int32(-1)
		if at != nil {
			j = at[k]
		} else if i, ok := r.byPack[ref.ID]; ok {
			j = int32(i)
		}
		have, ok := r.availableAt(ref.ID, j)
		if ok && !have.Less(ref.Version) {
			if ref.PublicKeyToken == "" {
				continue // no token to compare: skip the lookup
			}
			if reason, bad := TokenMismatch(ref, r.tokenAfter(ref.ID)); bad {
				return reason, true
			}
			continue
		}
		if j >= 0 && r.changes[j].Action == ActionBlocked && r.changes[j].To.Compare(ref.Version) >= 0 {
			return fmt.Sprintf("waits for %s %s, which is blocked", ref.ID, r.changes[j].To), true
		}
		if p, listed := r.catalogPack(ref.ID); listed && p.Channel == catalog.ChannelBase &&
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

// CheckReferences returns the references of m that the packs in in.Entries
// and in.Platform do not satisfy, each worded as a sync's blocked reason:
// what [Resolve] checks for a planned import, for a pack an operator
// imports by hand. A reference to m's own id is not checked.
func CheckReferences(m pack.Manifest, in Input) []string {
	r := &resolver{in: in, byPack: map[string]int{}, entries: make(map[string]int, len(in.Entries))}
	for i, e := range in.Entries {
		r.entries[e.ID] = i
	}
	var unmet []string
	for _, ref := range m.References {
		if ref.ID == m.ID {
			continue
		}
		if reason, bad := r.unsatisfiedAt(pack.Manifest{References: []pack.Reference{ref}}, nil); bad {
			unmet = append(unmet, reason)
		}
	}
	return unmet
}

// PlatformHint tells the operator how to give the engine the packs the
// group really has, when a reference may be satisfied there.
const PlatformHint = "if the group has it, supply the group's inventory (Options.Platform, or mpsync --platform FILE from Get-SCOMManagementPack)"

// fromPlatform reports whether the version of id the group will hold after
// the plan is the platform's: neither planned nor imported.
func (r *resolver) fromPlatform(id string) bool {
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
func (r *resolver) tokenAfter(id string) string {
	if i, ok := r.byPack[id]; ok && r.changes[i].IsTarget() {
		return r.manifest(i).PublicKeyToken
	}
	if e, ok := r.entry(id); ok {
		return e.PublicKeyToken
	}
	return ""
}

// TokenMismatch reports a reference whose PublicKeyToken names another key
// than the one the referenced sealed pack was signed with: Operations
// Manager refuses such an import, as the reference is to another publisher's
// pack of the same id. An empty token on either side is unknown, not a
// mismatch.
func TokenMismatch(ref pack.Reference, token string) (string, bool) {
	if ref.PublicKeyToken == "" || token == "" || strings.EqualFold(ref.PublicKeyToken, token) {
		return "", false
	}
	return fmt.Sprintf("reference %s (alias %s) wants public key token %s, but %s is sealed with key token %s",
		ref.ID, ref.Alias, strings.ToLower(ref.PublicKeyToken), ref.ID, strings.ToLower(token)), true
}

// availableAfter returns the version of id the management group will hold
// after the plan: a plan target, an entry that is not being removed, or a
// platform pack.
func (r *resolver) availableAfter(id string) (pack.Version, bool) {
	j := int32(-1)
	if i, ok := r.byPack[id]; ok {
		j = int32(i)
	}
	return r.availableAt(id, j)
}

// availableAt is availableAfter with the index of id's change (-1 when
// none) looked up already.
func (r *resolver) availableAt(id string, j int32) (pack.Version, bool) {
	if j >= 0 {
		c := r.changes[j]
		switch c.Action {
		case ActionImport, ActionUpgrade:
			return c.To, true
		case ActionKeep:
			return c.From, true // the store's version (a kept pack is in the store)
		case ActionRemove:
			return pack.Version{}, false
		}
	}
	if e, ok := r.entry(id); ok {
		return e.Version, true
	}
	v, ok := r.in.Platform[id]
	return v, ok
}

func rank(a Action) int {
	if a == ActionBlocked {
		return 0
	}
	return 1
}

// sortBy sorts cs (stably) by the position of each one's pack in ids.
func sortBy(cs []Change, ids []string) []Change {
	pos := make(map[string]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortStableFunc(cs, func(a, b Change) int { return cmp.Compare(pos[a.Pack], pos[b.Pack]) })
	return cs
}

// baseFirst moves MPUpdate's packs ahead of the solution packs in an import
// order when both rules run together (the connection guide's base packs go first), as
// long as no base pack references a solution pack of the plan; otherwise the
// plain reference order stands.
func baseFirst(targets []Change, ids []string, in Input) []string {
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
