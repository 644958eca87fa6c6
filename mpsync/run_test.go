package mpsync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/approval"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

type nthStore struct {
	mpsync.Store
	fail int64
	c    atomic.Int64
}

func (s *nthStore) hit() error {
	if s.c.Add(1) == s.fail {
		return errors.New("injected failure")
	}
	return nil
}

func (s *nthStore) List(ctx context.Context) ([]storage.Entry, error) {
	if err := s.hit(); err != nil {
		return nil, err
	}
	return s.Store.List(ctx)
}

func (s *nthStore) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := s.hit(); err != nil {
		return storage.Entry{}, err
	}
	return s.Store.Get(ctx, id)
}

func (s *nthStore) Import(ctx context.Context, r storage.ImportRequest, rd io.Reader) (storage.Entry, error) {
	if err := s.hit(); err != nil {
		return storage.Entry{}, err
	}
	return s.Store.Import(ctx, r, rd)
}

func (s *nthStore) Remove(ctx context.Context, id string) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.Remove(ctx, id)
}

func (s *nthStore) ReadMeta(ctx context.Context, n string) ([]byte, error) {
	if err := s.hit(); err != nil {
		return nil, err
	}
	return s.Store.ReadMeta(ctx, n)
}

func (s *nthStore) WriteMeta(ctx context.Context, n string, b []byte) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.WriteMeta(ctx, n, b)
}

func (s *nthStore) AppendMeta(ctx context.Context, n string, b []byte) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.AppendMeta(ctx, n, b)
}

// Regression: a Sync whose nth store call failed (each n in turn) could leave
// a store the next Sync did not bring to the catalog's versions.
func TestRegressionFailNth(t *testing.T) {
	ctx := context.Background()
	for n := int64(1); n < 80; n++ {
		ws := newFakeWS("ws1")
		ws.solution("S", true)
		ws.put(advisor, "1.0.0.0", "")
		ws.put("X", "1.0.0.0", "S")
		ws.put("Y", "1.0.0.0", "S", rref("X", "1.0.0.0"))
		ms := store.NewMemory()
		e0 := newFakeEngine(t, ws, ms, nil)
		_, err := e0.Sync(ctx)
		require.NoError(t, err)
		ws.put("X", "2.0.0.0", "S")
		ws.put("Y", "2.0.0.0", "S", rref("X", "2.0.0.0"))
		ws.put("Z", "1.0.0.0", "S")
		fs := &nthStore{Store: ms, fail: n}
		e := newFakeEngine(t, ws, fs, nil)
		rep, err := e.Sync(ctx)
		var failed int
		if rep != nil {
			failed = len(rep.Failed())
		}
		// converge
		fs.fail = -1
		_, err2 := e.Sync(ctx)
		got := storeVersions(t, ms)
		if err2 != nil || got["X"] != "2.0.0.0" || got["Y"] != "2.0.0.0" || got["Z"] != "1.0.0.0" {
			t.Errorf("n=%d err=%v failed=%d; then err2=%v store=%v", n, err, failed, err2, got)
		}
		if fs.c.Load() < n {
			break
		}
	}
}

type panicFetchWS struct{ *fakeWS }

func (w panicFetchWS) Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error) {
	panic("bug in a Workspace implementation")
}

// Regression: a panic in a Workspace's Fetch, on a download worker
// goroutine, ended the process; it must fail that pack only.
func TestRegressionPanicInFetchIsRecovered(t *testing.T) {
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, panicFetchWS{ws}, store.NewMemory(), nil)
	rep, err := e.RunDue(context.Background())
	require.NoError(t, err)
	require.NotNil(t, rep)
	require.Len(t, rep.Failed(), 1, "the pack whose download panicked fails")
	require.ErrorContains(t, rep.Failed()[0].Err, "panicked")
}

// Regression: a Workspace whose Fetch returns a reader that cannot seek (the
// interface does not require one) got every import blocked.
func TestRegressionNonSeekableFetchStillImports(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.noSeek = true
	ws.put("X", "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	rep, err := e.Sync(ctx)
	require.NoError(t, err)
	t.Log("\n" + rep.String())
	require.Contains(t, storeVersions(t, s), "X", "pack not imported: %v", rep.Err())
}

func TestLowerSerialRefusedEvenWithoutTheClientCache(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.srv.SetSerial(10)
	r.sync(t)
	before := r.versions(t)

	// A restarted process without the client's catalog cache, and a
	// workspace replaying an older catalog that drops a solution.
	r.srv.SetSerial(5)
	r.srv.DisableSolution("AlertManagement")
	r.srv.SetSerial(5)
	r.client = newClient(t, r.srv)
	e := r.newEngine(t, r.store, nil)
	_, err := e.Sync(ctx)
	require.ErrorIs(t, err, mpsync.ErrSerialRegressed)
	assert.Contains(t, err.Error(), "serial 5 is lower than 10")
	assert.Equal(t, before, r.versions(t), "nothing removed on a replayed catalog")

	ok := r.newEngine(t, r.store, &mpsync.Options{AcceptLowerSerial: true})
	rep, err := ok.Sync(ctx)
	require.NoError(t, err)
	assert.Equal(t, "remove/applied", results(rep)[alertID], "accepted when told to")
}

// The lower-serial rule had two owners with two sentinels; it has one
// implementation (catalog.CheckSerial) and one sentinel now.
func TestSerialRuleHasOneSentinel(t *testing.T) {
	assert.Same(t, catalog.ErrSerialRegressed, mpsync.ErrSerialRegressed)
	assert.Same(t, catalog.ErrSerialRegressed, workspace.ErrSerialRegressed)
}

// A catalog without "packs" used to read as "the workspace wants no packs"
// and removed every workspace pack (exit 0).
func TestCatalogWithoutPacksRemovesNothing(t *testing.T) {
	for _, body := range []string{
		`{"schemaVersion":"1.0","workspaceId":"%s","serial":99,"solutions":[]}`,
		`{"schemaVersion":"1.0","workspaceId":"%s","serial":99,"solutions":[],"packs":null}`,
	} {
		r := newRig(t, nil)
		r.sync(t)
		before := r.versions(t)
		require.NotEmpty(t, before)
		r.srv.Fail("catalog", mpsynctest.Fault{Body: []byte(fmt.Sprintf(body, r.srv.WorkspaceID()))})
		_, err := r.engine.Sync(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, catalog.ErrInvalid)
		assert.Equal(t, before, r.versions(t), "nothing removed")
	}
}

// A stalled approver (or store, or service) used to hold a run, and the
// scheduler with it, forever; Options.RunTimeout bounds the run whole, and
// what the run did is still recorded.
func TestRunTimeoutBoundsTheRun(t *testing.T) {
	stuck := approval.ApproverFunc(func(ctx context.Context, _ approval.Request) (approval.Decision, error) {
		<-ctx.Done()
		return approval.Decision{}, ctx.Err()
	})
	r := newRig(t, nil)
	led := ledger.NewMemory()
	e := r.newEngine(t, r.store, &mpsync.Options{Approver: stuck, RunTimeout: 50 * time.Millisecond, Ledger: led})
	start := time.Now()
	rep, err := e.Sync(context.Background(), rules.MPUpdate)
	require.NoError(t, err, "the run happened; its changes failed")
	assert.Less(t, time.Since(start), 5*time.Second)
	require.NotEmpty(t, rep.Failed())
	assert.ErrorIs(t, rep.Err(), mpsync.ErrRunTimeout)
	assert.Contains(t, rep.Err().Error(), "Options.RunTimeout")
	st, err := e.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, status.RunFailed, st.Rules[0].LastResult, "the run history is written after the deadline")
	// Review: the ledger records used to be written with the expired
	// context, and so dropped.
	recs, err := led.Query(context.Background(), ledger.Query{Kind: ledger.KindResult})
	require.NoError(t, err)
	failed := 0
	for _, rec := range recs {
		if rec.Result == string(mpsync.ResultFailed) {
			failed++
		}
	}
	assert.Equal(t, len(rep.Failed()), failed, "each failed change is in the ledger")
}

// holdAll defers every change: nothing is imported, every target stays to
// plan.
var holdAll = approval.ApproverFunc(func(context.Context, approval.Request) (approval.Decision, error) {
	return approval.Decision{Verdict: plan.Defer, Reason: "held for the test"}, nil
})

// heldRig is a store connected to newServer's workspace by a first sync
// under holdAll.
type heldRig struct {
	srv    *mpsynctest.Server
	client *workspace.Client
	store  *store.Memory
}

// newHeldRig makes the rig and runs its first sync of rs (both rules when
// none); elsewhere first moves the packs to absolute hrefs (packsElsewhere).
func newHeldRig(t *testing.T, elsewhere bool, rs ...rules.Rule) (*heldRig, *mpsync.Report) {
	t.Helper()
	r := &heldRig{srv: newServer(t), store: store.NewMemory()}
	if elsewhere {
		packsElsewhere(r.srv)
	}
	r.client = newClient(t, r.srv)
	rep, err := r.engine(t, holdAll).Sync(context.Background(), rs...)
	require.NoError(t, err)
	return r, rep
}

// engine is a new engine on the rig, as a new process would open it: no
// manifest in memory; the client holds the last-known catalog.
func (r *heldRig) engine(t *testing.T, a approval.Approver) *mpsync.Engine {
	t.Helper()
	e, err := mpsync.New(r.store, &mpsync.Options{Workspace: r.client, Approver: a})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// packsElsewhere gives newServer's packs absolute hrefs, as if another
// host served them.
func packsElsewhere(srv *mpsynctest.Server) {
	for _, id := range []string{advisorID, internalID, alertLibID, alertID} {
		srv.Tamper(id, func(c *catalog.Pack) {
			c.Href = srv.URL() + "workspaces/" + srv.WorkspaceID() + "/" + c.Href
		})
	}
}

// Regression: with the service down, a plan downloaded every pack it had no
// manifest for, each with the client's retries, after the catalog request
// had already failed them all: `mpsync plan` took 26 s for four pending
// packs, minutes for many. A stale run no longer asks the failed service
// for packs, and of packs served elsewhere tries one before the others.
func TestStaleRunDoesNotDownloadFromTheFailedService(t *testing.T) {
	ctx := context.Background()
	r, rep := newHeldRig(t, false) // connects; every import waits
	srv := r.srv
	require.Len(t, rep.Pending(), 1) // the others wait for it (skipped)

	stalePlan := func(fault string) (*mpsync.Plan, int) {
		t.Helper()
		srv.Fail(fault, mpsynctest.Fault{Status: http.StatusServiceUnavailable})
		defer srv.ClearFaults()
		srv.ResetStats()
		p, err := r.engine(t, holdAll).Plan(ctx)
		require.NoError(t, err)
		require.True(t, p.Stale)
		return p, srv.Stats().PackRequests
	}
	// blocked counts the plan's blocked changes, and of them the ones not
	// even tried.
	blocked := func(p *mpsync.Plan) (n, untried int) {
		for _, c := range p.Changes {
			if c.Action == plan.ActionBlocked {
				n++
				if strings.Contains(c.Reason, "not downloaded") {
					untried++
				}
			}
		}
		return n, untried
	}

	p, packRequests := stalePlan("*")
	assert.Zero(t, packRequests, "the packs are the failed service's (relative hrefs): none is tried")
	n, untried := blocked(p)
	assert.Equal(t, [2]int{4, 4}, [2]int{n, untried}, "blocked, untried: %v", p)

	// Packs at absolute hrefs may be served by another host.
	packsElsewhere(srv)
	_, err := r.engine(t, holdAll).Plan(ctx) // the client now holds absolute hrefs
	require.NoError(t, err)

	p, packRequests = stalePlan("*")
	assert.LessOrEqual(t, packRequests, 2, "one pack tried (with the client's one retry), not all four")
	n, untried = blocked(p)
	assert.Equal(t, [2]int{4, 3}, [2]int{n, untried}, "blocked, untried (the pack tried is blocked for its own error): %v", p)

	p, packRequests = stalePlan("catalog")
	assert.Equal(t, 4, packRequests, "every pack downloaded when the packs' host answers")
	for _, c := range p.Changes {
		assert.NotEqual(t, plan.ActionBlocked, c.Action, "%s: %s", c.Pack, c.Reason)
	}
}

// Regression: a sync on a stale catalog rewrote the record of pending
// changes from what it could decide, and with the packs not downloaded it
// decided nothing: `status` stopped listing the changes waiting for a window
// or a person while the service was down.
func TestStaleRunKeepsPendingChanges(t *testing.T) {
	ctx := context.Background()
	r, rep := newHeldRig(t, false)
	srv := r.srv
	require.Len(t, rep.Pending(), 1)
	want := rep.Pending()[0].ID

	srv.Fail("*", mpsynctest.Fault{Status: http.StatusServiceUnavailable})
	e := r.engine(t, holdAll)
	rep, err := e.Sync(ctx)
	require.NoError(t, err)
	require.True(t, rep.Plan.Stale)
	require.Empty(t, rep.Pending(), "nothing could be decided without the packs")
	st, err := e.Status(ctx)
	require.NoError(t, err)
	var ids []string
	for _, c := range st.Pending {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{want}, ids, "the change that waited still waits")

	srv.ClearFaults()
	rep, err = e.Sync(ctx)
	require.NoError(t, err)
	require.False(t, rep.Plan.Stale)
	st, err = e.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Pending, 1, "a fresh run replaces the list: %v", st.Pending)
}

// Review regression: once a stale run counted as stale before failed, a
// change that failed for its own reason in a stale run (a corrupted pack
// from another host) was reported as "service unreachable" only. A stale
// run is stale when every failure is the service's; otherwise it failed,
// and its error says both.
func TestStaleRunWithAnotherFailureIsFailed(t *testing.T) {
	ctx := context.Background()
	r, _ := newHeldRig(t, true, rules.MPUpdate) // connects, holds the catalog
	srv := r.srv

	lastResult := func(e *mpsync.Engine) (status.RunResult, string) {
		st, err := e.Status(ctx)
		require.NoError(t, err)
		for _, r := range st.Rules {
			if r.Settings.Rule == rules.MPUpdate {
				return r.LastResult, r.LastError
			}
		}
		t.Fatal("no MPUpdate in status")
		return "", ""
	}
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusServiceUnavailable})
	srv.Fail(advisorID, mpsynctest.Fault{Body: []byte("<ManagementPack/>")}) // not the pack the catalog lists
	e := r.engine(t, nil)
	rep, err := e.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)
	require.True(t, rep.Plan.Stale)
	require.NotEmpty(t, rep.Failed())
	res, msg := lastResult(e)
	assert.Equal(t, status.RunFailed, res)
	assert.Contains(t, msg, "service unreachable")
	assert.Contains(t, msg, advisorID)

	srv.ClearFaults()
	srv.Fail("*", mpsynctest.Fault{Status: http.StatusServiceUnavailable})
	e2 := r.engine(t, nil)
	rep, err = e2.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)
	require.True(t, rep.Plan.Stale)
	res, _ = lastResult(e2)
	assert.Equal(t, status.RunStale, res, "every failure is the service's: %v", rep)
}
