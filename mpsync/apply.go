package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// apply asks the approver about each actionable change and applies what is
// approved, in plan order. A change whose dependency did not apply is
// skipped. When the store offers batches ([storage.Batcher]), the approved
// imports and removals are staged in one batch, each checked as it is
// staged, and committed once at the end: the run's changes become durable
// with a bounded number of syncs, and a crash before the commit leaves the
// store as it was before the run. Outcomes and ledger records are those of
// applying the changes one by one; if the commit fails, every staged change
// failed.
func (e *Engine) apply(ctx context.Context, run *runState, p *Plan) []Outcome {
	var batch storage.Batch
	if b, ok := e.store.(storage.Batcher); ok {
		var err error
		if batch, err = b.Batch(ctx); err != nil {
			e.log.Warn("store offers batches but cannot start one; applying changes one by one", "err", err)
			batch = nil
		} else {
			defer batch.Discard()
		}
	}
	outcomes := make([]Outcome, 0, len(p.Changes))
	for _, c := range p.Changes {
		o := e.applyOne(ctx, run, p, c, batch)
		run.results[c.Pack] = o.Result
		outcomes = append(outcomes, o)
	}
	if batch != nil {
		err := batch.Commit(ctx)
		for i := range outcomes {
			o := &outcomes[i]
			if o.Result != ResultApplied {
				continue
			}
			if err != nil {
				o.Result, o.Err = ResultFailed, &ChangeError{ChangeID: o.Change.ID, Pack: o.Change.Pack, Step: "commit", Err: err}
				run.results[o.Change.Pack] = o.Result
				e.emit(Event{Kind: EventChangeFailed, Rule: o.Change.Rule, Change: &o.Change, Err: o.Err})
				continue
			}
			e.emit(Event{Kind: EventChangeApplied, Rule: o.Change.Rule, Change: &o.Change})
		}
	}
	for _, o := range outcomes {
		c := o.Change
		if c.Action == ActionKeep || c.Action == ActionBlocked && o.Result != ResultFailed {
			continue // nothing was asked or done
		}
		e.recordChanged(ctx, "result", c.ID, string(o.Result), Record{Kind: RecordResult, Rule: string(c.Rule), ChangeID: c.ID,
			Action: c.Action, Pack: c.Pack, Version: target(c), SHA256: c.SHA256, Result: string(o.Result), By: "engine",
			Reason: c.Reason, Error: errString(o.Err)})
	}
	return outcomes
}

// storeView is what dependency checks read: the store, or the batch that
// shows the store as it will be after the run's staged changes.
type storeView interface {
	List(ctx context.Context) ([]storage.Entry, error)
	Get(ctx context.Context, id string) (storage.Entry, error)
}

func target(c Change) pack.Version {
	if c.Action == ActionRemove {
		return c.From
	}
	return c.To
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (e *Engine) applyOne(ctx context.Context, run *runState, p *Plan, c Change, batch storage.Batch) Outcome {
	var view storeView = e.store
	if batch != nil {
		view = batch
	}
	o := Outcome{Change: c}
	switch c.Action {
	case ActionKeep:
		o.Result = ResultSkipped
		return o
	case ActionBlocked:
		if c.Error != "" {
			// The pack could not be downloaded or read: a failure the
			// operator must see, not a policy decision.
			o.Result = ResultFailed
			o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: errors.New(c.Error)}
			e.emit(Event{Kind: EventChangeFailed, Rule: c.Rule, Change: &c, Err: o.Err})
			return o
		}
		o.Result = ResultSkipped
		o.Err = errors.New(c.Reason)
		e.emit(Event{Kind: EventChangeBlocked, Rule: c.Rule, Change: &c, Message: c.Reason})
		return o
	}
	if dep := e.unmetDependency(ctx, view, run, p, c); dep != "" {
		o.Result = ResultSkipped
		o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "dependency", Err: errors.New(dep)}
		return o
	}
	d, err := e.decide(ctx, run, c)
	o.Decision = &d
	if err != nil {
		o.Result, o.Err = ResultFailed, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: err}
		e.emit(Event{Kind: EventChangeFailed, Rule: c.Rule, Change: &c, Err: o.Err})
		return o
	}
	switch d.Verdict {
	case Deny:
		o.Result, o.Err = ResultDenied, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: fmt.Errorf("%w: denied by %s: %s", ErrNotApproved, d.By, d.Reason)}
		e.emit(Event{Kind: EventChangeDenied, Rule: c.Rule, Change: &c, Message: d.Reason})
		return o
	case Defer:
		o.Result, o.Err = ResultPending, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: fmt.Errorf("%w: pending (%s): %s", ErrNotApproved, d.By, d.Reason)}
		e.emit(Event{Kind: EventApprovalNeeded, Rule: c.Rule, Change: &c, Message: d.Reason})
		return o
	}
	if run.leased {
		// Renew the lease before touching the store; a run that outlived
		// its lease stops changing the store, since another server may run.
		if ok, err := e.holdsLease(ctx); err != nil || !ok {
			o.Result = ResultSkipped
			o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "lease", Err: fmt.Errorf("lease of %s lost (%v); another server runs the rules", e.holder, err)}
			return o
		}
	}
	if err := e.applyChange(ctx, run, c, batch); err != nil {
		o.Result, o.Err = ResultFailed, err
		e.emit(Event{Kind: EventChangeFailed, Rule: c.Rule, Change: &c, Err: err})
		return o
	}
	o.Result = ResultApplied
	if batch == nil {
		// A staged change is reported applied once the batch commits.
		e.emit(Event{Kind: EventChangeApplied, Rule: c.Rule, Change: &c})
	}
	return o
}

// unmetDependency names what c needs that this run did not bring about.
// An import or upgrade needs every pack of the plan it references to be
// applied, or to be in the store at the referenced version already. A
// removal needs no pack that stays in the store to reference it: this is
// checked against the store as it is now, so an upgrade that would have
// dropped the reference but was denied keeps the pack.
func (e *Engine) unmetDependency(ctx context.Context, view storeView, run *runState, p *Plan, c Change) string {
	if c.Action == ActionRemove {
		entries, err := view.List(ctx)
		if err != nil {
			return "cannot list the store to check dependents: " + err.Error()
		}
		if user := referrer(entries, c.Pack); user != "" {
			return fmt.Sprintf("%s still references it", user)
		}
		return ""
	}
	e.mu.Lock()
	m := e.manifests[c.SHA256]
	e.mu.Unlock()
	for _, ref := range m.References {
		i := slices.IndexFunc(p.Changes, func(o Change) bool { return o.Pack == ref.ID })
		if i < 0 {
			continue // satisfied by the store or the platform, as planned
		}
		other := p.Changes[i]
		if other.IsTarget() {
			if res := run.results[other.Pack]; res != ResultApplied {
				return fmt.Sprintf("waits for %s %s (%s)", other.Pack, other.To, resultText(res))
			}
			continue
		}
		if en, err := view.Get(ctx, ref.ID); err != nil || en.Version.Less(ref.Version) {
			return fmt.Sprintf("waits for %s %s, which is not imported", ref.ID, ref.Version)
		}
	}
	return ""
}

func resultText(r Result) string {
	if r == "" {
		return "not applied"
	}
	return string(r)
}

func (e *Engine) decide(ctx context.Context, run *runState, c Change) (Decision, error) {
	d, err := e.approver.Decide(ctx, ApprovalRequest{Change: c, Group: e.group.Name, WorkspaceID: run.ws.ID(), Now: e.clock.Now()})
	if err != nil {
		return d, err
	}
	switch d.Verdict {
	case Approve, Deny, Defer:
	default:
		return d, fmt.Errorf("approver returned verdict %q (want approve, deny or defer)", d.Verdict)
	}
	e.recordChanged(ctx, "decision", c.ID, string(d.Verdict)+"\x00"+d.By+"\x00"+d.Reason, Record{Kind: RecordDecision,
		Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action, Pack: c.Pack, Version: target(c), SHA256: c.SHA256,
		Verdict: d.Verdict, By: d.By, Reason: d.Reason})
	return d, nil
}

// applyChange imports or removes c's pack, staging it in batch when there is
// one.
func (e *Engine) applyChange(ctx context.Context, run *runState, c Change, batch storage.Batch) error {
	remove, imp := e.store.Remove, e.store.Import
	if batch != nil {
		remove, imp = batch.Remove, batch.Import
	}
	if c.Action == ActionRemove {
		if err := remove(ctx, c.Pack); err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "remove", Err: err}
		}
		return nil
	}
	rc := run.take(c.SHA256)
	if rc == nil {
		// Not kept from planning (a cached manifest, or a reader that cannot
		// seek): fetch it now; the store checks identity, size and hash.
		var err error
		if rc, err = run.ws.Fetch(ctx, catalogEntry(c)); err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: err}
		}
	}
	defer rc.Close()
	req := storage.ImportRequest{
		ID: c.Pack, Version: c.To, SHA256: c.SHA256, Size: c.Size, Time: e.clock.Now(),
		Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: run.ws.ID(), Rule: string(c.Rule), Solution: c.Solution},
	}
	if _, err := imp(ctx, req, rc); err != nil {
		return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "import", Err: err}
	}
	return nil
}

func catalogEntry(c Change) catalog.Pack {
	ch := rules.Rule(c.Rule).Channel()
	return catalog.Pack{ID: c.Pack, Version: c.To, Channel: ch, Solution: c.Solution, SHA256: c.SHA256, Size: c.Size, Href: c.Href}
}

// recordTimeout bounds a ledger append: a record follows a change already
// made, so it is written even when the operation's context has ended, but a
// ledger that does not answer must not hold the engine.
const recordTimeout = 30 * time.Second

// record appends to the ledger, logging (not failing the run) when the
// ledger cannot be written: the store change already happened. It reports
// whether the record was written. It is written even when ctx has ended
// (a run past its deadline, a caller that gave up): what happened to the
// store is recorded.
func (e *Engine) record(ctx context.Context, r Record) bool {
	if r.Time.IsZero() {
		r.Time = e.clock.Now()
	}
	r.Group = e.group.Name
	if ws := e.workspace(); r.WorkspaceID == "" && ws != nil {
		r.WorkspaceID = ws.ID()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := e.ledger.Append(rctx, r); err != nil {
		e.log.Error("ledger append failed", "kind", r.Kind, "pack", r.Pack, "err", err)
		return false
	}
	return true
}

// recordChanged records r when value differs from the last value this
// engine recorded for kind and change id: decisions and results are
// recorded when they first happen and when they change, not on every run
// that asks again (a change pending for a week must not bury the ledger's
// real entries under 2,016 copies). A value is noted only once its record
// is written, so a failed append is tried again by the next run.
func (e *Engine) recordChanged(ctx context.Context, kind, changeID, value string, r Record) {
	key := kind + "\x00" + changeID
	e.mu.Lock()
	same := e.noted[key] == value
	e.mu.Unlock()
	if same || !e.record(ctx, r) {
		return
	}
	e.mu.Lock()
	e.noted[key] = value
	e.mu.Unlock()
}
