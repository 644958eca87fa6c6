package mpsync

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// idleState is what a run leaves for the next one to decide cheaply that
// nothing changed (the idle tick of the 5-minute rule): what the plan was
// made from and what came of it. It is kept only after a run that changed
// nothing and failed nothing, so that an unchanged next run has nothing to
// retry. Guarded by runMu.
type idleState struct {
	rules    []rules.Rule
	settings []rules.Settings // of rs, in order (the enabled and the skipped ones)
	wsID     string
	etag     string
	catalog  *catalog.Catalog
	serial   int64
	// gen is the store's generation when planned (hasGen), else entries is
	// the listing planned from.
	gen     uint64
	hasGen  bool
	entries []storage.Entry
	// version is the approver's ApprovalVersion (hasVersion).
	version    uint64
	hasVersion bool
	plan       *Plan
	outcomes   []Outcome
	// notable are the indices of the outcomes that are not kept packs: the
	// only ones a reused run emits events for or asks about again. Never
	// nil once made (a reused Report relies on it).
	notable []int
}

// idleRecord returns the state to keep after a run that planned p from
// what run saw and ended with outcomes, or nil when the next run must plan
// afresh whatever happens (something was applied or failed, the catalog was
// stale, a lease was lost).
func (e *Engine) idleRecord(run *runState, rs []rules.Rule, settings []rules.Settings, p *Plan, outcomes []Outcome) *idleState {
	if run.catalog == nil || run.catalog.Stale || run.catalog.Catalog == nil || !run.listed {
		return nil
	}
	st := &idleState{rules: slices.Clone(rs), settings: settings, wsID: run.ws.ID(), etag: run.catalog.ETag,
		catalog: run.catalog.Catalog, serial: run.catalog.Catalog.Serial,
		gen: run.gen, hasGen: run.hasGen, version: run.version, hasVersion: run.hasVersion,
		plan: p, outcomes: outcomes, notable: []int{}}
	if !run.hasGen {
		st.entries = run.entries // to compare the next listing with
	}
	for i, o := range outcomes {
		switch {
		case o.Action == plan.ActionKeep:
			continue
		case o.Result == ResultApplied, o.Result == ResultFailed:
			return nil
		case o.Result == ResultSkipped && o.Action != plan.ActionBlocked && !isStep(o.Err, "dependency"):
			return nil // a lost lease: run again in full
		}
		st.notable = append(st.notable, i)
	}
	return st
}

func isStep(err error, step string) bool {
	ce, ok := err.(*ChangeError)
	return ok && ce.Step == step
}

// snapshot reads, before planning, the cheap signals idleRun compares: the
// store's generation and the approver's version.
func (e *Engine) snapshot(ctx context.Context, run *runState) {
	if g, ok := e.store.(storage.Generationer); ok {
		if gen, err := g.Generation(ctx); err == nil {
			run.gen, run.hasGen = gen, true
		}
	}
	if v, ok := e.approver.(approval.Versioner); ok {
		if ver, err := v.ApprovalVersion(ctx); err == nil {
			run.version, run.hasVersion = ver, true
		}
	}
}

// idleRun is a run that reuses the previous plan when nothing it was made
// from changed: the catalog answered 304 (CatalogResult.NotModified) for the
// same workspace, the settings are the same, the store's generation (or,
// for a store without [storage.Generationer], its listing) is the same, and
// the changes left pending or denied would be decided the same way. A
// pending change is asked about again only when its Decision.NotBefore has
// passed or the approver's [approval.Versioner] number moved (every time,
// for an approver without one); any other answer than last time's means a
// full run. It makes the run's one catalog request: when it returns false,
// the full run plans from the answer kept in run.
func (e *Engine) idleRun(ctx context.Context, run *runState, rs []rules.Rule, settings []rules.Settings, rep *Report) bool {
	res, fetchErr := run.ws.Catalog(ctx)
	run.catalog, run.catalogErr, run.fetched0 = &res, fetchErr, true
	st := e.idle
	e.idle = nil // set again below if reused
	if st == nil || e.noIdle || fetchErr != nil || !res.NotModified || res.Stale || res.Catalog == nil ||
		res.ETag != st.etag || res.Catalog.Serial != st.serial || run.ws.ID() != st.wsID ||
		!slices.Equal(rs, st.rules) || !reflect.DeepEqual(settings, st.settings) {
		return false
	}
	// No serial check: a 304 confirms the catalog the last run checked and
	// planned from; it is not a new catalog that could be a replay.
	e.snapshot(ctx, run)
	if st.hasGen != run.hasGen || st.hasGen && st.gen != run.gen {
		return false
	}
	if !st.hasGen {
		entries, err := e.store.List(ctx)
		if err != nil || !sameEntries(entries, st.entries) {
			return false
		}
		run.entries, run.listed = entries, true
	}
	now := e.clock.Now()
	outcomes := st.outcomes
	asked := !run.hasVersion || !st.hasVersion || run.version != st.version
	for _, i := range st.notable {
		o := st.outcomes[i]
		if o.Result != ResultPending && o.Result != ResultDenied {
			continue
		}
		if o.Decision != nil && o.Decision.By == RemovalGuardName {
			// The guard decides from the plan and the store, both
			// unchanged: it would hold the removal again.
			continue
		}
		if !asked && (o.Result == ResultDenied || o.Decision == nil || o.Decision.NotBefore.IsZero() || now.Before(o.Decision.NotBefore)) {
			continue
		}
		d, err := e.decide(ctx, run, o.Change, nil)
		if err != nil || o.Decision == nil || d.Verdict != o.Decision.Verdict {
			return false
		}
		if d != *o.Decision {
			// The same answer in other words (a later NotBefore): the
			// outcome says so; copy the outcomes before the first edit.
			if &outcomes[0] == &st.outcomes[0] {
				outcomes = slices.Clone(st.outcomes)
			}
			dd := d
			outcomes[i].Decision = &dd
			n := *outcomes[i].Err.(*ChangeError)
			n.Err = decisionErr(d)
			outcomes[i].Err = &n
		}
	}
	// Reused: the same plan, confirmed now.
	e.noteWorkspaceIn(ctx, run, res, nil)
	p := *st.plan
	p.CreatedAt, p.CatalogFetchedAt = now, res.FetchedAt
	rep.Plan, rep.Outcomes, rep.Reused, rep.notable = &p, outcomes, true, st.notable[:len(st.notable):len(st.notable)]
	e.emit(event.Event{Kind: event.PlanReady, Plan: rep.Plan})
	for _, i := range st.notable {
		o := &outcomes[i]
		c := &o.Change
		switch o.Result {
		case ResultPending:
			e.emit(event.Event{Kind: event.ApprovalNeeded, Rule: c.Rule, Change: c, Message: o.Decision.Reason})
		case ResultDenied:
			e.emit(event.Event{Kind: event.ChangeDenied, Rule: c.Rule, Change: c, Message: o.Decision.Reason})
		case ResultSkipped:
			if c.Action == plan.ActionBlocked {
				e.emit(event.Event{Kind: event.ChangeBlocked, Rule: c.Rule, Change: c, Message: c.Reason})
			}
		}
	}
	rep.Finished = e.clock.Now()
	// The pending changes are the last run's, which recorded them (runs
	// are serialised, and every run but a reused one drops e.idle): the
	// record is not written again (a write is a sync on the directory
	// store, 288 times a day).
	next := *st
	next.outcomes = outcomes
	next.version, next.hasVersion = run.version, run.hasVersion
	e.idle = &next
	return true
}

// decisionErr is the error applyOne gives a change the approver did not
// approve.
func decisionErr(d approval.Decision) error {
	if d.Verdict == plan.Deny {
		return fmt.Errorf("%w: denied by %s: %s", ErrNotApproved, d.By, d.Reason)
	}
	return fmt.Errorf("%w: pending (%s): %s", ErrNotApproved, d.By, d.Reason)
}

// sameEntries reports whether two listings hold the same packs with the same
// values for everything the planner reads.
func sameEntries(a, b []storage.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Version != y.Version || x.SHA256 != y.SHA256 || x.Size != y.Size || x.Name != y.Name ||
			x.Sealed != y.Sealed || x.PublicKeyToken != y.PublicKeyToken || x.Provenance != y.Provenance ||
			!x.ImportedAt.Equal(y.ImportedAt) || !slices.Equal(x.References, y.References) ||
			(x.Previous == nil) != (y.Previous == nil) {
			return false
		}
		if x.Previous != nil && !samePrevious(x.Previous, y.Previous) {
			return false
		}
	}
	return true
}

func samePrevious(x, y *storage.Previous) bool {
	return x.Version == y.Version && x.Name == y.Name && x.SHA256 == y.SHA256 && x.Size == y.Size &&
		x.ImportedAt.Equal(y.ImportedAt) && slices.Equal(x.References, y.References) && x.Sealed == y.Sealed &&
		x.PublicKeyToken == y.PublicKeyToken && x.Provenance == y.Provenance
}
