package mpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
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
	// Err is why the change failed or was skipped; in JSON it is the
	// "error" string.
	Err error `json:"-"`
}

// MarshalJSON encodes the outcome with its error as the "error" string.
func (o Outcome) MarshalJSON() ([]byte, error) {
	type plain Outcome // without this method
	p := plain(o)
	if o.Err != nil {
		p.Change.Error = o.Err.Error()
	}
	return json.Marshal(p)
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
// rules when none is given) would do. It changes no pack (it only records
// what it learned of the service, as Status shows); it may download packs to
// read their references. It works on a disconnected store.
func (e *Engine) Plan(ctx context.Context, rs ...rules.Rule) (*Plan, error) {
	rs, err := e.begin("plan", rs)
	if err != nil {
		return nil, err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	run := e.newRun(false)
	defer run.close()
	return e.plan(ctx, run, rs)
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
	rs, err := e.begin("sync", rs)
	if err != nil {
		return nil, err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	return e.syncLocked(ctx, rs, runOptions{})
}

// begin checks that op can run on the rules asked for and puts them in run
// order.
func (e *Engine) begin(op string, rs []rules.Rule) ([]rules.Rule, error) {
	if err := e.checkOpen(); err != nil {
		return nil, err
	}
	if err := e.needWorkspace(op); err != nil {
		return nil, err
	}
	return normaliseRules(rs)
}

// RunNow runs one rule once, now, as its schedule would (a disabled rule is
// skipped); it is Sync for one rule.
func (e *Engine) RunNow(ctx context.Context, r rules.Rule) (*Report, error) {
	return e.Sync(ctx, r)
}

// runOptions say how a run was started.
type runOptions struct {
	// force runs rules even when disabled (Connect's first MPUpdate).
	force bool
	// leased is set for scheduled runs under a Lease: the lease is renewed
	// before every change, and the run stops changing the store if it is
	// lost.
	leased bool
}

// runState is what one run carries from planning to applying: the
// workspace it talks to (read once, so a concurrent switch cannot mix two
// workspaces in one run) and the packs it downloaded.
type runState struct {
	ws      Workspace
	leased  bool
	mu      sync.Mutex
	fetched map[string]io.ReadCloser // by sha256, positioned at the start
	results map[string]Result        // by pack id, for dependency checks
}

func (e *Engine) newRun(leased bool) *runState {
	return &runState{ws: e.workspace(), leased: leased, fetched: map[string]io.ReadCloser{}, results: map[string]Result{}}
}

// take removes and returns the downloaded reader for sha, if any.
func (r *runState) take(sha string) io.ReadCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc := r.fetched[sha]
	delete(r.fetched, sha)
	return rc
}

func (r *runState) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sha, rc := range r.fetched {
		rc.Close()
		delete(r.fetched, sha)
	}
}

// syncLocked is Sync with runMu held.
func (e *Engine) syncLocked(ctx context.Context, rs []rules.Rule, opts runOptions) (*Report, error) {
	first, err := e.ensureConnected(ctx)
	if err != nil {
		return nil, err
	}
	started := e.clock.Now()
	var rulesRun []rules.Rule
	var skipped []RuleSkip
	for _, r := range rs {
		st, err := e.settings.Settings(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("sync: settings of %s: %w", r.ShortName(), err)
		}
		if !st.Enabled && !opts.force {
			skipped = append(skipped, RuleSkip{Rule: r, Reason: "disabled by " + st.EnabledSource.String()})
			continue
		}
		rulesRun = append(rulesRun, r)
	}
	run := e.newRun(opts.leased)
	defer run.close()
	for _, r := range rulesRun {
		e.emit(Event{Kind: EventRunStarted, Rule: r})
	}
	rep := &Report{Started: started, Skipped: skipped}
	if len(rulesRun) == 0 {
		rep.Plan = &Plan{WorkspaceID: run.ws.ID(), CreatedAt: started}
		rep.Finished = e.clock.Now()
		return rep, nil
	}
	p, err := e.plan(ctx, run, rulesRun)
	if err == nil && first {
		err = e.connectFirst(ctx, p)
	}
	if err != nil {
		e.finishRuns(ctx, rulesRun, started, nil, err)
		return nil, err
	}
	e.emit(Event{Kind: EventPlanReady, Plan: p})
	rep.Plan = p
	rep.Outcomes = e.apply(ctx, run, p)
	rep.Finished = e.clock.Now()
	e.notePending(ctx, rep)
	e.finishRuns(ctx, rulesRun, started, rep, nil)
	return rep, nil
}

// plan fetches the catalog and diffs it; the packs it downloads stay in run
// for the apply step.
func (e *Engine) plan(ctx context.Context, run *runState, rs []rules.Rule) (*Plan, error) {
	res, err := run.ws.Catalog(ctx)
	if err == nil {
		err = e.checkSerial(ctx, res)
	}
	if err != nil {
		e.noteWorkspace(ctx, res, err)
		return nil, fmt.Errorf("fetch catalog of workspace %s: %w", run.ws.ID(), err)
	}
	e.noteWorkspace(ctx, res, nil)
	if res.Stale {
		e.emit(Event{Kind: EventCatalogStale, Err: res.Err, Message: fmt.Sprintf("using the last-known catalog from %s", res.FetchedAt.UTC().Format(time.RFC3339))})
	}
	entries, err := e.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list store: %w", err)
	}
	in := planInput{rules: rs, workspaceID: run.ws.ID(), catalog: res.Catalog, stale: res.Stale, entries: entries, platform: e.platform}
	changes, targets := classify(in)
	in.manifests = e.readManifests(ctx, run, targets)
	p := &Plan{
		WorkspaceID: run.ws.ID(), Rules: rs, Stale: res.Stale, CatalogFetchedAt: res.FetchedAt,
		CreatedAt: e.clock.Now(), Changes: resolve(in, changes),
	}
	if res.Catalog != nil {
		p.CatalogSerial = res.Catalog.Serial
	}
	if res.Err != nil {
		p.CatalogError = res.Err.Error()
	}
	return p, nil
}

// readManifests returns the manifest of each target, from the cache or by
// downloading the pack (in parallel, bounded); downloaded readers that can
// be rewound are kept in run for the apply step.
func (e *Engine) readManifests(ctx context.Context, run *runState, targets []catalog.Pack) map[string]manifestResult {
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
			rc, m, err := e.safeDownload(ctx, run.ws, p)
			mu.Lock()
			out[p.SHA256] = manifestResult{manifest: m, err: err}
			mu.Unlock()
			if rc != nil {
				run.mu.Lock()
				run.fetched[p.SHA256] = rc
				run.mu.Unlock()
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

// safeDownload is download on a worker goroutine: a panic in the workspace
// (a user's implementation) becomes that pack's error instead of ending the
// process.
func (e *Engine) safeDownload(ctx context.Context, ws Workspace, p catalog.Pack) (rc io.ReadCloser, m pack.Manifest, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("pack download panicked", "pack", p.ID, "panic", r, "stack", string(debug.Stack()))
			rc, err = nil, fmt.Errorf("pack %s %s: download panicked: %v", p.ID, p.Version, r)
		}
	}()
	return e.download(ctx, ws, p)
}

// download fetches a pack and reads its manifest. It returns the reader
// rewound to the start for the apply step, or nil when the reader cannot
// seek (the apply step then fetches the pack again).
func (e *Engine) download(ctx context.Context, ws Workspace, p catalog.Pack) (io.ReadCloser, pack.Manifest, error) {
	rc, err := ws.Fetch(ctx, p)
	if err != nil {
		return nil, pack.Manifest{}, err
	}
	m, err := pack.ReadManifest(rc)
	if err != nil {
		rc.Close()
		return nil, pack.Manifest{}, fmt.Errorf("pack %s %s: read manifest: %w", p.ID, p.Version, err)
	}
	if m.ID != p.ID || m.Version != p.Version {
		rc.Close()
		return nil, pack.Manifest{}, fmt.Errorf("pack %s %s: %w: document declares %s %s", p.ID, p.Version, pack.ErrIdentity, m.ID, m.Version)
	}
	if s, ok := rc.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err == nil {
			return rc, m, nil
		}
	}
	rc.Close()
	return nil, m, nil
}

// apply asks the approver about each actionable change and applies what is
// approved, in plan order. A change whose dependency did not apply is
// skipped.
func (e *Engine) apply(ctx context.Context, run *runState, p *Plan) []Outcome {
	outcomes := make([]Outcome, 0, len(p.Changes))
	for _, c := range p.Changes {
		o := e.applyOne(ctx, run, p, c)
		run.results[c.Pack] = o.Result
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

func (e *Engine) applyOne(ctx context.Context, run *runState, p *Plan, c Change) Outcome {
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
	if dep := e.unmetDependency(ctx, run, p, c); dep != "" {
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
	if err := e.applyChange(ctx, run, c); err != nil {
		o.Result, o.Err = ResultFailed, err
		e.emit(Event{Kind: EventChangeFailed, Rule: c.Rule, Change: &c, Err: err})
		return o
	}
	o.Result = ResultApplied
	e.emit(Event{Kind: EventChangeApplied, Rule: c.Rule, Change: &c})
	return o
}

// unmetDependency names what c needs that this run did not bring about.
// An import or upgrade needs every pack of the plan it references to be
// applied, or to be in the store at the referenced version already. A
// removal needs no pack that stays in the store to reference it: this is
// checked against the store as it is now, so an upgrade that would have
// dropped the reference but was denied keeps the pack.
func (e *Engine) unmetDependency(ctx context.Context, run *runState, p *Plan, c Change) string {
	if c.Action == ActionRemove {
		entries, err := e.store.List(ctx)
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
		if other.isTarget() {
			if res := run.results[other.Pack]; res != ResultApplied {
				return fmt.Sprintf("waits for %s %s (%s)", other.Pack, other.To, resultText(res))
			}
			continue
		}
		if en, err := e.store.Get(ctx, ref.ID); err != nil || en.Version.Less(ref.Version) {
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
	if e.noteChanged("decision", c.ID, string(d.Verdict)+"\x00"+d.By+"\x00"+d.Reason) {
		e.record(ctx, Record{Kind: RecordDecision, Rule: string(c.Rule), ChangeID: c.ID, Action: c.Action, Pack: c.Pack,
			Version: target(c), SHA256: c.SHA256, Verdict: d.Verdict, By: d.By, Reason: d.Reason})
	}
	return d, nil
}

func (e *Engine) applyChange(ctx context.Context, run *runState, c Change) error {
	if c.Action == ActionRemove {
		if err := e.store.Remove(ctx, c.Pack); err != nil {
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
	req := store.ImportRequest{
		ID: c.Pack, Version: c.To, SHA256: c.SHA256, Size: c.Size, Time: e.clock.Now(),
		Provenance: store.Provenance{Owner: store.OwnerWorkspace, WorkspaceID: run.ws.ID(), Rule: string(c.Rule), Solution: c.Solution},
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
	if ws := e.workspace(); r.WorkspaceID == "" && ws != nil {
		r.WorkspaceID = ws.ID()
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

// checkSerial refuses a catalog whose serial is lower than one already
// applied for the same workspace (PROTOCOL.md: a replayed or rolled-back
// catalog), unless Options.AcceptLowerSerial. The workspace client checks
// against the catalog it caches; this check holds even when that cache is
// lost, since the store remembers the serial.
func (e *Engine) checkSerial(ctx context.Context, res CatalogResult) error {
	if res.Catalog == nil || e.acceptLowerSerial {
		return nil
	}
	hist, err := e.readRuns(ctx)
	if err != nil {
		return nil // unreadable history: nothing to compare with
	}
	h := hist.Workspace
	if h.WorkspaceID == res.Catalog.WorkspaceID && res.Catalog.Serial < h.LastCatalogSerial {
		return fmt.Errorf("%w: serial %d is lower than %d, already applied for workspace %s (a replayed or rolled-back catalog)",
			ErrSerialRegressed, res.Catalog.Serial, h.LastCatalogSerial, h.WorkspaceID)
	}
	return nil
}

// connectFirst binds a never-connected store to the workspace once its
// first plan came from a fresh catalog: the service answered with the key.
func (e *Engine) connectFirst(ctx context.Context, p *Plan) error {
	if p.Stale {
		return fmt.Errorf("first sync connects the store to workspace %s, which needs the service: %s", p.WorkspaceID, p.CatalogError)
	}
	return e.connect(ctx, p.WorkspaceID)
}
