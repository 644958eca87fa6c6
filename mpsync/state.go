package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/internal/safetext"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

type runHistory struct {
	Rules     map[rules.Rule]status.Run `json:"rules"`
	Workspace status.Workspace          `json:"workspace"`
}

func (e *Engine) readRuns(ctx context.Context) (runHistory, error) {
	st, _, err := runsRecord.read(ctx, e.store)
	if st.Rules == nil {
		st.Rules = map[rules.Rule]status.Run{}
	}
	return st, err
}

func (e *Engine) updateRuns(ctx context.Context, f func(*runHistory)) {
	// Held across the read and the write: Validate and Status may update
	// the record while a run does.
	e.runsMu.Lock()
	defer e.runsMu.Unlock()
	st, raw, _, err := runsRecord.readRaw(ctx, e.store)
	if err != nil {
		// Regression (issue 15, point 5): a corrupt run history was
		// overwritten without a word. It is set aside first and the
		// ledger says so; a history that cannot be read or set aside is
		// left as it is.
		if e.setAsideCorrupt(ctx, runsRecord, raw, err) != nil {
			return
		}
		st = runHistory{}
	}
	if st.Rules == nil {
		st.Rules = map[rules.Rule]status.Run{}
	}
	f(&st)
	if err := runsRecord.write(ctx, e.store, st); err != nil {
		e.log.Error("cannot record run history", "err", err)
	}
}

// noteWorkspace records the outcome of a catalog request.
func (e *Engine) noteWorkspace(ctx context.Context, res CatalogResult, err error) {
	e.updateRuns(ctx, e.workspaceNote(res, err))
}

// noteWorkspaceIn is noteWorkspace for a request made by run: a run of the
// rules keeps the note for its one write of the run history at its end.
func (e *Engine) noteWorkspaceIn(ctx context.Context, run *runState, res CatalogResult, err error) {
	if run.deferNote {
		run.noted = e.workspaceNote(res, err)
		return
	}
	e.noteWorkspace(ctx, res, err)
}

// workspaceNote is the change a catalog request's outcome makes to the run
// history.
func (e *Engine) workspaceNote(res CatalogResult, err error) func(*runHistory) {
	now := e.clock.Now()
	return func(st *runHistory) {
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
	}
}

// failedOnlyForTheService reports whether every change that failed in rep
// failed because the service was unavailable.
func failedOnlyForTheService(rep *Report) bool {
	for _, o := range rep.Failed() {
		if !errors.Is(o.Err, ErrUnavailable) {
			return false
		}
	}
	return true
}

// finishRuns records the end of a run of rs, with noted (what the run's
// catalog request learned of the service, nil when none) in the same write
// of the run history, and emits run-finished events.
func (e *Engine) finishRuns(ctx context.Context, rs []rules.Rule, started time.Time, rep *Report, runErr error, noted func(*runHistory)) {
	now := e.clock.Now()
	result, msg := status.RunOK, ""
	switch {
	case runErr != nil:
		result, msg = status.RunError, runErr.Error()
	case rep.Plan.Stale && failedOnlyForTheService(rep):
		// Planned from the last-known catalog: not a successful run, since
		// the workspace was not heard from; the changes that failed (packs
		// it could not download) failed because of it.
		result, msg = status.RunStale, "service unreachable: "+rep.Plan.CatalogError
	case rep.Err() != nil:
		result, msg = status.RunFailed, rep.Err().Error()
		if rep.Plan.Stale {
			msg = "service unreachable: " + rep.Plan.CatalogError + "; and: " + msg
		}
	}
	e.updateRuns(ctx, func(st *runHistory) {
		if noted != nil {
			noted(st)
		}
		for _, r := range rs {
			info := st.Rules[r]
			// Cleaned (issue 15, point 4): an error may carry text a
			// service echoed.
			info.LastRun, info.LastResult, info.LastError = started, result, safetext.Clean(msg)
			if result == status.RunOK {
				info.LastSuccess = now
			}
			st.Rules[r] = info
		}
	})
	quiet := result == status.RunOK && (rep == nil || len(rep.Applied()) == 0)
	for _, r := range rs {
		if !quiet {
			// Runs that found nothing to do are in the run history
			// (the runs record), not in the ledger: 288 a day would bury it.
			e.record(ctx, ledger.Record{Kind: ledger.KindRun, Rule: string(r), Result: string(result), Error: msg, By: "engine"})
		}
		ev := event.Event{Kind: event.RunFinished, Rule: r, Message: string(result)}
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
// the run's pending outcomes; a run on a stale catalog only adds to them.
func (e *Engine) notePending(ctx context.Context, rep *Report) {
	e.runsMu.Lock()
	defer e.runsMu.Unlock()
	old, raw, _, err := pendingRecord.readRaw(ctx, e.store)
	if err != nil {
		// Regression (issue 15, point 5): a corrupt pending record was
		// replaced silently, dropping what waited for the rules this run
		// did not cover. It is set aside first and the ledger says so; a
		// record that cannot be read or set aside is left as it is.
		if e.setAsideCorrupt(ctx, pendingRecord, raw, err) != nil {
			return
		}
		old = nil
	}
	keep := old[:0]
	for _, c := range old {
		// A run on a stale catalog knows too little to say a change no
		// longer waits (it did not even download the packs): what waited
		// still does, until a run hears from the workspace.
		if rep.Plan.Stale || !slices.Contains(rep.Plan.Rules, c.Rule) {
			keep = append(keep, c)
		}
	}
	for _, o := range rep.Pending() {
		if !slices.ContainsFunc(keep, func(c Change) bool { return c.ID == o.ID }) {
			keep = append(keep, o.Change)
		}
	}
	if err := pendingRecord.write(ctx, e.store, keep); err != nil {
		e.log.Error("cannot record pending changes", "err", err)
	}
	e.pruneQueue(ctx, rep)
}

// pruneQueue has the approval queue drop the waiting changes the store has
// overtaken, and those of the rules rep covered that its plan, made from a
// fresh catalog, no longer holds.
//
// Regression (issue 15, point 6): a change waiting for approval for a
// version already superseded (the store had reached or passed it, or the
// catalog no longer asked for it) stayed listed forever, since no run
// asked about it again to supersede it.
func (e *Engine) pruneQueue(ctx context.Context, rep *Report) {
	q, err := e.queue()
	if err != nil {
		return
	}
	p, ok := q.(approval.Pruner)
	if !ok {
		return
	}
	entries, err := e.store.List(ctx)
	if err != nil {
		e.log.Warn("cannot prune the approval queue: list store", "err", err)
		return
	}
	byStore := overtaken(entries)
	planned := map[string]bool{}
	fresh := rep != nil && rep.Plan != nil && !rep.Plan.Stale
	if fresh {
		for _, c := range rep.Plan.Changes {
			planned[c.ID] = true
		}
	}
	ids, err := p.Prune(ctx, func(qc approval.QueuedChange) (string, bool) {
		if qc.Group != "" && qc.Group != e.group.Name {
			return "", false // another group's, in a shared queue
		}
		if why, ok := byStore(qc.Change); ok {
			return why, true
		}
		if fresh && slices.Contains(rep.Plan.Rules, qc.Change.Rule) && !planned[qc.Change.ID] {
			return fmt.Sprintf("catalog serial %d no longer plans it", rep.Plan.CatalogSerial), true
		}
		return "", false
	})
	if err != nil {
		e.log.Warn("cannot prune the approval queue", "err", err)
		return
	}
	if len(ids) > 0 {
		e.log.Info("approval queue: changes overtaken marked superseded", "changes", ids)
	}
}

// overtaken returns the func that says why a change is already done or
// overtaken by what the store holds (entries).
func overtaken(entries []storage.Entry) func(Change) (string, bool) {
	byID := make(map[string]storage.Entry, len(entries))
	for _, en := range entries {
		byID[en.ID] = en
	}
	return func(c Change) (string, bool) {
		en, ok := byID[c.Pack]
		if c.Action == plan.ActionRemove {
			switch {
			case !ok:
				return fmt.Sprintf("the store no longer holds %s", c.Pack), true
			case !c.From.IsZero() && en.Version != c.From:
				return fmt.Sprintf("the store holds %s %s, not the %s this removal was for", c.Pack, en.Version, c.From), true
			}
			return "", false
		}
		if ok && !c.To.IsZero() && !en.Version.Less(c.To) {
			return fmt.Sprintf("the store already holds %s %s", c.Pack, en.Version), true
		}
		return "", false
	}
}

// setAsideCorrupt handles an error reading rec before it is written
// afresh: for a [*storage.CorruptRecordError] it copies raw to the record's
// [storage.CorruptSuffix] name, logs a warning and records it in the ledger, and
// returns nil: the record may now be replaced. Any other error (the store
// could not be read, the copy could not be written) is logged and
// returned, and the record must be left alone.
func (e *Engine) setAsideCorrupt(ctx context.Context, rec setAsider, raw []byte, err error) error {
	name := rec.recordName()
	if !errors.Is(err, storage.ErrCorruptRecord) {
		e.log.Error("metadata record unreadable; left as it is", "record", name, "err", err)
		return err
	}
	if serr := rec.setAsideRaw(ctx, e.store, raw); serr != nil {
		e.log.Error("corrupt metadata record could not be set aside; left as it is", "record", name, "err", serr)
		return fmt.Errorf("%w; %w", err, serr)
	}
	e.log.Warn("corrupt metadata record set aside; starting it afresh", "record", name, "copy", name+storage.CorruptSuffix, "err", err)
	e.record(ctx, ledger.Record{Kind: ledger.KindRepair, Result: "set-aside", By: "engine",
		Reason: fmt.Sprintf("%s was corrupt (%v); its bytes were kept as %s and it was started afresh", name, errors.Unwrap(err), name+storage.CorruptSuffix)})
	return nil
}
