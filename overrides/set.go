package overrides

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Set is the collection of override packs that apply to a management group,
// as the engine sees it at one moment. Build it with [NewSet]; a Set is not
// changed after it is built, so it may be shared between goroutines.
type Set struct {
	packs []*Pack // sorted by pack id
}

// NewSet collects packs into a Set. Each pack id may occur once, and each
// override id once across all packs: element ids are unique in a management
// group, and Operations Manager refuses to import a pack that breaks this.
// A violation is an [*Error] wrapping [ErrInvalid]. Nil packs are ignored.
func NewSet(packs ...*Pack) (*Set, error) {
	s := &Set{}
	byPack := make(map[string]bool)
	byOverride := make(map[string]string)
	for _, p := range packs {
		if p == nil {
			continue
		}
		if byPack[p.manifest.ID] {
			return nil, &Error{Pack: p.manifest.ID, Err: fmt.Errorf("pack %s is in the set twice", p.manifest.ID)}
		}
		byPack[p.manifest.ID] = true
		for _, id := range p.ids() {
			if other, dup := byOverride[id]; dup {
				return nil, &Error{Pack: p.manifest.ID, Override: id, Err: fmt.Errorf("id already used in pack %s", other)}
			}
			byOverride[id] = p.manifest.ID
		}
		s.packs = append(s.packs, p)
	}
	slices.SortFunc(s.packs, func(a, b *Pack) int { return strings.Compare(a.manifest.ID, b.manifest.ID) })
	return s, nil
}

func (p *Pack) ids() []string {
	ids := make([]string, 0, len(p.overrides)+len(p.others))
	for _, o := range p.overrides {
		ids = append(ids, o.ID)
	}
	for _, o := range p.others {
		ids = append(ids, o.ID)
	}
	return ids
}

// Packs returns the packs of the set, ordered by pack id.
func (s *Set) Packs() []*Pack {
	if s == nil {
		return nil
	}
	return append([]*Pack(nil), s.packs...)
}

// Overrides returns every rule override of the set, ordered by pack id then
// document order.
func (s *Set) Overrides() []Override {
	if s == nil {
		return nil
	}
	var all []Override
	for _, p := range s.packs {
		all = append(all, p.overrides...)
	}
	return all
}

// Warnings returns the warnings of every pack in the set.
func (s *Set) Warnings() []Warning {
	if s == nil {
		return nil
	}
	var all []Warning
	for _, p := range s.packs {
		all = append(all, p.warnings...)
	}
	return all
}

// Target describes the object whose settings are resolved: the management
// group. The zero Target is the usual case.
type Target struct {
	// Instance is the GUID of the management group's instance of
	// [ManagementGroupClass]. When set, an instance override
	// (ContextInstance) applies only if its GUID equals it (case
	// insensitive); when empty, every instance override applies, since the
	// class has one instance per management group.
	Instance string
	// Groups lists the ids of groups the caller knows to contain the
	// management group. An override whose Context is one of them applies
	// at group scope. This package cannot read class hierarchies or group
	// membership, so any other Context does not apply.
	Groups []string
}

// NotApplying is an override of the rule and setting being resolved that
// does not apply to the management group, with the reason.
type NotApplying struct {
	Override Override `json:"override"`
	Reason   string   `json:"reason"`
}

// String returns "override X ... does not apply: reason".
func (n NotApplying) String() string { return n.Override.String() + " does not apply: " + n.Reason }

// Conflict reports overrides that tie at the highest precedence (same
// Enforced, same scope) and set different values. Operators treat this as a
// defect to fix; the resolution is still deterministic (see the package doc).
type Conflict struct {
	// Rule and Setting say what the overrides are about.
	Rule    string  `json:"rule"`
	Setting Setting `json:"setting"`
	// Winner is the override that was chosen.
	Winner Override `json:"winner"`
	// Others are the tied overrides that lost, in tie-break order.
	Others []Override `json:"others"`
}

// String names the winner and the losers.
func (c Conflict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conflicting %s overrides for rule %s: %s wins over", c.Setting, c.Rule, c.Winner)
	for i, o := range c.Others {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + o.String())
	}
	return b.String()
}

// Resolution is the outcome of [Set.Resolve] for one rule and setting.
type Resolution struct {
	// Winner is the override in effect; nil when none applies and the
	// rule's default holds.
	Winner *Override
	// Scope is the winner's scope (ScopeNone without a winner).
	Scope Scope
	// Applying lists every applying override, highest precedence first.
	Applying []Override
	// Conflict is set when overrides tied with the winner carry other
	// values.
	Conflict *Conflict
	// NotApplying lists the overrides of this rule and setting that do not
	// apply, with reasons, ordered by pack id then override id.
	NotApplying []NotApplying
}

type candidate struct {
	o     Override
	scope Scope
}

// Scope reports the scope at which o applies to the management group
// described by t, or ScopeNone and the reason it does not apply.
func (t Target) Scope(o Override) (Scope, string) {
	isMGClass := o.Context == ManagementGroupClass && (o.ContextPack == "" || o.ContextPack == LibraryPackID)
	switch {
	case isMGClass && o.ContextInstance != "":
		if t.Instance != "" && !strings.EqualFold(t.Instance, o.ContextInstance) {
			return ScopeNone, fmt.Sprintf("it targets instance %s of %s, not this management group (%s)", o.ContextInstance, ManagementGroupClass, t.Instance)
		}
		return ScopeInstance, ""
	case isMGClass:
		return ScopeClass, ""
	case o.Context == ManagementGroupClass:
		return ScopeNone, fmt.Sprintf("its context alias refers to pack %s, which does not define %s (%s does)", o.ContextPack, ManagementGroupClass, LibraryPackID)
	case slices.Contains(t.Groups, o.Context):
		return ScopeGroup, ""
	}
	return ScopeNone, fmt.Sprintf("its context is class %s; the rule targets only %s (override it for \"all objects of class Operations Manager Management Group\")", o.Context, ManagementGroupClass)
}

// Resolve picks the override in effect for one setting of one rule (its
// full id) on the management group described by t, following the
// precedence described in the package doc. Overrides of other rules and
// settings are ignored; overrides of this rule and setting aimed elsewhere
// are listed in NotApplying.
func (s *Set) Resolve(rule string, setting Setting, t Target) Resolution {
	var res Resolution
	var cands []candidate
	for _, o := range s.Overrides() {
		if o.Rule != rule || o.Kind != setting.Kind() || o.Setting() != setting {
			continue
		}
		sc, why := t.Scope(o)
		if sc == ScopeNone {
			res.NotApplying = append(res.NotApplying, NotApplying{Override: o, Reason: why})
			continue
		}
		cands = append(cands, candidate{o: o, scope: sc})
	}
	slices.SortFunc(res.NotApplying, func(a, b NotApplying) int { return tieOrder(a.Override, b.Override) })
	if len(cands) == 0 {
		return res
	}
	slices.SortFunc(cands, precedence)
	for _, c := range cands {
		res.Applying = append(res.Applying, c.o)
	}
	w := cands[0]
	res.Winner = &res.Applying[0]
	res.Scope = w.scope
	var losers []Override
	for _, c := range cands[1:] {
		if c.o.Enforced != w.o.Enforced || c.scope != w.scope {
			break
		}
		if !sameValue(setting, c.o.Value, w.o.Value) {
			losers = append(losers, c.o)
		}
	}
	if len(losers) > 0 {
		res.Conflict = &Conflict{Rule: rule, Setting: setting, Winner: w.o, Others: losers}
	}
	return res
}

// precedence orders candidates highest first: enforced before not, then
// instance before group before class, then the tie rule.
func precedence(a, b candidate) int {
	if a.o.Enforced != b.o.Enforced {
		if a.o.Enforced {
			return -1
		}
		return 1
	}
	if a.scope != b.scope {
		return cmp.Compare(b.scope, a.scope)
	}
	return tieOrder(a.o, b.o)
}

// tieOrder is the tie rule: pack id, then override id, ordinal (byte-wise)
// ascending; the first wins.
func tieOrder(a, b Override) int {
	if c := strings.Compare(a.Pack.ID, b.Pack.ID); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// sameValue compares values as the setting reads them, so "False" and
// "false" or "60" and " 60" do not count as a conflict.
func sameValue(s Setting, a, b string) bool {
	switch s {
	case Enabled:
		x, err1 := parseBool(a)
		y, err2 := parseBool(b)
		return err1 == nil && err2 == nil && x == y
	case Frequency:
		x, err1 := parseSeconds(a)
		y, err2 := parseSeconds(b)
		return err1 == nil && err2 == nil && x == y
	}
	return strings.TrimSpace(a) == strings.TrimSpace(b)
}
