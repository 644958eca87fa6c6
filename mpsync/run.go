package mpsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// Plan fetches the catalog and returns what a run of the given rules (all
// rules when none is given) would do. It changes no pack (it only records
// what it learned of the service, as Status shows); it may download packs to
// read their references. It works on a disconnected store.
func (e *Engine) Plan(ctx context.Context, rs ...rules.Rule) (*Plan, error) {
	rs, done, err := e.begin("plan", rs)
	if err != nil {
		return nil, err
	}
	defer done()
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
	rs, done, err := e.begin("sync", rs)
	if err != nil {
		return nil, err
	}
	defer done()
	e.runMu.Lock()
	defer e.runMu.Unlock()
	return e.syncLocked(ctx, rs, runOptions{})
}

// begin checks that op can run on the rules asked for and puts them in run
// order; the caller calls done when the operation ends (see [Engine.enter]).
func (e *Engine) begin(op string, rs []rules.Rule) (_ []rules.Rule, done func(), err error) {
	if err := e.needWorkspace(op); err != nil {
		return nil, nil, err
	}
	if rs, err = normaliseRules(rs); err != nil {
		return nil, nil, err
	}
	if done, err = e.enter(); err != nil {
		return nil, nil, err
	}
	return rs, done, nil
}

// runOptions say how a run was started.
type runOptions struct {
	// force runs rules even when disabled (Connect's first MPUpdate).
	force bool
	// leased is set for scheduled runs under a Lease: the lease is renewed
	// before every change, and the run stops changing the store if it is
	// lost.
	leased bool
	// confirmRemovals lets the run's removals past the removal guard
	// (SwitchWorkspace: the operator chose the new catalog).
	confirmRemovals bool
}

// runState is what one run carries from planning to applying: the
// workspace it talks to (read once, so a concurrent switch cannot mix two
// workspaces in one run) and the packs it downloaded.
type runState struct {
	ws      Workspace
	leased  bool
	mu      sync.Mutex
	fetched map[string]io.ReadCloser // by sha256, positioned at the start
	// unreadable holds, by sha256, why planning could not download or read
	// a pack (the plan keeps only the text), so that the change's failure
	// keeps the error's kind (ErrUnavailable, a TimeoutError).
	unreadable map[string]error
	results    map[string]Result // by pack id, for dependency checks

	// What the plan was made from, for the next run's idle check (see
	// idleRun). fetched0 says that catalog and catalogErr hold the answer
	// of the run's one catalog request.
	fetched0   bool
	catalog    *CatalogResult
	catalogErr error
	gen        uint64 // the store's generation before listing (hasGen)
	hasGen     bool
	version    uint64 // the approver's ApprovalVersion (hasVersion)
	hasVersion bool
	entries    []storage.Entry // the listing planned from (listed)
	listed     bool

	// deferNote, set by a run of the rules, keeps what the catalog request
	// learned of the service (noted) for the run's one write of the run
	// history at its end (finishRuns), instead of a second write per tick.
	deferNote bool
	noted     func(*runHistory)
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
	// Every request has its own limits (the workspace client's); this one
	// bounds the run whole, whatever its Workspace, Store or Approver does.
	// What the run did is recorded even when its context ended.
	record := context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeoutCause(ctx, e.runTimeout,
		fmt.Errorf("%w: the run of %v did not finish within %s (Options.RunTimeout)", ErrRunTimeout, rs, e.runTimeout))
	defer cancel()
	first, err := e.ensureConnected(ctx)
	if err != nil {
		return nil, err
	}
	started := e.clock.Now()
	var rulesRun []rules.Rule
	var skipped []RuleSkip
	settings := make([]rules.Settings, 0, len(rs))
	for _, r := range rs {
		st, err := e.settings.Settings(ctx, r)
		if err != nil {
			e.idle = nil
			return nil, fmt.Errorf("sync: settings of %s: %w", r.ShortName(), err)
		}
		settings = append(settings, st)
		if !st.Enabled && !opts.force {
			skipped = append(skipped, RuleSkip{Rule: r, Reason: "disabled by " + st.EnabledSource.String()})
			continue
		}
		rulesRun = append(rulesRun, r)
	}
	run := e.newRun(opts.leased)
	run.deferNote = true
	defer run.close()
	for _, r := range rulesRun {
		e.emit(event.Event{Kind: event.RunStarted, Rule: r})
	}
	rep := &Report{Started: started, Skipped: skipped}
	if len(rulesRun) == 0 {
		e.idle = nil
		rep.Plan = &Plan{WorkspaceID: run.ws.ID(), CreatedAt: started}
		rep.Finished = e.clock.Now()
		return rep, nil
	}
	if first || opts.force {
		e.idle = nil
	} else if e.idleRun(ctx, run, rulesRun, settings, rep) {
		e.finishRuns(record, rulesRun, started, rep, nil, run.noted)
		return rep, nil
	}
	p, err := e.plan(ctx, run, rulesRun)
	if err == nil && first {
		err = e.connectFirst(ctx, p)
	}
	if err != nil {
		err = withTimeoutCause(ctx, err)
		e.finishRuns(record, rulesRun, started, nil, err, run.noted)
		return nil, err
	}
	e.emit(event.Event{Kind: event.PlanReady, Plan: p})
	rep.Plan = p
	rep.Outcomes = e.apply(ctx, run, p, e.removalHold(p, run.entries, opts.confirmRemovals))
	for i := range rep.Outcomes {
		rep.Outcomes[i].Err = withTimeoutCause(ctx, rep.Outcomes[i].Err)
	}
	rep.Finished = e.clock.Now()
	e.notePending(record, rep)
	e.finishRuns(record, rulesRun, started, rep, nil, run.noted)
	if !first {
		e.idle = e.idleRecord(run, rulesRun, settings, p, rep.Outcomes)
	}
	return rep, nil
}

// withTimeoutCause names Options.RunTimeout in an error that the run's
// deadline caused: a bare "context deadline exceeded" says neither which
// limit nor which run.
func withTimeoutCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if err == nil || !errors.Is(cause, ErrRunTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrRunTimeout) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// plan fetches the catalog and diffs it; the packs it downloads stay in run
// for the apply step.
func (e *Engine) plan(ctx context.Context, run *runState, rs []rules.Rule) (*Plan, error) {
	var res CatalogResult
	var err error
	if run.fetched0 {
		// The idle check asked already: one catalog request per run.
		res, err = *run.catalog, run.catalogErr
	} else {
		res, err = run.ws.Catalog(ctx)
		run.catalog, run.catalogErr, run.fetched0 = &res, err, true
	}
	if err == nil {
		err = e.checkSerial(ctx, res)
	}
	if err != nil {
		e.noteWorkspaceIn(ctx, run, res, err)
		return nil, fmt.Errorf("fetch catalog of workspace %s: %w", run.ws.ID(), err)
	}
	e.noteWorkspaceIn(ctx, run, res, nil)
	if res.Stale {
		e.emit(event.Event{Kind: event.CatalogStale, Err: res.Err, Message: fmt.Sprintf("using the last-known catalog from %s", res.FetchedAt.UTC().Format(time.RFC3339))})
	}
	e.snapshot(ctx, run) // before listing: a change after it is seen next time
	entries, err := e.store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list store: %w", err)
	}
	run.entries, run.listed = entries, true
	in := plan.Input{Rules: rs, WorkspaceID: run.ws.ID(), Catalog: res.Catalog, Stale: res.Stale, Entries: entries, Platform: e.platform, PlatformName: e.platformName}
	changes, targets := plan.Classify(in)
	in.Manifests = e.readManifests(ctx, run, targets, res.Stale)
	run.mu.Lock()
	for sha, mr := range in.Manifests {
		if mr.Err != nil {
			if run.unreadable == nil {
				run.unreadable = map[string]error{}
			}
			run.unreadable[sha] = mr.Err
		}
	}
	run.mu.Unlock()
	p := &Plan{
		WorkspaceID: run.ws.ID(), Rules: rs, Stale: res.Stale, CatalogFetchedAt: res.FetchedAt,
		CreatedAt: e.clock.Now(), Changes: plan.Resolve(in, changes),
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
//
// When the catalog is stale (the service did not answer its request, after
// the client's retries), packs the same service serves are not tried, and of
// packs served by another host one per host is tried before the others
// ([probeStale]). Each download retries as the catalog did, so trying them
// all cost a retry cycle per few packs: a stalled plan, minutes long with
// many pending changes, to learn what the catalog request had said.
func (e *Engine) readManifests(ctx context.Context, run *runState, targets []catalog.Pack, stale bool) map[string]plan.ManifestResult {
	out := map[string]plan.ManifestResult{}
	var todo []catalog.Pack
	e.mu.Lock()
	for _, p := range targets {
		if m, ok := e.manifests[p.SHA256]; ok {
			out[p.SHA256] = plan.ManifestResult{Manifest: m}
		} else {
			todo = append(todo, p)
		}
	}
	e.mu.Unlock()
	if stale {
		todo = e.probeStale(ctx, run, todo, out)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.parallel)
	for _, p := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e.readManifest(ctx, run, p, out, &mu)
		}()
	}
	wg.Wait()
	e.mu.Lock()
	for sha, r := range out {
		if r.Err == nil {
			e.manifests[sha] = r.Manifest
		}
	}
	e.mu.Unlock()
	return out
}

// probeStale decides, for a run whose catalog request the service did not
// answer, which packs are still worth a download. A pack at an href without
// a host is served by that same service (hrefs resolve against the
// service's URL): it is not tried. Packs at hrefs naming a host (a CDN,
// perhaps) are grouped by host, and one of each group is tried first; when
// it is unavailable too, the rest of its group is not. It records the packs
// it settles in out and returns the ones left to download.
func (e *Engine) probeStale(ctx context.Context, run *runState, todo []catalog.Pack, out map[string]plan.ManifestResult) []catalog.Pack {
	skip := func(p catalog.Pack, why string) {
		out[p.SHA256] = plan.ManifestResult{Err: fmt.Errorf("%w: not downloaded: %s", ErrUnavailable, why)}
	}
	byHost := map[string][]catalog.Pack{}
	var hosts []string
	for _, p := range todo {
		u, err := url.Parse(p.Href)
		if err == nil && u.Host == "" {
			skip(p, "the service did not answer the catalog request")
			continue
		}
		host := p.Href // unparsable: a group of its own, its download says why
		if err == nil {
			host = u.Host
		}
		if _, ok := byHost[host]; !ok {
			hosts = append(hosts, host)
		}
		byHost[host] = append(byHost[host], p)
	}
	var left []catalog.Pack
	for _, host := range hosts {
		group := byHost[host]
		if len(group) < 2 {
			left = append(left, group...)
			continue
		}
		first := group[0]
		e.readManifest(ctx, run, first, out, nil)
		if !errors.Is(out[first.SHA256].Err, ErrUnavailable) {
			left = append(left, group[1:]...)
			continue
		}
		for _, p := range group[1:] {
			skip(p, "the service did not answer the catalog request, nor did "+host+" answer for pack "+first.ID)
		}
	}
	return left
}

// readManifest downloads p, records its manifest or error in out (under mu,
// when not nil) and keeps a rewindable reader in run for the apply step.
func (e *Engine) readManifest(ctx context.Context, run *runState, p catalog.Pack, out map[string]plan.ManifestResult, mu *sync.Mutex) {
	rc, m, err := e.safeDownload(ctx, run.ws, p)
	if mu != nil {
		mu.Lock()
	}
	out[p.SHA256] = plan.ManifestResult{Manifest: m, Err: err}
	if mu != nil {
		mu.Unlock()
	}
	if rc != nil {
		run.mu.Lock()
		run.fetched[p.SHA256] = rc
		run.mu.Unlock()
	}
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

// checkSerial refuses a catalog whose serial is lower than one already
// applied for the same workspace (docs/protocol.md: a replayed or rolled-back
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
	if err := catalog.CheckSerial(res.Catalog, h.LastCatalogSerial, h.WorkspaceID, ""); err != nil {
		return fmt.Errorf("%w, already applied for workspace %s (a replayed or rolled-back catalog)", err, h.WorkspaceID)
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
