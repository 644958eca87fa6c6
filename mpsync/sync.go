package mpsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// Result is what happened to one change in a run.
type Result string

const (
	// ResultApplied: the change was approved and applied.
	ResultApplied Result = "applied"
	// ResultPending: the change waits for approval.
	ResultPending Result = "pending"
	// ResultDenied: the approver refused the change.
	ResultDenied Result = "denied"
	// ResultFailed: applying the change failed; Outcome.Error says why.
	ResultFailed Result = "failed"
	// ResultSkipped: the change was not attempted (blocked, kept, or waiting
	// for a change it depends on).
	ResultSkipped Result = "skipped"
)

// Outcome is a planned change and what happened to it.
type Outcome struct {
	Change
	Result Result `json:"result"`
	// Decision is the approver's answer, for changes that asked.
	Decision *Decision `json:"decision,omitempty"`
	// Err is why the change failed or was skipped.
	Err error `json:"-"`
}

// Report is the result of one run: the plan and what happened to each of its
// changes, in plan order.
type Report struct {
	Plan *Plan `json:"plan"`
	// Outcomes has one entry per change of Plan, in the same order.
	Outcomes []Outcome `json:"outcomes"`
	// Skipped lists rules that did not run and why (a rule disabled by an
	// override).
	Skipped  []RuleSkip `json:"skipped,omitempty"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
}

// RuleSkip is a rule a run left out, and why.
type RuleSkip struct {
	Rule   rules.Rule `json:"rule"`
	Reason string     `json:"reason"`
}

// Failed returns the outcomes whose result is [ResultFailed].
func (r *Report) Failed() []Outcome { return r.with(ResultFailed) }

// Pending returns the outcomes whose result is [ResultPending].
func (r *Report) Pending() []Outcome { return r.with(ResultPending) }

// Applied returns the outcomes whose result is [ResultApplied].
func (r *Report) Applied() []Outcome { return r.with(ResultApplied) }

func (r *Report) with(res Result) []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Result == res {
			out = append(out, o)
		}
	}
	return out
}

// Err returns an error joining every failed change's error, or nil.
func (r *Report) Err() error {
	var errs []error
	for _, o := range r.Failed() {
		errs = append(errs, o.Err)
	}
	return errors.Join(errs...)
}

// String renders the report as a table for people. The layout may change.
func (r *Report) String() string {
	b := new(strings.Builder)
	fmt.Fprintf(b, "run for workspace %s (catalog serial %d", r.Plan.WorkspaceID, r.Plan.CatalogSerial)
	if r.Plan.Stale {
		fmt.Fprintf(b, ", STALE since %s", r.Plan.CatalogFetchedAt.UTC().Format(time.RFC3339))
	}
	b.WriteString(")\n")
	for _, s := range r.Skipped {
		fmt.Fprintf(b, "  %s not run: %s\n", s.Rule.ShortName(), s.Reason)
	}
	changes := make([]Change, len(r.Outcomes))
	results := make([]Outcome, len(r.Outcomes))
	for i, o := range r.Outcomes {
		changes[i], results[i] = o.Change, o
	}
	writeChangeTable(b, changes, results)
	return b.String()
}

// Plan fetches the catalog and returns what a run of the given rules (all
// rules when none is given) would do. It changes nothing in the store; it may
// download packs to read their references.
func (e *Engine) Plan(ctx context.Context, rs ...rules.Rule) (*Plan, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if err := e.needWorkspace("plan"); err != nil {
		return nil, err
	}
	rs, err := normaliseRules(rs)
	if err != nil {
		return nil, err
	}
	p, fetched, err := e.plan(ctx, rs)
	closeAll(fetched)
	return p, err
}

// Sync runs the given rules (all rules when none is given) once, now: plan,
// ask the approver, apply what was approved, record what happened. A rule
// disabled by an override is skipped and the report says so. A store that was
// never connected is connected by its first Sync; a disconnected store
// refuses with a [*NotConnectedError].
//
// The returned error is for a run that could not happen (no catalog, store
// unreadable, disconnected); failures of single changes are in the report
// (see [Report.Err]).
func (e *Engine) Sync(ctx context.Context, rs ...rules.Rule) (*Report, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if err := e.needWorkspace("sync"); err != nil {
		return nil, err
	}
	rs, err := normaliseRules(rs)
	if err != nil {
		return nil, err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	return e.syncLocked(ctx, rs, false)
}

// RunNow runs one rule once, now, as its schedule would (a disabled rule is
// skipped); it is Sync for one rule.
func (e *Engine) RunNow(ctx context.Context, r rules.Rule) (*Report, error) {
	return e.Sync(ctx, r)
}

// syncLocked is Sync with runMu held. force runs rules even when disabled
// (Connect's first MPUpdate).
func (e *Engine) syncLocked(ctx context.Context, rs []rules.Rule, force bool) (*Report, error) {
	if err := e.ensureConnected(ctx); err != nil {
		return nil, err
	}
	started := e.clock.Now()
	var run []rules.Rule
	var skipped []RuleSkip
	for _, r := range rs {
		st, err := e.settings.Settings(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("sync: settings of %s: %w", r.ShortName(), err)
		}
		if !st.Enabled && !force {
			skipped = append(skipped, RuleSkip{Rule: r, Reason: "disabled by " + st.EnabledSource.String()})
			continue
		}
		run = append(run, r)
	}
	for _, r := range run {
		e.emit(Event{Kind: EventRunStarted, Rule: r})
	}
	rep := &Report{Started: started, Skipped: skipped}
	if len(run) == 0 {
		rep.Plan = &Plan{WorkspaceID: e.ws.ID(), CreatedAt: started}
		rep.Finished = e.clock.Now()
		return rep, nil
	}
	p, fetched, err := e.plan(ctx, run)
	defer closeAll(fetched)
	if err != nil {
		e.finishRuns(ctx, run, started, nil, err)
		return nil, err
	}
	rep.Plan = p
	rep.Outcomes = e.apply(ctx, p, fetched)
	rep.Finished = e.clock.Now()
	e.notePending(ctx, rep)
	e.finishRuns(ctx, run, started, rep, nil)
	return rep, nil
}

// plan fetches the catalog, diffs it and returns the plan with the readers
// of the packs it downloaded (the caller closes them).
func (e *Engine) plan(ctx context.Context, rs []rules.Rule) (*Plan, map[string]io.ReadCloser, error) {
	res, err := e.ws.Catalog(ctx)
	if err != nil {
		e.noteWorkspace(ctx, res, err)
		return nil, nil, fmt.Errorf("fetch catalog of workspace %s: %w", e.ws.ID(), err)
	}
	e.noteWorkspace(ctx, res, nil)
	if res.Stale {
		e.emit(Event{Kind: EventCatalogStale, Err: res.Err, Message: fmt.Sprintf("using the last-known catalog from %s", res.FetchedAt.UTC().Format(time.RFC3339))})
	}
	entries, err := e.store.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list store: %w", err)
	}
	in := planInput{rules: rs, workspaceID: e.ws.ID(), catalog: res.Catalog, stale: res.Stale, entries: entries, platform: e.platform}
	changes, targets := classify(in)
	fetched := map[string]io.ReadCloser{}
	in.manifests = e.readManifests(ctx, targets, fetched)
	p := &Plan{
		WorkspaceID: e.ws.ID(), Rules: rs, Stale: res.Stale, CatalogFetchedAt: res.FetchedAt,
		CreatedAt: e.clock.Now(), Changes: resolve(in, changes),
	}
	if res.Catalog != nil {
		p.CatalogSerial = res.Catalog.Serial
	}
	if res.Err != nil {
		p.CatalogError = res.Err.Error()
	}
	return p, fetched, nil
}

// readManifests returns the manifest of each target, from the cache or by
// downloading the pack (in parallel, bounded); downloaded readers are kept
// in fetched for the apply step.
func (e *Engine) readManifests(ctx context.Context, targets []catalog.Pack, fetched map[string]io.ReadCloser) map[string]manifestResult {
	out := map[string]manifestResult{}
	var todo []catalog.Pack
	e.mu.Lock()
	for _, p := range targets {
		if m, ok := e.manifests[p.SHA256]; ok {
			out[p.SHA256] = manifestResult{manifest: m}
		} else {
			todo = append(todo, p)
		}
	}
	e.mu.Unlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallel)
	for _, p := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rc, m, err := e.download(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			out[p.SHA256] = manifestResult{manifest: m, err: err}
			if err == nil {
				fetched[p.SHA256] = rc
			}
		}()
	}
	wg.Wait()
	e.mu.Lock()
	for sha, r := range out {
		if r.err == nil {
			e.manifests[sha] = r.manifest
		}
	}
	e.mu.Unlock()
	return out
}

// download fetches a pack and reads its manifest, returning a reader
// positioned at the start of the pack.
func (e *Engine) download(ctx context.Context, p catalog.Pack) (io.ReadCloser, pack.Manifest, error) {
	rc, err := e.ws.Fetch(ctx, p)
	if err != nil {
		return nil, pack.Manifest{}, err
	}
	m, err := pack.ReadManifest(rc)
	if err == nil {
		err = rewind(rc)
	}
	if err != nil {
		rc.Close()
		return nil, pack.Manifest{}, fmt.Errorf("pack %s %s: read manifest: %w", p.ID, p.Version, err)
	}
	if m.ID != p.ID || m.Version != p.Version {
		rc.Close()
		return nil, pack.Manifest{}, fmt.Errorf("pack %s %s: %w: document declares %s %s", p.ID, p.Version, pack.ErrIdentity, m.ID, m.Version)
	}
	return rc, m, nil
}

// rewind seeks a downloaded pack back to its start; readers that cannot seek
// are refetched at apply time instead.
func rewind(r io.Reader) error {
	s, ok := r.(io.Seeker)
	if !ok {
		return errNoSeek
	}
	_, err := s.Seek(0, io.SeekStart)
	return err
}

var errNoSeek = errors.New("reader cannot seek")

func closeAll(m map[string]io.ReadCloser) {
	for _, rc := range m {
		if rc != nil {
			rc.Close()
		}
	}
}

// apply asks the approver about each actionable change and applies what is
// approved, in plan order. A change whose dependency did not apply is
// skipped.
func (e *Engine) apply(ctx context.Context, p *Plan, fetched map[string]io.ReadCloser) []Outcome {
	outcomes := make([]Outcome, 0, len(p.Changes))
	results := map[string]Result{} // by pack id, for dependency checks
	for _, c := range p.Changes {
		o := e.applyOne(ctx, p, c, results, fetched)
		results[c.Pack] = o.Result
		outcomes = append(outcomes, o)
		if c.Action == ActionKeep || c.Action == ActionBlocked && o.Result != ResultFailed ||
			!e.noteChanged("result", c.ID, string(o.Result)) {
			// Nothing was asked or done, or the same result as last run: a
			// change pending for a week must not bury the ledger's real
			// entries under 2,016 copies.
			continue
		}
		e.record(ctx, Record{Kind: RecordResult, Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action,
			Pack: c.Pack, Version: target(c), SHA256: c.SHA256, Result: string(o.Result), By: "engine",
			Reason: c.Reason, Error: errString(o.Err)})
	}
	return outcomes
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

func (e *Engine) applyOne(ctx context.Context, p *Plan, c Change, results map[string]Result, fetched map[string]io.ReadCloser) Outcome {
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
	if dep := e.unappliedDependency(ctx, p, c, results); dep != "" {
		o.Result = ResultSkipped
		o.Err = &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "dependency", Err: errors.New(dep)}
		return o
	}
	d, err := e.decide(ctx, c)
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
	if err := e.applyChange(ctx, c, fetched); err != nil {
		o.Result, o.Err = ResultFailed, err
		e.emit(Event{Kind: EventChangeFailed, Rule: c.Rule, Change: &c, Err: err})
		return o
	}
	o.Result = ResultApplied
	e.emit(Event{Kind: EventChangeApplied, Rule: c.Rule, Change: &c})
	return o
}

// unappliedDependency names a change of this run that c needs and that was
// not applied: for an import, a planned target it references; for a removal,
// a planned removal of a pack that references it.
func (e *Engine) unappliedDependency(ctx context.Context, p *Plan, c Change, results map[string]Result) string {
	for _, other := range p.Changes {
		res, done := results[other.Pack]
		if !done || res == ResultApplied {
			continue
		}
		switch {
		case c.isTarget() && other.isTarget():
			e.mu.Lock()
			m := e.manifests[c.SHA256]
			e.mu.Unlock()
			if _, refs := m.Reference(other.Pack); refs {
				return fmt.Sprintf("waits for %s %s (%s)", other.Pack, other.To, res)
			}
		case c.Action == ActionRemove && other.Action == ActionRemove:
			if ent, err := e.store.Get(ctx, other.Pack); err == nil {
				if _, refs := ent.Manifest().Reference(c.Pack); refs {
					return fmt.Sprintf("waits for the removal of %s, which references it (%s)", other.Pack, res)
				}
			}
		}
	}
	return ""
}

func (e *Engine) decide(ctx context.Context, c Change) (Decision, error) {
	d, err := e.approver.Decide(ctx, ApprovalRequest{Change: c, Group: e.group.Name, WorkspaceID: e.ws.ID(), Now: e.clock.Now()})
	if err != nil {
		return d, err
	}
	switch d.Verdict {
	case Approve, Deny, Defer:
	default:
		return d, fmt.Errorf("approver returned verdict %q (want approve, deny or defer)", d.Verdict)
	}
	if e.noteChanged("decision", c.ID, string(d.Verdict)+"\x00"+d.By+"\x00"+d.Reason) {
		e.record(ctx, Record{Kind: RecordDecision, Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action, Pack: c.Pack,
			Version: target(c), SHA256: c.SHA256, Verdict: d.Verdict, By: d.By, Reason: d.Reason})
	}
	return d, nil
}

func (e *Engine) applyChange(ctx context.Context, c Change, fetched map[string]io.ReadCloser) error {
	if c.Action == ActionRemove {
		if err := e.store.Remove(ctx, c.Pack); err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "remove", Err: err}
		}
		return nil
	}
	rc := fetched[c.SHA256]
	delete(fetched, c.SHA256)
	if rc == nil {
		var err error
		rc, _, err = e.download(ctx, catalogEntry(c))
		if err != nil {
			return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "download", Err: err}
		}
	}
	defer rc.Close()
	req := store.ImportRequest{
		ID: c.Pack, Version: c.To, SHA256: c.SHA256, Size: c.Size, Time: e.clock.Now(),
		Provenance: store.Provenance{Owner: store.OwnerWorkspace, WorkspaceID: e.ws.ID(), Rule: string(c.Rule), Solution: c.Solution},
	}
	if _, err := e.store.Import(ctx, req, rc); err != nil {
		return &ChangeError{ChangeID: c.ID, Pack: c.Pack, Step: "import", Err: err}
	}
	return nil
}

func catalogEntry(c Change) catalog.Pack {
	ch := rules.Rule(c.Rule).Channel()
	return catalog.Pack{ID: c.Pack, Version: c.To, Channel: ch, Solution: c.Solution, SHA256: c.SHA256, Size: c.Size, Href: c.Href}
}

// record appends to the ledger, logging (not failing the run) when the
// ledger cannot be written: the store change already happened.
func (e *Engine) record(ctx context.Context, r Record) {
	if r.Time.IsZero() {
		r.Time = e.clock.Now()
	}
	r.Group = e.group.Name
	if r.WorkspaceID == "" && e.ws != nil {
		r.WorkspaceID = e.ws.ID()
	}
	if err := e.ledger.Append(ctx, r); err != nil {
		e.log.Error("ledger append failed", "kind", r.Kind, "pack", r.Pack, "err", err)
	}
}

// Rules returns the rules that a report's plan covers, in run order.
func (r *Report) Rules() []rules.Rule { return slices.Clone(r.Plan.Rules) }

// noteChanged reports whether value differs from the last value this
// engine noted for kind and change id, and notes it: decisions and results
// are recorded when they first happen and when they change, not on every
// run that asks again.
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
