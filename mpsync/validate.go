package mpsync

import (
	"context"
	"fmt"
	"slices"
	"time"

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
// every connection part is recorded; every pack the catalog wants is
// imported at the catalog's version; and each enabled rule has run
// successfully within twice its frequency. It fetches the catalog once. A
// failed check is reported in the result, not as an error; the error is for
// a validation that could not run.
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
	v.add("connection", conn.State == StateConnected && conn.WorkspaceID == ws.ID(),
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
	if err := e.validatePacks(ctx, ws, v); err != nil {
		return nil, err
	}
	if err := e.validateRuns(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Validation) add(name string, ok bool, detail string) {
	v.Checks = append(v.Checks, Check{Name: name, OK: ok, Detail: detail})
}

func (e *Engine) validatePacks(ctx context.Context, ws Workspace, v *Validation) error {
	res, err := ws.Catalog(ctx)
	e.noteWorkspace(ctx, res, err)
	if err != nil {
		v.add("catalog", false, err.Error())
		return nil
	}
	detail := fmt.Sprintf("serial %d", res.Catalog.Serial)
	if res.Stale {
		detail += fmt.Sprintf(", stale: last confirmed %s (%v)", sinceText(res.FetchedAt), res.Err)
	}
	v.add("catalog", !res.Stale, detail)
	entries, err := e.store.List(ctx)
	if err != nil {
		return fmt.Errorf("validate: list store: %w", err)
	}
	byID := map[string]storage.Entry{}
	for _, en := range entries {
		byID[en.ID] = en
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

func (e *Engine) validateRuns(ctx context.Context, v *Validation) error {
	runs, err := e.readRuns(ctx)
	if err != nil {
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
