package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// windowed is what Status looks for in an approver to say when it opens.
type windowed interface {
	NextOpen(now time.Time) time.Time
}

// composite is what Status looks for in a combination of approvers.
type composite interface {
	Parts() []approval.Approver
}

func approvalStatus(a approval.Approver, now time.Time) status.Approver {
	st := status.Approver{Approver: fmt.Sprintf("%T", a)}
	if s, ok := a.(fmt.Stringer); ok {
		st.Approver = s.String()
	}
	var visit func(approval.Approver)
	visit = func(a approval.Approver) {
		if w, ok := a.(windowed); ok {
			if next := w.NextOpen(now); next.After(now) && (st.NextWindow.IsZero() || next.After(st.NextWindow)) {
				st.NextWindow = next // all windows must be open: the latest opening counts
			}
		}
		if c, ok := a.(composite); ok {
			for _, p := range c.Parts() {
				visit(p)
			}
		}
	}
	visit(a)
	return st
}

// Status returns the packs with their provenance, each rule's effective
// settings and where they come from, last and next runs, pending approvals,
// what is known of the workspace service and the connection.
func (e *Engine) Status(ctx context.Context) (*status.Snapshot, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	entries, err := e.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: list store: %w", err)
	}
	// Regression (issue 15, point 5): a corrupt run or pending record (or
	// approval queue) made Status fail. Each is reported in
	// Status.Corrupt with its recovery, and the rest is shown.
	var corrupt []status.CorruptRecord
	tolerate := func(err error) error {
		var ce *storage.CorruptRecordError
		if errors.As(err, &ce) {
			corrupt = append(corrupt, status.CorruptRecord{Record: ce.Record, Error: ce.Err.Error(), Recovery: ce.Recovery})
			return nil
		}
		return err
	}
	runs, err := e.readRuns(ctx)
	if err := tolerate(err); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	conn, err := e.Connection(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	st := &status.Snapshot{Group: e.group.Name, Packs: entries, Workspace: runs.Workspace, Connection: conn, WorkspaceID: conn.WorkspaceID}
	if ws := e.workspace(); ws != nil && st.WorkspaceID == "" {
		st.WorkspaceID = ws.ID()
	}
	e.mu.Lock()
	running := e.sched != nil
	e.mu.Unlock()
	for _, r := range rules.All() {
		set, err := e.settings.Settings(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("status: settings of %s: %w", r.ShortName(), err)
		}
		rs := status.Rule{Settings: set, Run: runs.Rules[r]}
		if running && set.Enabled {
			e.mu.Lock()
			rs.NextRun = e.rc.next[r]
			e.mu.Unlock()
		} else if set.Enabled && !rs.LastRun.IsZero() {
			rs.NextRun = e.nextAfter(set, rs.LastRun)
		}
		st.Rules = append(st.Rules, rs)
	}
	pend, err := e.readPending(ctx)
	if err := tolerate(err); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	st.Pending = pend
	var queued []approval.QueuedChange
	if q, err := e.queue(); err == nil {
		all, err := q.Queue(ctx)
		if err := tolerate(err); err != nil {
			return nil, fmt.Errorf("status: approval queue: %w", err)
		}
		for _, qc := range all { // a queue several groups share
			if qc.Group == "" || qc.Group == e.group.Name {
				queued = append(queued, qc)
			}
		}
	}
	// Changes the store has overtaken are not listed (issue 15, point 6);
	// the next run prunes them from the queue.
	overtook := overtaken(entries)
	queued = slices.DeleteFunc(queued, func(q approval.QueuedChange) bool { _, ok := overtook(q.Change); return ok })
	current := slices.DeleteFunc(slices.Clone(pend), func(c Change) bool { _, ok := overtook(c); return ok })
	st.Approvals = pendingApprovals(current, queued)
	st.Approval = approvalStatus(e.approver, e.clock.Now())
	if e.group0 != nil {
		st.Overrides = e.group0.status(ctx)
	}
	st.Corrupt = corrupt
	return st, nil
}

// Probe asks the workspace service for the catalog once, to tell whether it
// is reachable now, and returns what it learned; unlike a run it records
// nothing. ctx bounds the request: give it a deadline, since a service that
// accepts the connection and never answers would otherwise hold Probe. It
// returns an error only when the engine has no workspace or is closed.
func (e *Engine) Probe(ctx context.Context) (status.Workspace, error) {
	done, err := e.enter()
	if err != nil {
		return status.Workspace{}, err
	}
	defer done()
	ws := e.workspace()
	if ws == nil {
		return status.Workspace{}, e.needWorkspace("probe")
	}
	h := status.Workspace{WorkspaceID: ws.ID(), CheckedAt: e.clock.Now()}
	res, err := ws.Catalog(ctx)
	switch {
	case err != nil:
		h.LastError = err.Error()
	case res.Stale:
		h.LastError = "service unreachable, holding the last-known catalog"
		if res.Err != nil {
			h.LastError = res.Err.Error()
		}
	default:
		h.Reachable = true
	}
	if res.Catalog != nil {
		h.LastCatalogSerial, h.CatalogFetchedAt = res.Catalog.Serial, res.FetchedAt
	}
	return h, nil
}
