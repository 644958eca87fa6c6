package mpsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// DefaultOverridePackID is the override pack [Engine.SetOverride] writes
// when the request names none. The Operations console asks for the
// unsealed pack to save an override in and warns against its Default
// Management Pack; package overrides leaves the id to the caller
// ([overrides.NewPack] has no default). A fixed id makes successive calls
// (a change freeze, then its end) update one pack, and the MPSync prefix
// keeps it out of the Microsoft namespace, where a pack of the same id
// shipped later would collide with it.
const DefaultOverridePackID = "MPSync.Advisor.Overrides"

// defaultOverridePackName is the display name of a pack SetOverride creates.
const defaultOverridePackName = "mpsync Advisor rule overrides"

// ErrBadOverride is wrapped by the error [Engine.SetOverride] returns for a
// request that cannot be written: an unknown rule, no setting, a Frequency
// that is not a whole number of seconds from 1 to 2147483647, an invalid
// pack id or module.
var ErrBadOverride = errors.New("invalid override request")

// OverrideRequest is an override [Engine.SetOverride] writes, as the
// Operations console would: aimed at all objects of class Operations
// Manager Management Group (the class the two rules target), not enforced.
type OverrideRequest struct {
	// Rule is MPUpdate or GetIntelligencePacks.
	Rule rules.Rule
	// Enabled, when set, overrides the rule's Enabled property.
	Enabled *bool
	// Frequency, when set, overrides the rule's Frequency parameter, in
	// whole seconds (1 to 2147483647).
	Frequency *time.Duration
	// PackID is the unsealed pack the override is written to, created when
	// the store does not hold it. Empty means [DefaultOverridePackID].
	PackID string
	// Module is the Module attribute of a Frequency override: the id of the
	// rule's module whose Frequency parameter is overridden. Empty means
	// the module the pack's existing Frequency override of the rule names,
	// else [overrides.DefaultModule] ("Scheduler"). The Advisor packs that
	// define the rules are not public, and no public override pack for
	// these two rules shows the id, so it is settable: read the id from the
	// console's override dialog or an exported override pack when the
	// group's Advisor pack names its module otherwise. The engine does not
	// compare modules when it resolves overrides (the rule has one
	// Frequency).
	Module string
	// By names who asked, in the ledger; empty means "operator".
	By string
}

// OverrideResult says what [Engine.SetOverride] did.
type OverrideResult struct {
	// Entry is the override pack as the store now holds it; to export it,
	// read its bytes with the store's Open(ctx, Entry.ID).
	Entry storage.Entry
	// Overrides are the overrides of the request as the pack now holds
	// them.
	Overrides []overrides.Override
	// Warnings are valid but doubtful values, such as a Frequency below a
	// minute.
	Warnings []overrides.Warning
	// Created is true when the pack was new.
	Created bool
	// Unchanged is true when the pack already held these overrides:
	// nothing was written and the version stays.
	Unchanged bool
}

// maxFrequency is the largest Frequency an override holds (SCOM's int32
// parameter).
const maxFrequency = 2147483647 * time.Second

func (req OverrideRequest) check() error {
	if !req.Rule.Valid() {
		return fmt.Errorf("%w: unknown rule %q (want %s or %s)", ErrBadOverride, req.Rule, rules.MPUpdate, rules.GetIntelligencePacks)
	}
	if req.Enabled == nil && req.Frequency == nil {
		return fmt.Errorf("%w: give Enabled, Frequency or both", ErrBadOverride)
	}
	if f := req.Frequency; f != nil && (*f < time.Second || *f > maxFrequency || *f%time.Second != 0) {
		return fmt.Errorf("%w: Frequency %v: want a whole number of seconds from 1 to 2147483647", ErrBadOverride, *f)
	}
	if req.PackID != "" {
		if err := pack.CheckID(req.PackID); err != nil {
			return fmt.Errorf("%w: pack id: %w", ErrBadOverride, err)
		}
	}
	if req.Module != "" {
		if err := pack.CheckID(req.Module); err != nil {
			return fmt.Errorf("%w: module id: %w", ErrBadOverride, err)
		}
	}
	return nil
}

// SetOverride writes an override of one rule's Enabled property and/or
// Frequency parameter into an unsealed override pack in the store, the way
// the Operations console does: it creates the pack (version 1.0.0.0) or
// edits the one the store holds (keeping everything it does not manage and
// raising the fourth part of the version), and imports it with the checks
// [Engine.Import] makes, recorded in the ledger. The override applies to
// the rules from then on (see [Options.Settings]). When the pack already
// holds the requested values nothing is written (Unchanged).
//
// A pack a workspace imported, or a sealed one, is refused (wrapping
// [ErrImportRefused]); a bad request wraps [ErrBadOverride]. On any error
// the store is exactly as it was.
func (e *Engine) SetOverride(ctx context.Context, req OverrideRequest) (OverrideResult, error) {
	done, err := e.enter()
	if err != nil {
		return OverrideResult{}, err
	}
	defer done()
	if err := req.check(); err != nil {
		return OverrideResult{}, fmt.Errorf("set override: %w", err)
	}
	if req.PackID == "" {
		req.PackID = DefaultOverridePackID
	}
	where := fmt.Sprintf("set override of %s in pack %s", req.Rule.ShortName(), req.PackID)
	e.runMu.Lock()
	defer e.runMu.Unlock()
	entries, err := e.store.List(ctx)
	if err != nil {
		return OverrideResult{}, fmt.Errorf("%s: list store: %w", where, err)
	}
	doc, cur, err := e.overrideDocument(ctx, req.PackID, entries)
	if err != nil {
		return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
	}
	res := OverrideResult{Created: cur == nil}
	if cur != nil {
		p, err := doc.Pack()
		if err != nil {
			return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
		}
		if held, ok := holds(p, req); ok {
			res.Entry, res.Overrides, res.Unchanged = *cur, held, true
			return res, nil
		}
	}
	var what []string
	if req.Enabled != nil {
		o, err := doc.SetEnabled(string(req.Rule), *req.Enabled, nil)
		if err != nil {
			return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
		}
		res.Overrides = append(res.Overrides, o)
		what = append(what, "Enabled="+o.Value)
	}
	if req.Frequency != nil {
		o, w, err := doc.SetFrequency(string(req.Rule), int(*req.Frequency/time.Second), &overrides.SetOptions{Module: req.Module})
		if err != nil {
			return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
		}
		res.Overrides = append(res.Overrides, o)
		res.Warnings = append(res.Warnings, w...)
		what = append(what, "Frequency="+o.Value)
	}
	var buf bytes.Buffer
	if _, err := doc.WriteTo(&buf); err != nil {
		return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
	}
	r := bytes.NewReader(buf.Bytes())
	m, sum, err := readForImport(r)
	if err != nil {
		return OverrideResult{}, fmt.Errorf("%s: the written pack does not read back: %w", where, err)
	}
	where = fmt.Sprintf("%s %s", where, m.Version)
	reason := fmt.Sprintf("override of %s written (%s)", req.Rule.ShortName(), strings.Join(what, ", "))
	imp, err := e.importLocked(ctx, r, m, sum, entries, ImportOptions{By: req.By}, reason)
	if err != nil {
		return OverrideResult{}, fmt.Errorf("%s: %w", where, err)
	}
	res.Entry = imp.Entry
	return res, nil
}

// overrideDocument opens the override pack id the store holds for editing,
// or starts a new one (cur nil).
func (e *Engine) overrideDocument(ctx context.Context, id string, entries []storage.Entry) (*overrides.Document, *storage.Entry, error) {
	i := slices.IndexFunc(entries, func(en storage.Entry) bool { return en.ID == id })
	if i < 0 {
		doc, err := overrides.NewPack(id, defaultOverridePackName, pack.Version{Major: 1}, nil)
		return doc, nil, err
	}
	cur := entries[i]
	switch {
	case cur.Owner != storage.OwnerCustom:
		return nil, nil, fmt.Errorf("%w: %s %s was imported for workspace %s; overrides go to an unsealed pack of the operator's (name another pack)",
			ErrImportRefused, cur.ID, cur.Version, cur.WorkspaceID)
	case cur.Sealed == pack.SealedYes:
		return nil, nil, fmt.Errorf("%w: %s %s is sealed; overrides go to an unsealed pack (name another pack)", ErrImportRefused, cur.ID, cur.Version)
	}
	// Regression (issue 15, point 3): the pack's bytes are checked against
	// the recorded hash before they are edited and written back as a new
	// version: a pack changed in the store would otherwise be carried on.
	data, err := checkStored(ctx, e.store, cur, true)
	if err != nil {
		return nil, nil, err
	}
	doc, err := overrides.OpenDocument(bytes.NewReader(data), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the store's %s %s cannot be edited: %w", ErrImportRefused, cur.ID, cur.Version, err)
	}
	return doc, &cur, nil
}

// holds returns the pack's overrides that already give what req asks, and
// whether all of it is there: class-scoped, not enforced, with the same
// value (and module, when req names one).
func holds(p *overrides.Pack, req OverrideRequest) ([]overrides.Override, bool) {
	find := func(setting overrides.Setting, value string) (overrides.Override, bool) {
		for _, o := range p.Overrides() {
			if o.Rule != string(req.Rule) || o.Setting() != setting || o.Kind != setting.Kind() {
				continue
			}
			if sc, _ := (overrides.Target{}).Scope(o); sc != overrides.ScopeClass {
				continue
			}
			// The first such override is the one SetEnabled or
			// SetFrequency would update.
			same := !o.Enforced && o.Value == value && (setting != overrides.Frequency || req.Module == "" || o.Module == req.Module)
			return o, same
		}
		return overrides.Override{}, false
	}
	var out []overrides.Override
	if req.Enabled != nil {
		o, ok := find(overrides.Enabled, fmt.Sprint(*req.Enabled))
		if !ok {
			return nil, false
		}
		out = append(out, o)
	}
	if req.Frequency != nil {
		o, ok := find(overrides.Frequency, fmt.Sprint(int64(*req.Frequency/time.Second)))
		if !ok {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

// checkOverridePack refuses an override pack that cannot be applied: one
// package overrides does not read, an override of the two rules that does
// not reach the management group or changes a property rules do not have,
// or an override id another override pack in the store already uses. A
// pack without rule overrides passes. r is read from its start.
func (e *Engine) checkOverridePack(ctx context.Context, m pack.Manifest, r io.ReadSeeker) error {
	if m.Sealed == pack.SealedYes {
		return nil // override packs are unsealed; a sealed pack's overrides are not applied
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(r, overrides.MaxPackBytes+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if !slices.ContainsFunc(overrideNeedles, func(n []byte) bool { return bytes.Contains(data, n) }) {
		return nil
	}
	p, err := overrides.ReadPack(bytes.NewReader(data))
	if err != nil {
		if !errors.Is(err, overrides.ErrInvalid) {
			err = fmt.Errorf("%w: %w", overrides.ErrInvalid, err)
		}
		return fmt.Errorf("%w: not a valid override pack: %w", ErrImportRefused, err)
	}
	if !overridesRules(p) {
		return nil
	}
	target := overrides.Target{}
	if e.group0 != nil {
		target = e.group0.target
	}
	var bad []string
	for _, o := range p.Overrides() {
		if !rules.Rule(o.Rule).Valid() {
			continue
		}
		if o.Kind == overrides.RuleProperty && o.Setting() != overrides.Enabled {
			bad = append(bad, fmt.Sprintf("override %s sets property %q of rule %s; a rule's only overridable property is Enabled", o.ID, o.Property, o.Rule))
			continue
		}
		if sc, why := target.Scope(o); sc == overrides.ScopeNone {
			bad = append(bad, fmt.Sprintf("override %s of rule %s does not apply to the management group: %s", o.ID, o.Rule, why))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %w: pack %s: %s", ErrImportRefused, overrides.ErrInvalid, m.ID, strings.Join(bad, "; "))
	}
	// Every override pack in force is in the group as far as ids go: the
	// store's and the files'.
	set, err := e.storeOv.load(ctx)
	if set == nil && err != nil {
		return fmt.Errorf("override packs in the store: %w", err)
	}
	in := set
	if e.group0 != nil {
		if all, err := e.group0.load(ctx); all != nil || err == nil {
			in = all
		}
	}
	others := slices.DeleteFunc(in.Packs(), func(q *overrides.Pack) bool { return q.Ref().ID == m.ID })
	if _, err := overrides.NewSet(append(others, p)...); err != nil {
		return fmt.Errorf("%w: with the override packs in force: %w", ErrImportRefused, err)
	}
	return nil
}
