package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// Check is one item of a [Validation].
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Validation is the result of [Engine.Validate].
type Validation struct {
	WorkspaceID string  `json:"workspaceId"`
	Checks      []Check `json:"checks"`
}

// OK reports whether every check passed.
func (v *Validation) OK() bool {
	return !slices.ContainsFunc(v.Checks, func(c Check) bool { return !c.OK })
}

// Failed returns the checks that did not pass.
func (v *Validation) Failed() []Check {
	var out []Check
	for _, c := range v.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Validate checks the integration (connection guide: "Validate Operations Manager
// Integration with OMS"): the store is connected to the engine's workspace;
// every connection part is recorded; the service answers for the
// configured workspace id with the configured key (one catalog request:
// check "service reachable" fails when the service cannot be reached,
// "service key" when it refuses the key, "service catalog" when it answers
// with something else than the workspace's catalog, each with the service's
// answer);
// no pack the store holds for a previous workspace lingers ("previous
// workspace" checks, one per pack a workspace other than the connected one
// imported and the current catalog does not want at that version); every
// pack the catalog wants is imported at the catalog's version; every
// stored pack's bytes still have the sha256 the store recorded ("stored
// packs", and a failed "stored ID" check naming each pack that differs:
// see [TamperedError] for the recovery); and each
// enabled rule has run successfully within twice its frequency. A failed
// check is reported in the result, not as an error; the error is for a
// validation that could not run.
func (e *Engine) Validate(ctx context.Context) (*Validation, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := e.needWorkspace("validate"); err != nil {
		return nil, err
	}
	ws := e.workspace()
	v := &Validation{WorkspaceID: ws.ID()}
	conn, err := e.Connection(ctx)
	if err != nil {
		return nil, err
	}
	v.add("connection", conn.State == status.Connected && conn.WorkspaceID == ws.ID(),
		fmt.Sprintf("store is %s (workspace %q), engine's workspace is %s", conn.State, conn.WorkspaceID, ws.ID()))
	want := scom.ConnectionParts(conn.Proxy.User)
	for _, p := range want {
		present := slices.ContainsFunc(conn.Parts, func(q scom.Part) bool { return q.Kind == p.Kind && q.Name == p.Name })
		detail := "present"
		if !present {
			detail = "missing"
		}
		v.add(fmt.Sprintf("part %s %s", p.Kind, p.Name), present, detail)
	}
	// Read before the service check, which records its outcome in the run
	// history and so sets a corrupt one aside.
	_, runsErr := e.readRuns(ctx)
	if err := e.validatePacks(ctx, ws, v); err != nil {
		return nil, err
	}
	if errors.Is(runsErr, storage.ErrCorruptRecord) {
		// Issue 15, point 5: reported as a check, not a validation that
		// cannot run; the rules then count as never run.
		v.add("run history", false, runsErr.Error())
	}
	if err := e.validateRuns(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Validation) add(name string, ok bool, detail string) {
	v.Checks = append(v.Checks, Check{Name: name, OK: ok, Detail: detail})
}

// validateService asks the service for the catalog once and reports
// whether it was reached and accepted the key; it returns the catalog to
// check the packs against (nil when there is none).
func (e *Engine) validateService(ctx context.Context, ws Workspace, v *Validation) *CatalogResult {
	res, err := ws.Catalog(ctx)
	e.noteWorkspace(ctx, res, err)
	const reach, key = "service reachable", "service key"
	switch {
	case err != nil && errors.Is(err, ErrUnauthorized):
		v.add(reach, true, "the service answered")
		v.add(key, false, fmt.Sprintf("the service refused the key for workspace %s (a wrong key, a key of another workspace, or a clock more than 15 minutes off): %v", ws.ID(), err))
		return nil
	case err != nil && errors.Is(err, ErrUnavailable):
		v.add(reach, false, fmt.Sprintf("the service could not be reached, so the key for workspace %s was not checked: %v", ws.ID(), err))
		return nil
	case err != nil:
		v.add(reach, true, "the service answered")
		v.add("service catalog", false, fmt.Sprintf("the service did not answer with the catalog of workspace %s (an unknown workspace id, or a catalog that is not valid): %v", ws.ID(), err))
		return nil
	case res.Stale:
		v.add(reach, false, fmt.Sprintf("the service could not be reached, so the key for workspace %s was not checked (%v); packs are checked against the last-known catalog, serial %d, confirmed %s",
			ws.ID(), res.Err, res.Catalog.Serial, sinceText(res.FetchedAt)))
		return &res
	}
	v.add(reach, true, "the service answered")
	v.add(key, true, fmt.Sprintf("the service accepted the key for workspace %s (catalog serial %d)", ws.ID(), res.Catalog.Serial))
	return &res
}

func (e *Engine) validatePacks(ctx context.Context, ws Workspace, v *Validation) error {
	res := e.validateService(ctx, ws, v)
	entries, err := e.store.List(ctx)
	if err != nil {
		return fmt.Errorf("validate: list store: %w", err)
	}
	if err := e.validateStored(ctx, entries, v); err != nil {
		return err
	}
	byID := map[string]storage.Entry{}
	for _, en := range entries {
		byID[en.ID] = en
	}
	for _, en := range entries {
		if en.Owner != storage.OwnerWorkspace || en.WorkspaceID == ws.ID() {
			continue
		}
		name := "previous workspace " + en.ID
		if res == nil {
			v.add(name, false, fmt.Sprintf("%s %s was imported for workspace %s, not %s; without a catalog it cannot be told whether %s wants it",
				en.ID, en.Version, en.WorkspaceID, ws.ID(), ws.ID()))
			continue
		}
		if p, ok := res.Catalog.Pack(en.ID); ok && res.Catalog.Wanted(p) && p.Version == en.Version {
			v.add(name, true, fmt.Sprintf("%s %s was imported for workspace %s; workspace %s wants it at the same version", en.ID, en.Version, en.WorkspaceID, ws.ID()))
			continue
		}
		v.add(name, false, fmt.Sprintf("%s %s was imported for workspace %s, not the connected %s, which does not want it at that version; a sync plans its removal (or approve the pending one)",
			en.ID, en.Version, en.WorkspaceID, ws.ID()))
	}
	if res == nil {
		return nil
	}
	enabled := map[rules.Rule]bool{}
	for _, r := range rules.All() {
		set, err := e.settings.Settings(ctx, r)
		if err != nil {
			return fmt.Errorf("validate: settings of %s: %w", r.ShortName(), err)
		}
		enabled[r] = set.Enabled
	}
	for _, p := range res.Catalog.Packs {
		if !res.Catalog.Wanted(p) {
			continue
		}
		en, ok := byID[p.ID]
		if r := rules.ForChannel(p.Channel); !enabled[r] && (!ok || en.Version != p.Version) {
			v.add("pack "+p.ID, true, fmt.Sprintf("wanted at %s; not checked: %s is disabled", p.Version, r.ShortName()))
			continue
		}
		switch {
		case !ok:
			v.add("pack "+p.ID, false, fmt.Sprintf("wanted at %s, not imported", p.Version))
		case en.Version != p.Version:
			v.add("pack "+p.ID, false, fmt.Sprintf("wanted at %s, imported at %s", p.Version, en.Version))
		default:
			v.add("pack "+p.ID, true, "imported at "+en.Version.String())
		}
	}
	return nil
}

// validateStored re-hashes every stored pack through the Store contract
// (Open and sha256, against Entry.SHA256 and Entry.Size): one "stored
// packs" check for all, and one failed "stored ID" check for each pack
// whose bytes differ or cannot be read.
//
// Regression (issue 15, point 3): a pack changed in the store at the same
// size went unnoticed (the directory store checks sizes when it opens,
// not hashes), and validate reported the imported version and hash.
func (e *Engine) validateStored(ctx context.Context, entries []storage.Entry, v *Validation) error {
	bad := 0
	for _, en := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		if _, err := checkStored(ctx, e.store, en, false); err != nil {
			bad++
			v.add("stored "+en.ID, false, err.Error())
		}
	}
	if bad == 0 {
		v.add("stored packs", true, fmt.Sprintf("the bytes of all %d stored packs match their recorded sha256", len(entries)))
		return nil
	}
	v.add("stored packs", false, fmt.Sprintf("%d of %d stored packs do not match their recorded sha256 (checks \"stored ID\")", bad, len(entries)))
	return nil
}

func (e *Engine) validateRuns(ctx context.Context, v *Validation) error {
	runs, err := e.readRuns(ctx)
	if err != nil && !errors.Is(err, storage.ErrCorruptRecord) {
		return fmt.Errorf("validate: %w", err)
	}
	now := e.clock.Now()
	for _, r := range rules.All() {
		set, err := e.settings.Settings(ctx, r)
		if err != nil {
			return fmt.Errorf("validate: settings of %s: %w", r.ShortName(), err)
		}
		name := "rule " + r.ShortName()
		if !set.Enabled {
			v.add(name, true, "disabled by "+set.EnabledSource.String()+"; not expected to run")
			continue
		}
		info := runs.Rules[r]
		limit := 2 * set.Frequency
		switch {
		case info.LastSuccess.IsZero():
			v.add(name, false, "has never run successfully")
		case now.Sub(info.LastSuccess) > limit:
			v.add(name, false, fmt.Sprintf("last successful run %s, more than twice its frequency (%s) ago", sinceText(info.LastSuccess), limit/2))
		default:
			v.add(name, true, fmt.Sprintf("last successful run %s (%s ago, limit %s)", sinceText(info.LastSuccess), now.Sub(info.LastSuccess).Round(time.Second), limit))
		}
	}
	return nil
}
