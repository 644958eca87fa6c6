package mpsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// genStore is an in-memory store with a generation ([storage.Generationer]):
// the counter moves on every change to its packs, through the store or a
// batch. It shows what a store needs for the idle shortcut to skip the
// listing (the directory store would keep the counter in its database).
type genStore struct {
	*store.Memory
	gen atomic.Uint64
}

func newGenStore() *genStore { return &genStore{Memory: store.NewMemory()} }

func (s *genStore) Generation(context.Context) (uint64, error) { return s.gen.Load(), nil }

func (s *genStore) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	defer s.gen.Add(1)
	return s.Memory.Import(ctx, req, r)
}

func (s *genStore) Remove(ctx context.Context, id string) error {
	defer s.gen.Add(1)
	return s.Memory.Remove(ctx, id)
}

func (s *genStore) Rollback(ctx context.Context, id string) (storage.Entry, error) {
	defer s.gen.Add(1)
	return s.Memory.Rollback(ctx, id)
}

func (s *genStore) Batch(ctx context.Context) (storage.Batch, error) {
	b, err := s.Memory.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return &genBatch{Batch: b, s: s}, nil
}

// genBatch moves the generation when it commits changes. The engine
// stages imports from several goroutines (storage.Batch's contract), so
// staged is atomic.
type genBatch struct {
	storage.Batch
	s      *genStore
	staged atomic.Bool
}

func (b *genBatch) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	b.staged.Store(true)
	return b.Batch.Import(ctx, req, r)
}

func (b *genBatch) Remove(ctx context.Context, id string) error {
	b.staged.Store(true)
	return b.Batch.Remove(ctx, id)
}

func (b *genBatch) Commit(ctx context.Context) error {
	if b.staged.Load() {
		defer b.s.gen.Add(1)
	}
	return b.Batch.Commit(ctx)
}

// notModWS answers 304 (NotModified, the catalog held from before) while
// the fake workspace's serial is unchanged, as the workspace client does.
type notModWS struct {
	*fakeWS
	mu   sync.Mutex
	last *mpsync.CatalogResult
}

func (w *notModWS) Catalog(ctx context.Context) (mpsync.CatalogResult, error) {
	w.fakeWS.mu.Lock()
	etag, stale := fmt.Sprint(w.fakeWS.cat.Serial), w.fakeWS.stale
	w.fakeWS.mu.Unlock()
	w.mu.Lock()
	if w.last != nil && w.last.ETag == etag && !stale {
		// Unchanged: the held catalog, without copying it (a server's 304).
		held := *w.last
		w.mu.Unlock()
		held.NotModified = true
		return held, nil
	}
	w.mu.Unlock()
	res, err := w.fakeWS.Catalog(ctx)
	if err != nil || res.Stale {
		return res, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last != nil && w.last.ETag == res.ETag {
		held := *w.last
		held.NotModified = true
		return held, nil
	}
	w.last = &res
	return res, nil
}

// testApprover defers some packs until a time (NotBefore), holds others for
// a person (a queue with a version), denies a few and approves the rest.
type testApprover struct {
	mu       sync.Mutex
	approved map[string]bool // change ids a person approved
	version  uint64
	until    time.Time // deferrals of the window kind end here
}

func (a *testApprover) ApprovalVersion(context.Context) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.version, nil
}

func (a *testApprover) approve(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.approved[id] = true
	a.version++
}

func (a *testApprover) Decide(_ context.Context, req approval.Request) (approval.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	kind := map[string]int{advisorID: 2, internalID: 0, alertID: 1, "Microsoft.IntelligencePacks.Updates": 0,
		"Microsoft.IntelligencePacks.Log": 0, "Contoso.X": 1}[req.Change.Pack]
	switch kind {
	case 0:
		if req.Now.Before(a.until) {
			return approval.Decision{Verdict: plan.Defer, By: "window", Reason: "closed", NotBefore: a.until}, nil
		}
	case 1:
		if !a.approved[req.Change.ID] {
			return approval.Decision{Verdict: plan.Defer, By: "manual", Reason: "waiting for " + req.Change.ID}, nil
		}
	case 2:
		if req.Change.Action == plan.ActionRemove {
			return approval.Decision{Verdict: plan.Deny, By: "policy", Reason: "no removals"}, nil
		}
	}
	return approval.Decision{Verdict: plan.Approve, By: "auto"}, nil
}

// world is one engine with its own workspace, store, clock and approver;
// the test applies the same changes to every world.
type world struct {
	name    string
	ws      *notModWS
	store   mpsync.Store
	clock   *mpsynctest.ManualClock
	appr    *testApprover
	enabled map[rules.Rule]bool
	e       *mpsync.Engine
	reused  int
}

func newWorld(t *testing.T, name string, s mpsync.Store, reuse bool) *world {
	w := &world{name: name, ws: &notModWS{fakeWS: newFakeWS("ws-1")}, store: s, clock: mpsynctest.NewManualClock(t0),
		appr:    &testApprover{approved: map[string]bool{}, until: t0.Add(3 * time.Hour)},
		enabled: map[rules.Rule]bool{rules.MPUpdate: true, rules.GetIntelligencePacks: true}}
	settings := rules.SettingsFunc(func(_ context.Context, r rules.Rule) (rules.Settings, error) {
		return rules.Settings{Rule: r, Enabled: w.enabled[r], Frequency: r.DefaultFrequency()}, nil
	})
	w.e = newFakeEngine(t, w.ws, s, &mpsync.Options{Clock: w.clock, Approver: w.appr, Settings: settings})
	if !reuse {
		mpsync.DisableIdleReuse(w.e)
	}
	return w
}

// TestIdleTickMatchesFullPlan runs a seeded random sequence of catalog,
// store, settings, approval and clock changes against three engines: one
// reusing its plan with a store that has a generation, one reusing it with
// a store that must be listed, and one planning every run afresh. Every
// run's plan and outcomes must be the same, and so must the stores.
func TestIdleTickMatchesFullPlan(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			worlds := []*world{
				newWorld(t, "reuse, generation", newGenStore(), true),
				newWorld(t, "reuse, listing", store.NewMemory(), true),
				newWorld(t, "full plan", store.NewMemory(), false),
			}
			rnd := rand.New(rand.NewPCG(seed, 16))
			ctx := context.Background()
			ids := []string{advisorID, internalID, alertID, "Microsoft.IntelligencePacks.Updates", "Microsoft.IntelligencePacks.Log", "Contoso.X"}
			for _, w := range worlds {
				w.ws.put(advisorID, "7.1.0.0", "", rref("System.Library", "7.5.8501.0"))
				w.ws.solution("Alerts", true)
				w.ws.put(alertID, "7.2.0.0", "Alerts", rref(advisorID, "7.1.0.0"))
			}
			ops := 0
			for step := range 300 {
				// Most steps change nothing: the idle tick.
				var op func(w *world)
				switch k := rnd.IntN(40); {
				case k <= 1:
					id, ver := ids[rnd.IntN(len(ids))], fmt.Sprintf("7.%d.0.0", 1+rnd.IntN(4))
					sol := []string{"", "Alerts", "Off"}[rnd.IntN(3)]
					refs := []string{advisorID, alertID, internalID}
					r := rref(refs[rnd.IntN(len(refs))], "7.1.0.0")
					op = func(w *world) { w.ws.put(id, ver, sol, r) }
				case k == 8:
					id := ids[rnd.IntN(len(ids))]
					op = func(w *world) { w.ws.drop(id) }
				case k == 2:
					on := rnd.IntN(2) == 0
					sol := []string{"Alerts", "Off"}[rnd.IntN(2)]
					op = func(w *world) { w.ws.solution(sol, on) }
				case k == 3:
					r := rules.All()[rnd.IntN(2)]
					on := rnd.IntN(3) != 0
					op = func(w *world) { w.enabled[r] = on }
				case k == 4:
					// Behind the engine's back: an operator's pack, or a
					// removal by hand.
					id := ids[rnd.IntN(len(ids))]
					if rnd.IntN(2) == 0 {
						op = func(w *world) { _ = w.store.Remove(ctx, id) }
					} else {
						b := mpsynctest.Pack(id, "9.0.0.0")
						op = func(w *world) {
							_, err := w.store.Import(ctx, storage.ImportRequest{ID: id, Time: t0}, bytesReader(b))
							require.NoError(t, err)
						}
					}
				case k == 5:
					// A person approves what waits.
					op = func(w *world) {
						pend, err := w.e.Status(ctx)
						require.NoError(t, err)
						for _, p := range pend.Pending {
							w.appr.approve(p.ID)
						}
					}
				case k == 6, k == 7:
					// The window moves: decisions change otherwise than by a
					// deferral ending, so the approver's version moves.
					d := time.Duration(rnd.IntN(24)) * 5 * time.Minute
					op = func(w *world) {
						w.appr.mu.Lock()
						w.appr.until = w.clock.Now().Add(d)
						w.appr.version++
						w.appr.mu.Unlock()
					}
				}
				if op != nil {
					ops++
				}
				adv := time.Duration(rnd.IntN(4)) * 5 * time.Minute
				var want *mpsync.Report
				for i, w := range worlds {
					if op != nil {
						op(w)
					}
					w.clock.Advance(adv)
					rep, err := w.e.Sync(ctx)
					require.NoError(t, err, "%s, step %d", w.name, step)
					if rep.Reused {
						w.reused++
					}
					if i == 0 {
						want = rep
						continue
					}
					require.Equal(t, reportView(want), reportView(rep), "%s vs %s, step %d", worlds[0].name, w.name, step)
					require.Equal(t, storeVersions(t, worlds[0].store), storeVersions(t, w.store), "step %d", step)
				}
			}
			require.Zero(t, worlds[2].reused)
			require.Greater(t, worlds[0].reused, 100, "the generation store reused too rarely")
			require.Greater(t, worlds[1].reused, 100, "the listed store reused too rarely")
			t.Logf("%d changes; reused %d and %d of 300 runs", ops, worlds[0].reused, worlds[1].reused)
		})
	}
}

// reportView is what two runs must agree on: the changes, in order, and
// what happened to each (times and Reused aside).
func reportView(rep *mpsync.Report) []string {
	var out []string
	for _, s := range rep.Skipped {
		out = append(out, "skipped "+string(s.Rule)+": "+s.Reason)
	}
	for _, o := range rep.Outcomes {
		line := fmt.Sprintf("%s %s %s %s->%s %s: %s [%s]", o.ID, o.Action, o.Pack, o.From, o.To, o.Result, o.Reason, o.Change.Error)
		if o.Err != nil {
			line += " err=" + o.Err.Error()
		}
		if o.Decision != nil {
			line += fmt.Sprintf(" decision=%s/%s/%s/%s", o.Decision.Verdict, o.Decision.By, o.Decision.Reason, o.Decision.NotBefore.Format(time.RFC3339))
		}
		out = append(out, line)
	}
	if len(out) != len(rep.Plan.Changes)+len(rep.Skipped) {
		out = append(out, fmt.Sprintf("plan has %d changes, %d outcomes", len(rep.Plan.Changes), len(rep.Outcomes)))
	}
	return out
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// TestIdleTickSeesManualApproval: a change waiting in a manual queue stays
// pending on reused runs, and the first run after a person approved it (in
// another process sharing the store) applies it.
func TestIdleTickSeesManualApproval(t *testing.T) {
	ctx := context.Background()
	ws := &notModWS{fakeWS: newFakeWS("ws-1")}
	ws.put(advisorID, "7.1.0.0", "", rref("System.Library", "7.5.8501.0"))
	s := newGenStore()
	e := newFakeEngine(t, ws, s, &mpsync.Options{})
	_, err := e.Sync(ctx) // connects: imports the base pack
	require.NoError(t, err)
	e2 := newFakeEngine(t, ws, s, &mpsync.Options{Approver: approval.NewManual(s)})
	ws.solution("Alerts", true)
	ws.put(alertID, "7.2.0.0", "Alerts", rref(advisorID, "7.1.0.0"))
	rep, err := e2.Sync(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Pending(), 1)
	id := rep.Pending()[0].ID
	for range 2 {
		rep, err = e2.Sync(ctx)
		require.NoError(t, err)
		require.Len(t, rep.Pending(), 1)
	}
	require.True(t, rep.Reused, "nothing changed: the plan is reused")
	require.NoError(t, approval.NewManual(s).Approve(ctx, id, "alice")) // another process
	rep, err = e2.Sync(ctx)
	require.NoError(t, err)
	require.False(t, rep.Reused)
	require.Len(t, rep.Applied(), 1)
}

// decideCounter counts the approver's answers.
type decideCounter struct {
	approval.Approver
	n atomic.Int64
}

func (d *decideCounter) Decide(ctx context.Context, req approval.Request) (approval.Decision, error) {
	d.n.Add(1)
	return d.Approver.Decide(ctx, req)
}

func (d *decideCounter) ApprovalVersion(ctx context.Context) (uint64, error) {
	v, ok := d.Approver.(approval.Versioner)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return v.ApprovalVersion(ctx)
}

// TestIdleTickKeepsAWindowsDeferral: behind a change window (alone, or in
// All with another part: a production group's usual approver) a change
// deferred until the window opens is not asked about again on idle ticks
// before then, and is applied on the first tick after it opens. Before
// Window had a version, every tick re-planned and asked. Any(Window,
// Manual) defers without a time (the person may approve at any moment), so
// it is asked on every tick; it too applies once the window opens (a review
// found it stuck when Any of a window was a Versioner).
func TestIdleTickKeepsAWindowsDeferral(t *testing.T) {
	for _, tc := range []struct {
		name     string
		approver func(t *testing.T, win *approval.Window, s mpsync.Store) approval.Approver
		// quiet: the approver is not asked again while the window is
		// closed (else it is asked on every tick, with the same answer)
		quiet bool
	}{
		{"window", func(*testing.T, *approval.Window, mpsync.Store) approval.Approver { return nil }, true},
		{"all of window and auto", func(t *testing.T, win *approval.Window, _ mpsync.Store) approval.Approver {
			c, err := approval.All(win, approval.Auto())
			require.NoError(t, err)
			return c
		}, true},
		{"any of window and manual", func(t *testing.T, win *approval.Window, s mpsync.Store) approval.Approver {
			c, err := approval.Any(win, approval.NewManual(s))
			require.NoError(t, err)
			return c
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clk := mpsynctest.NewManualClock(t0) // Monday 08:00 UTC
			ws := &notModWS{fakeWS: newFakeWS("ws-1")}
			ws.put(advisorID, "7.1.0.0", "", rref("System.Library", "7.5.8501.0"))
			s := newGenStore()
			e := newFakeEngine(t, ws, s, &mpsync.Options{Clock: clk})
			_, err := e.Sync(ctx) // connects: imports the base pack
			require.NoError(t, err)

			win, err := approval.ParseWindow("0 12 * * *", time.Hour, "UTC") // daily 12:00-13:00
			require.NoError(t, err)
			var a approval.Approver = win
			if b := tc.approver(t, win, s); b != nil {
				a = b
			}
			counter := &decideCounter{Approver: a}
			e2 := newFakeEngine(t, ws, s, &mpsync.Options{Clock: clk, Approver: counter})
			ws.solution("Alerts", true)
			ws.put(alertID, "7.2.0.0", "Alerts", rref(advisorID, "7.1.0.0"))
			rep, err := e2.Sync(ctx)
			require.NoError(t, err)
			require.Len(t, rep.Pending(), 1, "deferred until the window opens")
			asked := counter.n.Load()
			for range 3 {
				clk.Advance(5 * time.Minute)
				rep, err = e2.Sync(ctx)
				require.NoError(t, err)
				require.True(t, rep.Reused, "nothing changed before the window opens: the plan is reused")
				require.Len(t, rep.Pending(), 1)
			}
			if tc.quiet {
				require.Equal(t, asked, counter.n.Load(), "the approver is not asked again before the deferral's NotBefore")
			} else {
				require.Greater(t, counter.n.Load(), asked, "asked on every tick")
			}

			clk.AdvanceTo(time.Date(t0.Year(), t0.Month(), t0.Day(), 12, 1, 0, 0, time.UTC))
			rep, err = e2.Sync(ctx)
			require.NoError(t, err)
			require.False(t, rep.Reused)
			require.Len(t, rep.Applied(), 1, "applied once the window opened")
		})
	}
}
