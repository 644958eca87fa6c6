package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// ProxyReporter is implemented by a [Workspace] that knows the proxy it
// sends its requests through; workspace.Client implements it. The engine
// takes its proxy from there, for the connection record and for the proxy
// minimum of the version requirement, so that one setting decides: when
// Options.Proxy is zero the workspace's proxy is used, and [New] refuses an
// Options.Proxy that disagrees with it. A Workspace that does not implement
// it, or whose ProxyInfo reports ok false (a workspace.Client given its own
// Transport cannot tell), leaves Options.Proxy in force.
type ProxyReporter interface {
	// ProxyInfo returns the proxy the workspace uses (the zero status.Proxy for
	// none); ok is false when it cannot tell.
	ProxyInfo() (p status.Proxy, ok bool)
}

// proxyOf returns the proxy ws reports, if it reports one.
func proxyOf(ws Workspace) (status.Proxy, bool) {
	if pr, ok := ws.(ProxyReporter); ok && ws != nil {
		return pr.ProxyInfo()
	}
	return status.Proxy{}, false
}

// proxyInfo is the proxy in force: the workspace's when it reports one,
// else Options.Proxy.
func (e *Engine) proxyInfo() status.Proxy {
	if p, ok := proxyOf(e.workspace()); ok {
		return p
	}
	return e.proxy
}

// removalOrder returns parts in the order Disconnect removes them: connector
// subscriptions first, then connectors (as the connection guide's script does), then
// the rest.
func partsRemovalOrder(parts []scom.Part) []scom.Part {
	var out []scom.Part
	for _, pass := range []func(scom.Part) bool{
		func(p scom.Part) bool { return p.Kind == scom.PartSubscription },
		func(p scom.Part) bool { return p.Kind == scom.PartConnector },
		func(p scom.Part) bool { return p.Kind != scom.PartSubscription && p.Kind != scom.PartConnector },
	} {
		for _, p := range parts {
			if pass(p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Connection returns the store's connection record; a store that was never
// connected reports status.Never.
func (e *Engine) Connection(ctx context.Context) (status.Connection, error) {
	c, found, err := connectionRecord.read(ctx, e.store)
	if err != nil {
		return status.Connection{}, err
	}
	if !found {
		return status.Connection{State: status.Never}, nil
	}
	return c, nil
}

func (e *Engine) writeConnection(ctx context.Context, c status.Connection) error {
	return connectionRecord.write(ctx, e.store, c)
}

// Connect binds the store to the engine's workspace. It checks the group's
// version against the connection requirement, with the proxy minimum when
// the workspace uses a proxy (when the version is not known the check is
// skipped, and the record says so: [Connection.RequirementChecked] is
// false); checks with one signed catalog request that the service accepts
// the key; refuses when the store is bound to another workspace (use
// [Engine.SwitchWorkspace]); and on a reconnect after [Engine.Disconnect]
// checks that the operator has imported the Advisor Resources pack for the
// group's language ([Engine.Import]) at a version no lower than the group's
// release ships ([scom.Resources]); neither the catalog nor the platform
// inventory stands in for it. A refusal is a [*ResourcesError] naming the
// pack, the file and its folder, and changes nothing. It then records the
// connection and its parts and runs MPUpdate once, through the approver, so
// the base packs arrive. Connecting a connected store again refreshes the
// record and runs MPUpdate. A corrupt connection record (a
// [*storage.CorruptRecordError], which the other operations return until then) is
// set aside as connection.json.corrupt and the store is connected as if it
// never was.
func (e *Engine) Connect(ctx context.Context) (*Report, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := e.needWorkspace("connect"); err != nil {
		return nil, err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	// Regression (issue 15, point 5): a corrupt connection record made
	// every command fail until the file was deleted by hand. Connect is
	// the documented recovery: it connects as if the store were never
	// connected, and sets the corrupt record aside before writing the new
	// one.
	conn, raw, found, err := connectionRecord.readRaw(ctx, e.store)
	corrupt := err
	if err != nil && !errors.Is(err, storage.ErrCorruptRecord) {
		return nil, err
	}
	if !found {
		conn = status.Connection{State: status.Never}
	}
	ws := e.workspace()
	if conn.State == status.Connected && conn.WorkspaceID != ws.ID() {
		return nil, fmt.Errorf("connect to workspace %s: %w %s (use SwitchWorkspace)", ws.ID(), ErrOtherWorkspace, conn.WorkspaceID)
	}
	if err := e.checkRequirement(); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	res, err := freshCatalog(ctx, ws)
	e.noteWorkspace(ctx, res, err)
	if err != nil {
		return nil, fmt.Errorf("connect to workspace %s: %w", ws.ID(), err)
	}
	if conn.State == status.Disconnected {
		if err := e.checkResources(ctx); err != nil {
			return nil, fmt.Errorf("reconnect to workspace %s: %w", ws.ID(), err)
		}
	}
	if corrupt != nil {
		if err := e.setAsideCorrupt(ctx, connectionRecord, raw, corrupt); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
	}
	if err := e.connect(ctx, ws.ID()); err != nil {
		return nil, err
	}
	return e.syncLocked(ctx, []rules.Rule{rules.MPUpdate}, runOptions{force: true})
}

func (e *Engine) checkRequirement() error {
	_, _, err := e.requirementStatus(e.proxyInfo())
	return err
}

// requirementStatus checks the group's version against the requirement,
// for a workspace using proxy, and says whether it could, and against what.
func (e *Engine) requirementStatus(proxy status.Proxy) (checked bool, detail string, err error) {
	if e.group.Version.IsZero() {
		return false, "not checked: the management group's version is not known (Options.Group.Version, mpsync --mg-version)", nil
	}
	if err := e.reqs.Check(e.group.Version, proxy.Configured()); err != nil {
		return true, "", err
	}
	r, _, _ := e.reqs.Recognise(e.group.Version) // Check recognised it
	min, name, what := r.Minimum, r.MinimumName, ""
	if proxy.Configured() {
		what = ", with proxy support"
		if !r.ProxyMinimum.IsZero() {
			min, name = r.ProxyMinimum, r.ProxyMinimumName
		}
	}
	return true, fmt.Sprintf("%s is %s, at or above %s (%s)%s", e.group.Version, r.Release, name, min, what), nil
}

// checkResources checks that the operator imported the Resources pack a
// reconnect needs: the connection guide has the operator re-import it from
// the group's latest update rollup, so neither the catalog serving one nor
// the platform inventory counts, and neither does the workspace's own copy.
func (e *Engine) checkResources(ctx context.Context) error {
	need := scom.Resources(e.group.Language, e.group.Version)
	entries, err := e.store.List(ctx)
	if err != nil {
		return fmt.Errorf("list store: %w", err)
	}
	rerr := &ResourcesError{Need: need}
	for _, en := range entries {
		if en.ID == need.ID {
			rerr.Have = &en
			continue
		}
		if _, ok := scom.ResourcesLanguage(en.ID); ok {
			rerr.OtherLanguages = append(rerr.OtherLanguages, en.ID+" "+en.Version.String())
		}
	}
	if h := rerr.Have; h != nil && h.Owner == storage.OwnerCustom && !h.Version.Less(need.Minimum) {
		return nil
	}
	return rerr
}

// connect writes the connected record for the engine's workspace.
func (e *Engine) connect(ctx context.Context, workspaceID string) error {
	return e.connectVia(ctx, workspaceID, e.proxyInfo())
}

// connectVia writes the connected record for a workspace reached through
// proxy.
func (e *Engine) connectVia(ctx context.Context, workspaceID string, proxy status.Proxy) error {
	now := e.clock.Now()
	checked, detail, _ := e.requirementStatus(proxy) // refusals were returned before
	c := status.Connection{State: status.Connected, WorkspaceID: workspaceID, Group: e.group, ConnectedAt: now,
		Parts: scom.ConnectionParts(proxy.User), Proxy: proxy, RequirementChecked: checked, Requirement: detail}
	if err := e.writeConnection(ctx, c); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	e.record(ctx, ledger.Record{Kind: ledger.KindConnection, WorkspaceID: workspaceID, Result: string(status.Connected), By: "engine"})
	e.emit(event.Event{Kind: event.Connected, Message: "connected to workspace " + workspaceID})
	if !checked {
		e.log.Warn("the connection requirement was not checked: the management group's version is not known", "workspace", workspaceID)
	}
	return nil
}

// ensureConnected lets a run go ahead: a disconnected store refuses, and so
// does one bound elsewhere. For a store that was never connected it checks
// the requirement and reports that the run must connect it (first reports
// true); the run binds the store only once the service has answered with a
// fresh catalog, so a wrong workspace id or key binds nothing.
func (e *Engine) ensureConnected(ctx context.Context) (first bool, err error) {
	conn, err := e.Connection(ctx)
	if err != nil {
		return false, err
	}
	id := e.workspace().ID()
	switch conn.State {
	case status.Disconnected:
		return false, &NotConnectedError{WorkspaceID: conn.WorkspaceID, Since: conn.DisconnectedAt}
	case status.Connected:
		if conn.WorkspaceID != id {
			return false, fmt.Errorf("run for workspace %s: %w %s (use SwitchWorkspace)", id, ErrOtherWorkspace, conn.WorkspaceID)
		}
		return false, nil
	}
	if err := e.checkRequirement(); err != nil {
		return false, fmt.Errorf("first sync connects the store: %w", err)
	}
	return true, nil
}

// SwitchWorkspace moves a connected group to another workspace (a store that
// was never connected is connected by Connect or Sync; a disconnected one by
// Connect): Operations Manager
// supports one workspace at a time (connection guide), so the store is rebound to ws and
// both rules run at once. The version requirement is checked again for ws's
// proxy ([ProxyReporter]), which may differ from the old workspace's. Packs the old workspace imported that the new one
// does not want are planned for removal through the same approver; packs
// both want stay. The engine uses ws from then on.
func (e *Engine) SwitchWorkspace(ctx context.Context, ws Workspace) (*Report, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	if ws == nil {
		return nil, errors.New("switch workspace: workspace is nil")
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	conn, err := e.connectedRecord(ctx, "switch workspace")
	if err != nil {
		return nil, err
	}
	proxy, ok := proxyOf(ws)
	if !ok {
		proxy = e.proxy
	}
	// The new workspace may go through a proxy the old one did not.
	if _, _, err := e.requirementStatus(proxy); err != nil {
		return nil, fmt.Errorf("switch to workspace %s: %w", ws.ID(), err)
	}
	if _, err := freshCatalog(ctx, ws); err != nil {
		return nil, fmt.Errorf("switch to workspace %s: %w", ws.ID(), err)
	}
	old := conn.WorkspaceID
	if err := e.connectVia(ctx, ws.ID(), proxy); err != nil {
		return nil, err
	}
	// Only now that the store is bound to it does the engine use ws.
	e.mu.Lock()
	e.ws = ws
	e.mu.Unlock()
	e.record(ctx, ledger.Record{Kind: ledger.KindConnection, WorkspaceID: ws.ID(), Result: "switched", By: "engine",
		Reason: fmt.Sprintf("switched from workspace %s", old)})
	return e.syncLocked(ctx, rules.All(), runOptions{force: true, confirmRemovals: true})
}

// connectedRecord reads the connection record and refuses a disconnected
// store for op.
func (e *Engine) connectedRecord(ctx context.Context, op string) (status.Connection, error) {
	conn, err := e.Connection(ctx)
	if err != nil {
		return conn, err
	}
	if conn.State == status.Never {
		return conn, fmt.Errorf("%s: %w", op, ErrNeverConnected)
	}
	if conn.State == status.Disconnected {
		return conn, fmt.Errorf("%s: %w", op, &NotConnectedError{WorkspaceID: conn.WorkspaceID, Since: conn.DisconnectedAt})
	}
	return conn, nil
}

// freshCatalog fetches the catalog and treats a stale answer (the service
// could not be reached) as an error: connecting needs the service itself.
func freshCatalog(ctx context.Context, ws Workspace) (CatalogResult, error) {
	res, err := ws.Catalog(ctx)
	if err == nil && res.Stale {
		err = fmt.Errorf("service could not be reached: %w", res.Err)
	}
	return res, err
}

func (e *Engine) workspace() Workspace {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ws
}

// DisconnectReport says what removing the integration did.
type DisconnectReport struct {
	WorkspaceID string `json:"workspaceId"`
	// Removed are the packs removed, in the order they were removed.
	Removed []storage.Entry `json:"removed"`
	// Kept are workspace packs that stay, with the reason.
	Kept []KeptPack `json:"kept,omitempty"`
	// PartsRemoved are the connection's parts, in the order removed.
	PartsRemoved []scom.Part `json:"partsRemoved,omitempty"`
	// Failed are removals that failed; the store keeps those packs.
	Failed []KeptPack `json:"failed,omitempty"`
}

// KeptPack is a pack Disconnect did not remove, and why.
type KeptPack struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Disconnect removes the integration (connection guide: "Remove Integration with OMS"):
// every pack a workspace imported is removed in dependency order (dependents
// first), except Microsoft.SystemCenter.Advisor and
// Microsoft.SystemCenter.Advisor.Internal, which stay, and packs that a
// custom pack still references; custom packs are never touched, whatever
// their name. The connection's parts are removed (connector subscriptions,
// then connectors, then the rest) and the store is marked disconnected:
// rules refuse to run until Connect succeeds. Disconnect needs no workspace
// and no approval: it is an operator's decision.
func (e *Engine) Disconnect(ctx context.Context) (*DisconnectReport, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	e.runMu.Lock()
	defer e.runMu.Unlock()
	conn, err := e.connectedRecord(ctx, "disconnect")
	if err != nil {
		return nil, err
	}
	entries, err := e.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("disconnect: list store: %w", err)
	}
	rep := &DisconnectReport{WorkspaceID: conn.WorkspaceID}
	e.removeWorkspacePacks(ctx, entries, rep)
	if len(rep.Failed) > 0 {
		// Stay connected: the operator fixes the cause and disconnects
		// again; a "disconnected" store still holding workspace packs
		// would never be cleaned up.
		return rep, fmt.Errorf("disconnect: %d pack(s) could not be removed, first %s: %s; the store stays connected",
			len(rep.Failed), rep.Failed[0].ID, rep.Failed[0].Reason)
	}
	rep.PartsRemoved = partsRemovalOrder(conn.Parts)
	now := e.clock.Now()
	if ws := e.workspace(); conn.WorkspaceID == "" && ws != nil {
		conn.WorkspaceID = ws.ID()
		rep.WorkspaceID = conn.WorkspaceID
	}
	conn.State, conn.DisconnectedAt, conn.Parts = status.Disconnected, now, nil
	if err := e.writeConnection(ctx, conn); err != nil {
		return rep, fmt.Errorf("disconnect: %w", err)
	}
	e.record(ctx, ledger.Record{Kind: ledger.KindConnection, WorkspaceID: conn.WorkspaceID, Result: string(status.Disconnected), By: "engine",
		Reason: fmt.Sprintf("removed %d packs, kept %d", len(rep.Removed), len(rep.Kept))})
	e.emit(event.Event{Kind: event.Disconnected, Message: "disconnected from workspace " + conn.WorkspaceID})
	return rep, nil
}

// removeWorkspacePacks removes the workspace's packs, dependents first.
func (e *Engine) removeWorkspacePacks(ctx context.Context, entries []storage.Entry, rep *DisconnectReport) {
	var doomed []pack.Manifest
	byID := map[string]storage.Entry{}
	for _, en := range entries {
		byID[en.ID] = en
		if en.Owner != storage.OwnerWorkspace {
			continue
		}
		if scom.IsCorePack(en.ID) {
			rep.Kept = append(rep.Kept, KeptPack{ID: en.ID, Reason: "stays imported after the integration is removed (connection guide)"})
			continue
		}
		doomed = append(doomed, en.Manifest())
	}
	remaining := slices.Clone(entries)
	for _, id := range plan.RemovalOrder(doomed) {
		if user := referrer(remaining, id); user != "" {
			rep.Kept = append(rep.Kept, KeptPack{ID: id, Reason: user + " references it and stays"})
			continue
		}
		if err := e.store.Remove(ctx, id); err != nil {
			rep.Failed = append(rep.Failed, KeptPack{ID: id, Reason: err.Error()})
			continue
		}
		rep.Removed = append(rep.Removed, byID[id])
		remaining = slices.DeleteFunc(remaining, func(en storage.Entry) bool { return en.ID == id })
		e.record(ctx, ledger.Record{Kind: ledger.KindResult, Action: plan.ActionRemove, Pack: id, Version: byID[id].Version,
			SHA256: byID[id].SHA256, Result: string(ResultApplied), By: "disconnect", Reason: "integration removed"})
	}
}

// referrer returns a pack among entries that references id.
func referrer(entries []storage.Entry, id string) string {
	for _, en := range entries {
		if _, ok := en.Manifest().Reference(id); ok && en.ID != id {
			return en.ID
		}
	}
	return ""
}
