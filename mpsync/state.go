package mpsync

import (
	"context"
	"slices"
	"time"

	"mpsync.dev/internal/safetext"
	"mpsync.dev/rules"
)

// RunInfo is the last run of a rule.
type RunInfo struct {
	LastRun time.Time `json:"lastRun,omitzero"`
	// LastResult is how the last run ended: RunOK, RunFailed (a change
	// failed), RunStale (the service could not be reached; the last-known
	// catalog was used) or RunError (the run could not happen, for example
	// no catalog at all).
	LastResult RunResult `json:"lastResult,omitempty"`
	LastError  string    `json:"lastError,omitempty"`
	// LastSuccess is the end of the last run whose result was RunOK.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
}

// RunResult is how a run of a rule ended, in the run history and the
// ledger's run records.
type RunResult string

const (
	// RunOK: the run happened and every change it applied succeeded.
	RunOK RunResult = "ok"
	// RunFailed: a change failed; the report says which.
	RunFailed RunResult = "failed"
	// RunStale: the service could not be reached; the run planned from the
	// last-known catalog, so it is not a success.
	RunStale RunResult = "stale"
	// RunError: the run could not happen (no catalog at all, the store
	// unreadable, the store disconnected).
	RunError RunResult = "error"
)

// WorkspaceHealth is what the engine last learned about the service.
type WorkspaceHealth struct {
	// WorkspaceID is the workspace LastCatalogSerial belongs to.
	WorkspaceID       string    `json:"workspaceId,omitempty"`
	Reachable         bool      `json:"reachable"`
	LastCatalogSerial int64     `json:"lastCatalogSerial"`
	LastError         string    `json:"lastError"`
	CheckedAt         time.Time `json:"checkedAt,omitzero"`
	// CatalogFetchedAt is when the catalog in use was last confirmed.
	CatalogFetchedAt time.Time `json:"catalogFetchedAt,omitzero"`
}

type runHistory struct {
	Rules     map[rules.Rule]RunInfo `json:"rules"`
	Workspace WorkspaceHealth        `json:"workspace"`
}

func (e *Engine) readRuns(ctx context.Context) (runHistory, error) {
	st, _, err := runsRecord.read(ctx, e.store)
	if st.Rules == nil {
		st.Rules = map[rules.Rule]RunInfo{}
	}
	return st, err
}

func (e *Engine) updateRuns(ctx context.Context, f func(*runHistory)) {
	// Held across the read and the write: Validate and Status may update
	// the record while a run does.
	e.runsMu.Lock()
	defer e.runsMu.Unlock()
	st, err := e.readRuns(ctx)
	if err != nil {
		e.log.Warn("run history unreadable; starting afresh", "err", err)
	}
	f(&st)
	if err := runsRecord.write(ctx, e.store, st); err != nil {
		e.log.Error("cannot record run history", "err", err)
	}
}

// noteWorkspace records the outcome of a catalog request.
func (e *Engine) noteWorkspace(ctx context.Context, res CatalogResult, err error) {
	now := e.clock.Now()
	e.updateRuns(ctx, func(st *runHistory) {
		h := &st.Workspace
		h.CheckedAt = now
		switch {
		case err != nil:
			h.Reachable, h.LastError = false, safetext.Clean(err.Error())
		case res.Stale:
			h.Reachable, h.LastError = false, safetext.Clean(errString(res.Err))
		default:
			h.Reachable, h.LastError = true, ""
		}
		if res.Catalog != nil && err == nil {
			h.WorkspaceID = res.Catalog.WorkspaceID
			h.LastCatalogSerial = res.Catalog.Serial
			h.CatalogFetchedAt = res.FetchedAt
		}
	})
}

// finishRuns records the end of a run of rs and emits run-finished events.
func (e *Engine) finishRuns(ctx context.Context, rs []rules.Rule, started time.Time, rep *Report, runErr error) {
	now := e.clock.Now()
	result, msg := RunOK, ""
	switch {
	case runErr != nil:
		result, msg = RunError, runErr.Error()
	case rep.Err() != nil:
		result, msg = RunFailed, rep.Err().Error()
	case rep.Plan.Stale:
		// Planned from the last-known catalog: not a successful run, since
		// the workspace was not heard from.
		result, msg = RunStale, "service unreachable: "+rep.Plan.CatalogError
	}
	e.updateRuns(ctx, func(st *runHistory) {
		for _, r := range rs {
			info := st.Rules[r]
			// Cleaned (issue 15, point 4): an error may carry text a
			// service echoed.
			info.LastRun, info.LastResult, info.LastError = started, result, safetext.Clean(msg)
			if result == RunOK {
				info.LastSuccess = now
			}
			st.Rules[r] = info
		}
	})
	quiet := result == RunOK && (rep == nil || len(rep.Applied()) == 0)
	for _, r := range rs {
		if !quiet {
			// Runs that found nothing to do are in the run history
			// (the runs record), not in the ledger: 288 a day would bury it.
			e.record(ctx, Record{Kind: RecordRun, Rule: string(r), Result: string(result), Error: msg, By: "engine"})
		}
		ev := Event{Kind: EventRunFinished, Rule: r, Message: string(result)}
		if runErr != nil {
			ev.Err = runErr
		} else if rep != nil {
			ev.Err = rep.Err()
		}
		e.emit(ev)
	}
}

func (e *Engine) readPending(ctx context.Context) ([]Change, error) {
	pend, _, err := pendingRecord.read(ctx, e.store)
	return pend, err
}

// notePending replaces the pending changes of the rules a run covered with
// the run's pending outcomes.
func (e *Engine) notePending(ctx context.Context, rep *Report) {
	e.runsMu.Lock()
	defer e.runsMu.Unlock()
	old, err := e.readPending(ctx)
	if err != nil {
		e.log.Warn("pending changes unreadable; replacing them", "err", err)
	}
	keep := old[:0]
	for _, c := range old {
		if !slices.Contains(rep.Plan.Rules, c.Rule) {
			keep = append(keep, c)
		}
	}
	for _, o := range rep.Pending() {
		keep = append(keep, o.Change)
	}
	if err := pendingRecord.write(ctx, e.store, keep); err != nil {
		e.log.Error("cannot record pending changes", "err", err)
	}
}
