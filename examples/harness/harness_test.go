package harness_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// The catalog these tests serve: two base packs and one solution with two
// packs, the second referencing the first. Replace it with the packs your
// program cares about.
const (
	advisor   = "Microsoft.SystemCenter.Advisor"
	internal  = "Microsoft.SystemCenter.Advisor.Internal"
	alerts    = "Microsoft.IntelligencePacks.AlertManagement"
	alertsLib = "Microsoft.IntelligencePacks.AlertManagement.Library"
	solution  = "AlertManagement"
)

// monday is where the manual clock starts: a fixed time keeps the tests
// reproducible.
var monday = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// ref is a reference from one workspace pack to another.
func ref(alias, id, version string) pack.Reference {
	return pack.Reference{Alias: alias, ID: id, Version: pack.MustParseVersion(version), PublicKeyToken: "31bf3856ad364e35"}
}

// newWorkspace returns a fake workspace service that serves the catalog in
// memory (no listener), so it also works inside a synctest bubble.
// mpsynctest.Pack builds small, valid management packs with the given
// references; PlatformReference points at a pack that ships with the
// management group.
func newWorkspace() *mpsynctest.Server {
	scLib := mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")
	toAdvisor := ref("Advisor", advisor, "7.1.10226.1239")
	return mpsynctest.NewWorkspace(
		mpsynctest.WithSolution(solution, true),
		mpsynctest.WithPack(advisor, "7.1.10226.1239", catalog.ChannelBase, "",
			mpsynctest.Pack(advisor, "7.1.10226.1239", scLib)),
		mpsynctest.WithPack(internal, "7.1.10226.1239", catalog.ChannelBase, "",
			mpsynctest.Pack(internal, "7.1.10226.1239", scLib, toAdvisor)),
		mpsynctest.WithPack(alertsLib, "7.2.11719.0", catalog.ChannelSolution, solution,
			mpsynctest.Pack(alertsLib, "7.2.11719.0", scLib, toAdvisor)),
		mpsynctest.WithPack(alerts, "7.2.11719.0", catalog.ChannelSolution, solution,
			mpsynctest.Pack(alerts, "7.2.11719.0", scLib, ref("Lib", alertsLib, "7.2.11719.0"))),
	)
}

// newClient returns a workspace client for srv. Retries are kept short so
// that a test of a failing service does not wait the production backoff.
func newClient(t *testing.T, srv *mpsynctest.Server) *workspace.Client {
	t.Helper()
	cfg := srv.ClientConfig()
	cfg.TempDir = t.TempDir()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, time.Millisecond
	c, err := workspace.New(cfg)
	if err != nil {
		t.Fatalf("workspace client: %v", err)
	}
	return c
}

// harness is one management group under test: the fake service, an
// in-memory store, a manual clock and the engine wired to them.
type harness struct {
	srv    *mpsynctest.Server
	store  *store.Memory
	clock  *mpsynctest.ManualClock
	engine *mpsync.Engine
}

// newHarness wires an engine to a fresh fake workspace. opts may set
// anything but Workspace and Clock (an approver, settings, a ledger).
func newHarness(t *testing.T, opts mpsync.Options) *harness {
	t.Helper()
	h := &harness{srv: newWorkspace(), store: store.NewMemory(), clock: mpsynctest.NewManualClock(monday)}
	opts.Workspace, opts.Clock = newClient(t, h.srv), h.clock
	e, err := mpsync.New(h.store, &opts)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	h.engine = e
	return h
}

// sync runs both rules once and fails the test if the run could not happen
// or a change failed.
func (h *harness) sync(t *testing.T) *mpsync.Report {
	t.Helper()
	rep, err := h.engine.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("sync: a change failed: %v\n%s", err, rep)
	}
	return rep
}

// versions returns the store's packs as id -> version.
func (h *harness) versions(t *testing.T) map[string]string {
	t.Helper()
	list, err := h.store.List(context.Background())
	if err != nil {
		t.Fatalf("list store: %v", err)
	}
	out := map[string]string{}
	for _, e := range list {
		out[e.ID] = e.Version.String()
	}
	return out
}

// outcome returns what the report did with pack id, as "action/result".
func outcome(rep *mpsync.Report, id string) string {
	for _, o := range rep.Outcomes {
		if o.Pack == id {
			return string(o.Action) + "/" + string(o.Result)
		}
	}
	return "absent"
}

// Twelve hours of the default schedule, driven by the manual clock: the
// first start runs both rules, then MPUpdate runs every 12 hours and
// GetIntelligencePacks every 5 minutes. Drive runs exactly the runs that are
// due, in milliseconds, and returns their reports.
func TestTwelveHoursOfScheduleWithManualClock(t *testing.T) {
	h := newHarness(t, mpsync.Options{})
	reps, err := mpsynctest.Drive(context.Background(), h.engine, h.clock, monday.Add(12*time.Hour))
	if err != nil {
		t.Fatalf("drive: %v", err)
	}
	runs := map[rules.Rule]int{}
	for _, rep := range reps {
		for _, r := range rep.Rules() {
			runs[r]++
		}
	}
	if runs[rules.MPUpdate] != 2 {
		t.Errorf("MPUpdate ran %d times in 12 hours, want 2 (at start and after 12 h)", runs[rules.MPUpdate])
	}
	if runs[rules.GetIntelligencePacks] != 145 {
		t.Errorf("GetIntelligencePacks ran %d times in 12 hours, want 145 (at start, then every 5 minutes)", runs[rules.GetIntelligencePacks])
	}
	if got := h.clock.Now(); !got.Equal(monday.Add(12 * time.Hour)) {
		t.Errorf("clock reads %v after Drive, want %v", got, monday.Add(12*time.Hour))
	}
	// Only the first run changed anything; the other 145 found the catalog
	// unchanged (one conditional request each, no pack downloaded again).
	if st := h.srv.Stats(); st.PackRequests != 4 {
		t.Errorf("%d pack downloads in 12 hours, want 4 (each pack once)", st.PackRequests)
	}
}

// The first sync imports what the workspace wants, references first, and
// records where each pack came from.
func TestFirstSyncImportsWithProvenance(t *testing.T) {
	h := newHarness(t, mpsync.Options{Group: scom.ManagementGroup{Name: "Test"}})
	rep := h.sync(t)

	want := map[string]string{advisor: "7.1.10226.1239", internal: "7.1.10226.1239", alertsLib: "7.2.11719.0", alerts: "7.2.11719.0"}
	got := h.versions(t)
	for id, v := range want {
		if got[id] != v {
			t.Errorf("store has %s at %q, want %s", id, got[id], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("store holds %d packs, want %d: %v", len(got), len(want), got)
	}

	order := map[string]int{}
	for i, o := range rep.Outcomes {
		order[o.Pack] = i
	}
	if order[alertsLib] > order[alerts] {
		t.Errorf("%s was imported before the library it references", alerts)
	}

	e, err := h.store.Get(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	if e.Owner != storage.OwnerWorkspace || e.Rule != string(rules.GetIntelligencePacks) || e.Solution != solution {
		t.Errorf("provenance of %s = %+v, want the workspace, GetIntelligencePacks, %s", alerts, e.Provenance, solution)
	}
}

// When the service is down the engine plans from the last-known catalog and
// never removes packs on it, even if the workspace disabled a solution in the
// meantime. Once the service is back, the removal happens.
func TestServiceDownMeansNoRemovals(t *testing.T) {
	h := newHarness(t, mpsync.Options{})
	h.sync(t)
	before := h.versions(t)

	h.srv.DisableSolution(solution)
	h.srv.Fail("catalog", mpsynctest.Fault{Status: 503})
	rep := h.sync(t)
	if !rep.Plan.Stale {
		t.Fatalf("plan is not stale while the catalog answers 503:\n%s", rep)
	}
	if n := len(rep.Applied()); n != 0 {
		t.Errorf("%d changes applied on a stale catalog, want none:\n%s", n, rep)
	}
	if got := h.versions(t); len(got) != len(before) {
		t.Errorf("store changed while the service was down: %v, was %v", got, before)
	}
	st, err := h.engine.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Workspace.Reachable {
		t.Error("status says the service is reachable while it answers 503")
	}

	h.srv.ClearFaults()
	rep = h.sync(t)
	if got := outcome(rep, alerts); got != "remove/applied" {
		t.Errorf("%s after the service came back: %s, want remove/applied", alerts, got)
	}
	if _, ok := h.versions(t)[advisor]; !ok {
		t.Errorf("base pack %s was removed with the solution", advisor)
	}
}

// A manual approver holds every change until someone approves it; an
// approval binds to the exact change (rule, pack, version, hash). A change
// that depends on a pending one does not even ask until its reference is
// imported.
func TestManualApproval(t *testing.T) {
	ctx := context.Background()
	meta := store.NewMemory() // where the approval queue lives; usually the group's store
	manual := approval.NewManual(meta)
	h := newHarness(t, mpsync.Options{Approver: manual})

	// pendingChange runs MPUpdate and returns the one change waiting in the
	// manual queue, which must be for pack id.
	pendingChange := func(id string) string {
		t.Helper()
		if _, err := h.engine.Sync(ctx, rules.MPUpdate); err != nil {
			t.Fatal(err)
		}
		queued, err := manual.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != 1 || queued[0].Change.Pack != id {
			t.Fatalf("manual queue holds %+v, want one change for %s", queued, id)
		}
		return queued[0].Change.ID
	}

	// The Advisor pack asks first; Internal references it and waits.
	advisorChange := pendingChange(advisor)
	if v := h.versions(t); len(v) != 0 {
		t.Fatalf("store before any approval: %v, want empty", v)
	}
	if err := manual.Approve(ctx, advisorChange, "alice"); err != nil {
		t.Fatal(err)
	}

	// Next run: Advisor is imported, and Internal asks in its turn.
	internalChange := pendingChange(internal)
	if v := h.versions(t); v[advisor] == "" || v[internal] != "" {
		t.Fatalf("store after approving %s: %v", advisor, v)
	}
	if err := manual.Deny(ctx, internalChange, "bob", "not this week"); err != nil {
		t.Fatal(err)
	}
	rep, err := h.engine.Sync(ctx, rules.MPUpdate)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(rep, internal); got != "import/denied" {
		t.Errorf("%s after denial: %s, want import/denied", internal, got)
	}
	if _, ok := h.versions(t)[internal]; ok {
		t.Errorf("denied pack %s was imported", internal)
	}
}

// Engine.Start runs the rules in its own goroutine on real timers. Inside a
// testing/synctest bubble the clock is fake and jumps ahead whenever every
// goroutine waits, so an hour of the scheduler takes no real time. Use the
// in-memory fake workspace here: a bubble must not use the network.
func TestStartInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newWorkspace()
		var mu sync.Mutex
		runs := map[rules.Rule]int{}
		e, err := mpsync.New(store.NewMemory(), &mpsync.Options{
			Workspace: newClient(t, srv), // Clock nil: the system clock, which the bubble fakes
			OnEvent: func(ev event.Event) {
				if ev.Kind == event.RunFinished {
					mu.Lock()
					runs[ev.Rule]++
					mu.Unlock()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour + time.Second) // one fake hour
		synctest.Wait()                     // let the runs due by now finish
		e.Stop(context.Background())

		mu.Lock()
		defer mu.Unlock()
		if runs[rules.MPUpdate] != 1 || runs[rules.GetIntelligencePacks] != 13 {
			t.Errorf("in one hour: MPUpdate %d runs, GetIntelligencePacks %d; want 1 and 13",
				runs[rules.MPUpdate], runs[rules.GetIntelligencePacks])
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
