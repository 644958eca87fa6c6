package mpsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/plan"

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
//
// With a batch, imports are staged concurrently (up to GOMAXPROCS at once:
// receiving, hashing and validating a pack is CPU work), while approvals,
// dependency checks and removals keep plan order: a change waits for the
// staging of every pack it references before its dependencies are checked,
// and a removal for every staging in flight. The run's decisions are
// appended to the ledger together before the commit, and its results
// together after it, when the ledger offers [ledger.Batcher].
//
// hold, when not empty, is why the removal guard holds the plan's removals
// (removalHold): each is denied with that reason instead of asking the
// approver.
func (e *Engine) apply(ctx context.Context, run *runState, p *Plan, hold string) []Outcome {
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
	var decisions *[]ledger.Record
	if batch != nil {
		decisions = new([]ledger.Record)
	}
	st := newStager(runtime.GOMAXPROCS(0))
	for _, c := range p.Changes {
		if batch != nil {
			if c.Action == plan.ActionRemove {
				st.settleAll(e, run, outcomes)
			} else {
				e.mu.Lock()
				m := e.manifests[c.SHA256]
				e.mu.Unlock()
				for _, ref := range m.References {
					st.settle(e, run, outcomes, ref.ID)
				}
			}
		}
		o, stage := e.applyOne(ctx, run, p, c, batch, decisions, hold)
		outcomes = append(outcomes, o)
		if stage {
			i := len(outcomes) - 1
			st.start(e, c, i, func() error { return e.applyChange(ctx, run, c, batch) })
			continue
		}
		run.results[c.Pack] = o.Result
	}
	st.settleAll(e, run, outcomes)
	if batch != nil {
		e.recordAll(ctx, *decisions)
		err := batch.Commit(ctx)
		for i := range outcomes {
			o := &outcomes[i]
			if o.Result != ResultApplied {
				continue
			}
			if err != nil {
				o.Result, o.Err = ResultFailed, &ChangeError{ChangeID: o.Change.ID, Pack: o.Change.Pack, Step: "commit", Err: err}
				run.results[o.Change.Pack] = o.Result
				e.emit(event.Event{Kind: event.ChangeFailed, Rule: o.Change.Rule, Change: &o.Change, Err: o.Err})
				continue
			}
			e.emit(event.Event{Kind: event.ChangeApplied, Rule: o.Change.Rule, Change: &o.Change})
		}
	}
	var results []ledger.Record
	for _, o := range outcomes {
		c := o.Change
		if c.Action == plan.ActionKeep || c.Action == plan.ActionBlocked && o.Result != ResultFailed ||
			!e.noteChanged("result", c.ID, string(o.Result)) {
			// Nothing was asked or done, or the same result as last run: a
			// change pending for a week must not bury the ledger's real
			// entries under 2,016 copies.
			continue
		}
		results = append(results, ledger.Record{Kind: ledger.KindResult, Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action,
			Pack: c.Pack, Version: target(c), SHA256: c.SHA256, Result: string(o.Result), By: "engine",
			Reason: c.Reason, Error: errString(o.Err)})
	}
	e.recordAll(ctx, results)
	return outcomes
}

// stager runs the stagings of a run's imports into its batch concurrently,
// at most n at once. Only the goroutine running apply calls its methods.
type stager struct {
	sem      chan struct{}
	inflight map[string]*staging // by pack id
}

// staging is one import being staged for outcome i.
type staging struct {
	i    int
	done chan struct{}
	err  error
}

func newStager(n int) *stager {
	return &stager{sem: make(chan struct{}, max(1, n)), inflight: map[string]*staging{}}
}

// start stages c's pack for outcome i by calling fn on a goroutine of its
// own, once fewer than n stagings are in flight. A panic in fn (a store's
// Import) fails the change, as it fails the run on the run's goroutine.
func (s *stager) start(e *Engine, c Change, i int, fn func() error) {
	g := &staging{i: i, done: make(chan struct{})}
	s.inflight[c.Pack] = g
	s.sem <- struct{}{}
	go func() {
		defer close(g.done)
		defer func() { <-s.sem }()
		defer func() {
			if p := recover(); p != nil {
				e.log.Error("staging an import panicked", "pack", c.Pack, "panic", p, "stack", string(debug.Stack()))
				g.err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "import", Err: fmt.Errorf("panicked: %v", p)}
			}
		}()
		g.err = fn()
	}()
}

// settle waits for the staging of pack, if one is in flight, and records
// its outcome.
func (s *stager) settle(e *Engine, run *runState, outcomes []Outcome, pack string) {
	g, ok := s.inflight[pack]
	if !ok {
		return
	}
	delete(s.inflight, pack)
	<-g.done
	o := &outcomes[g.i]
	if g.err != nil {
		o.Result, o.Err = ResultFailed, g.err
		e.emit(event.Event{Kind: event.ChangeFailed, Rule: o.Change.Rule, Change: &o.Change, Err: g.err})
	} else {
		o.Result = ResultApplied
	}
	run.results[pack] = o.Result
}

// settleAll settles every staging in flight, in plan order.
func (s *stager) settleAll(e *Engine, run *runState, outcomes []Outcome) {
	packs := make([]string, 0, len(s.inflight))
	for p := range s.inflight {
		packs = append(packs, p)
	}
	slices.SortFunc(packs, func(a, b string) int { return s.inflight[a].i - s.inflight[b].i })
	for _, p := range packs {
		s.settle(e, run, outcomes, p)
	}
}

// storeView is what dependency checks read: the store, or the batch that
// shows the store as it will be after the run's staged changes.
type storeView interface {
	List(ctx context.Context) ([]storage.Entry, error)
	Get(ctx context.Context, id string) (storage.Entry, error)
}

func target(c Change) pack.Version {
	if c.Action == plan.ActionRemove {
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

// applyOne decides c and applies it. With a batch, an approved import is
// not applied: applyOne returns stage true, and the caller stages it with
// applyChange and fills in the outcome's result. Decisions are appended to
// *decisions when it is not nil, else recorded at once.
func (e *Engine) applyOne(ctx context.Context, run *runState, p *Plan, c Change, batch storage.Batch, decisions *[]ledger.Record, hold string) (_ Outcome, stage bool) {
	var view storeView = e.store
	if batch != nil {
		view = batch
	}
	o := Outcome{Change: c}
	switch c.Action {
	case plan.ActionKeep:
		o.Result = ResultSkipped
		return o, false
	case plan.ActionBlocked:
		if c.Error != "" {
			// The pack could not be downloaded or read: a failure the
			// operator must see, not a policy decision.
			o.Result = ResultFailed
			cause := errors.New(c.Error)
			run.mu.Lock()
			if err, ok := run.unreadable[c.SHA256]; ok && err.Error() == c.Error {
				cause = err // the error itself, with its kind
			}
			run.mu.Unlock()
			o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: cause}
			e.emit(event.Event{Kind: event.ChangeFailed, Rule: c.Rule, Change: &c, Err: o.Err})
			return o, false
		}
		o.Result = ResultSkipped
		o.Err = errors.New(c.Reason)
		e.emit(event.Event{Kind: event.ChangeBlocked, Rule: c.Rule, Change: &c, Message: c.Reason})
		return o, false
	}
	if dep := e.unmetDependency(ctx, view, run, p, c); dep != "" {
		o.Result = ResultSkipped
		o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "dependency", Err: errors.New(dep)}
		return o, false
	}
	var d approval.Decision
	var err error
	if hold != "" && c.Action == plan.ActionRemove {
		d = holdRemoval(hold)
		e.noteDecision(ctx, c, d, decisions)
	} else {
		d, err = e.decide(ctx, run, c, decisions)
	}
	o.Decision = &d
	if err != nil {
		o.Result, o.Err = ResultFailed, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: err}
		e.emit(event.Event{Kind: event.ChangeFailed, Rule: c.Rule, Change: &c, Err: o.Err})
		return o, false
	}
	switch d.Verdict {
	case plan.Deny:
		o.Result, o.Err = ResultDenied, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: fmt.Errorf("%w: denied by %s: %s", ErrNotApproved, d.By, d.Reason)}
		e.emit(event.Event{Kind: event.ChangeDenied, Rule: c.Rule, Change: &c, Message: d.Reason})
		return o, false
	case plan.Defer:
		o.Result, o.Err = ResultPending, &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "approve", Err: fmt.Errorf("%w: pending (%s): %s", ErrNotApproved, d.By, d.Reason)}
		e.emit(event.Event{Kind: event.ApprovalNeeded, Rule: c.Rule, Change: &c, Message: d.Reason})
		return o, false
	}
	if run.leased {
		// Renew the lease before touching the store; a run that outlived
		// its lease stops changing the store, since another server may run.
		if ok, err := e.holdsLease(ctx); err != nil || !ok {
			o.Result = ResultSkipped
			o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "lease", Err: fmt.Errorf("lease of %s lost (%v); another server runs the rules", e.holder, err)}
			return o, false
		}
	}
	if batch != nil && c.Action != plan.ActionRemove {
		return o, true
	}
	if err := e.applyChange(ctx, run, c, batch); err != nil {
		o.Result, o.Err = ResultFailed, err
		e.emit(event.Event{Kind: event.ChangeFailed, Rule: c.Rule, Change: &c, Err: err})
		return o, false
	}
	o.Result = ResultApplied
	if batch == nil {
		// A staged change is reported applied once the batch commits.
		e.emit(event.Event{Kind: event.ChangeApplied, Rule: c.Rule, Change: &c})
	}
	return o, false
}

// unmetDependency names what c needs that this run did not bring about.
// An import or upgrade needs every pack of the plan it references to be
// applied, or to be in the store at the referenced version already. A
// removal needs no pack that stays in the store to reference it: this is
// checked against the store as it is now, so an upgrade that would have
// dropped the reference but was denied keeps the pack.
func (e *Engine) unmetDependency(ctx context.Context, view storeView, run *runState, p *Plan, c Change) string {
	if c.Action == plan.ActionRemove {
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

func (e *Engine) decide(ctx context.Context, run *runState, c Change, decisions *[]ledger.Record) (approval.Decision, error) {
	d, err := e.approver.Decide(ctx, approval.Request{Change: c, Group: e.group.Name, WorkspaceID: run.ws.ID(), Now: e.clock.Now()})
	if err != nil {
		return d, err
	}
	switch d.Verdict {
	case plan.Approve, plan.Deny, plan.Defer:
	default:
		return d, fmt.Errorf("approver returned verdict %q (want approve, deny or defer)", d.Verdict)
	}
	e.noteDecision(ctx, c, d, decisions)
	return d, nil
}

// noteDecision records d for c in the ledger when it differs from the last
// decision recorded for c, into decisions when the run collects them.
func (e *Engine) noteDecision(ctx context.Context, c Change, d approval.Decision, decisions *[]ledger.Record) {
	if e.noteChanged("decision", c.ID, string(d.Verdict)+"\x00"+d.By+"\x00"+d.Reason) {
		r := ledger.Record{Kind: ledger.KindDecision, Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action, Pack: c.Pack,
			Version: target(c), SHA256: c.SHA256, Verdict: d.Verdict, By: d.By, Reason: d.Reason}
		if decisions != nil {
			*decisions = append(*decisions, e.stamp(r))
		} else {
			e.record(ctx, r)
		}
	}
}

// applyChange imports or removes c's pack, staging it in batch when there is
// one.
func (e *Engine) applyChange(ctx context.Context, run *runState, c Change, batch storage.Batch) error {
	remove, imp := e.store.Remove, e.store.Import
	if batch != nil {
		remove, imp = batch.Remove, batch.Import
	}
	if c.Action == plan.ActionRemove {
		if err := remove(ctx, c.Pack); err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "remove", Err: err}
		}
		return nil
	}
	rc := run.take(c.SHA256)
	var body *streamBody
	if rc == nil {
		// Not kept from planning (a cached manifest, or a reader that cannot
		// seek): fetch it now; the store checks identity, size and hash.
		// A workspace that streams hands the body to the store as it
		// arrives, so the pack is read once, not spooled and read again.
		var err error
		if sw, ok := run.ws.(streamer); ok {
			if rc, err = sw.FetchStream(ctx, catalogEntry(c)); err == nil {
				body = &streamBody{r: rc}
				rc = body
			}
		} else {
			rc, err = run.ws.Fetch(ctx, catalogEntry(c))
		}
		if err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: err}
		}
	}
	defer rc.Close()
	req := storage.ImportRequest{
		ID: c.Pack, Version: c.To, SHA256: c.SHA256, Size: c.Size, Time: e.clock.Now(),
		Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: run.ws.ID(), Rule: string(c.Rule), Solution: c.Solution},
	}
	if _, err := imp(ctx, req, rc); err != nil {
		if body != nil && body.err != nil {
			// The download failed or was refused (size, hash) while the
			// store read it: report it as Fetch would have.
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: body.err}
		}
		return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "import", Err: err}
	}
	return nil
}

// streamer is a [Workspace] that can also hand over a pack's body as it
// arrives, verified (size, SHA-256) before its last bytes
// (workspace.Client.FetchStream).
type streamer interface {
	FetchStream(ctx context.Context, p catalog.Pack) (io.ReadCloser, error)
}

// streamBody remembers the first failure of a streamed download other
// than its end, so that a store error caused by it is reported as the
// download's.
type streamBody struct {
	r   io.ReadCloser
	err error
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *streamBody) Close() error { return b.r.Close() }

func catalogEntry(c Change) catalog.Pack {
	ch := rules.Rule(c.Rule).Channel()
	return catalog.Pack{ID: c.Pack, Version: c.To, Channel: ch, Solution: c.Solution, SHA256: c.SHA256, Size: c.Size, Href: c.Href}
}

// recordTimeout bounds a ledger append: a record follows a change already
// made, so it is written even when the operation's context has ended, but a
// ledger that does not answer must not hold the engine.
const recordTimeout = 30 * time.Second

// record appends to the ledger, logging (not failing the run) when the
// ledger cannot be written: the store change already happened. It is
// written even when ctx has ended (a run past its deadline, a caller that
// gave up): what happened to the store is recorded. A decision or result
// that could not be written is forgotten as noted, so the next run tries
// again.
func (e *Engine) record(ctx context.Context, r ledger.Record) {
	r = e.stamp(r)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := e.ledger.Append(rctx, r); err != nil {
		e.log.Error("ledger append failed", "kind", r.Kind, "pack", r.Pack, "err", err)
		e.forget(r)
	}
}

// stamp fills in what every record of this engine carries: the time (now,
// unless set), the group and the workspace.
func (e *Engine) stamp(r ledger.Record) ledger.Record {
	if r.Time.IsZero() {
		r.Time = e.clock.Now()
	}
	r.Group = e.group.Name
	if ws := e.workspace(); r.WorkspaceID == "" && ws != nil {
		r.WorkspaceID = ws.ID()
	}
	return r
}

// recordAll appends rs to the ledger with one write when it offers
// [ledger.Batcher], else one by one; like record, it logs what it cannot
// write.
func (e *Engine) recordAll(ctx context.Context, rs []ledger.Record) {
	if len(rs) == 0 {
		return
	}
	lb, ok := e.ledger.(ledger.Batcher)
	if !ok || len(rs) == 1 {
		for _, r := range rs {
			e.record(ctx, r)
		}
		return
	}
	for i := range rs {
		rs[i] = e.stamp(rs[i])
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := lb.AppendBatch(rctx, rs); err != nil {
		e.log.Error("ledger append failed", "kind", rs[0].Kind, "records", len(rs), "err", err)
		for _, r := range rs {
			e.forget(r)
		}
	}
}

// noteChanged reports whether value differs from the last value this
// engine noted for kind and change id, and notes it: decisions and results
// are recorded when they first happen and when they change, not on every
// run that asks again (a change pending for a week must not bury the
// ledger's real entries under 2,016 copies). A record that then fails to be
// written is forgotten again ([Engine.forget]).
func (e *Engine) noteChanged(kind, changeID, value string) bool {
	key := kind + "\x00" + changeID
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.noted[key] == value {
		return false
	}
	e.noted[key] = value
	return true
}

// forget drops what noteChanged noted for a decision or result record that
// could not be written, so that the next run records it.
func (e *Engine) forget(r ledger.Record) {
	kind := map[ledger.Kind]string{ledger.KindDecision: "decision", ledger.KindResult: "result"}[r.Kind]
	if kind == "" || r.ChangeID == "" {
		return
	}
	e.mu.Lock()
	delete(e.noted, kind+"\x00"+r.ChangeID)
	e.mu.Unlock()
}
