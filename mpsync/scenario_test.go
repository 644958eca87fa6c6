package mpsync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC) // a Monday

const (
	advisorID  = "Microsoft.SystemCenter.Advisor"
	internalID = "Microsoft.SystemCenter.Advisor.Internal"
	alertID    = "Microsoft.IntelligencePacks.AlertManagement"
	alertLibID = "Microsoft.IntelligencePacks.AlertManagement.Library"
	updatesID  = "Microsoft.IntelligencePacks.Updates"
)

var scLib = mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

func ref(id, ver string) pack.Reference {
	return pack.Reference{Alias: "R", ID: id, Version: pack.MustParseVersion(ver), PublicKeyToken: "31bf3856ad364e35"}
}

// rig is a management group wired to a fake workspace in memory.
type rig struct {
	srv    *mpsynctest.Server
	client *workspace.Client
	store  *store.Memory
	clock  *mpsynctest.ManualClock
	engine *mpsync.Engine
	events []mpsync.Event
}

func newServer(t *testing.T) *mpsynctest.Server {
	t.Helper()
	clock := func() time.Time { return time.Now() }
	return mpsynctest.NewWorkspace(
		mpsynctest.WithClock(clock),
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithSolution("Updates", false),
		mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib)),
		mpsynctest.WithPack(internalID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(internalID, "7.1.10226.1239", scLib, ref(advisorID, "7.1.10226.0"))),
		mpsynctest.WithPack(alertLibID, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertLibID, "7.2.11719.0", scLib, ref(advisorID, "7.1.10226.0"))),
		mpsynctest.WithPack(alertID, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11719.0", scLib, ref(alertLibID, "7.2.11719.0"))),
		mpsynctest.WithPack(updatesID, "7.2.100.0", catalog.ChannelSolution, "Updates", mpsynctest.Pack(updatesID, "7.2.100.0", scLib, ref(advisorID, "7.1.10226.0"))),
	)
}

func newClient(t *testing.T, srv *mpsynctest.Server) *workspace.Client {
	t.Helper()
	cfg := srv.ClientConfig()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	cfg.TempDir = t.TempDir()
	c, err := workspace.New(cfg)
	require.NoError(t, err)
	return c
}

func newRig(t *testing.T, opts *mpsync.Options) *rig {
	t.Helper()
	r := &rig{srv: newServer(t), store: store.NewMemory(), clock: mpsynctest.NewManualClock(t0)}
	r.client = newClient(t, r.srv)
	r.engine = r.newEngine(t, r.store, opts)
	return r
}

func (r *rig) newEngine(t *testing.T, s mpsync.Store, opts *mpsync.Options) *mpsync.Engine {
	t.Helper()
	var o mpsync.Options
	if opts != nil {
		o = *opts
	}
	o.Workspace, o.Clock = r.client, r.clock
	o.OnEvent = func(ev mpsync.Event) { r.events = append(r.events, ev) }
	e, err := mpsync.New(s, &o)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func (r *rig) sync(t *testing.T, rs ...rules.Rule) *mpsync.Report {
	t.Helper()
	rep, err := r.engine.Sync(context.Background(), rs...)
	require.NoError(t, err)
	return rep
}

func (r *rig) versions(t *testing.T) map[string]string {
	t.Helper()
	list, err := r.store.List(context.Background())
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range list {
		out[e.ID] = e.Version.String()
	}
	return out
}

func results(rep *mpsync.Report) map[string]string {
	out := map[string]string{}
	for _, o := range rep.Outcomes {
		out[o.Pack] = string(o.Action) + "/" + string(o.Result)
	}
	return out
}

func TestFirstSyncImportsBaseThenSolutions(t *testing.T) {
	r := newRig(t, nil)
	rep := r.sync(t)
	require.NoError(t, rep.Err())
	assert.Equal(t, map[string]string{
		advisorID: "7.1.10226.1239", internalID: "7.1.10226.1239",
		alertLibID: "7.2.11719.0", alertID: "7.2.11719.0",
	}, r.versions(t))
	var order []string
	for _, o := range rep.Outcomes {
		order = append(order, o.Pack)
	}
	assert.Less(t, indexOf(order, advisorID), indexOf(order, alertLibID), "base before solution: %v", order)
	assert.Less(t, indexOf(order, alertLibID), indexOf(order, alertID), "references first: %v", order)

	e, err := r.store.Get(context.Background(), alertID)
	require.NoError(t, err)
	assert.Equal(t, storage.OwnerWorkspace, e.Owner)
	assert.Equal(t, r.srv.WorkspaceID(), e.WorkspaceID)
	assert.Equal(t, string(rules.GetIntelligencePacks), e.Rule)
	assert.Equal(t, "AlertManagement", e.Solution)

	conn, err := r.engine.Connection(context.Background())
	require.NoError(t, err)
	assert.Equal(t, mpsync.StateConnected, conn.State, "first sync connects the store")

	// A second run with nothing changed: one conditional request, no pack bytes.
	r.srv.ResetStats()
	rep = r.sync(t)
	assert.Empty(t, rep.Plan.Actionable())
	st := r.srv.Stats()
	assert.Equal(t, 1, st.Requests, "one catalog request")
	assert.Zero(t, st.PackBytes, "no pack download")
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestSolutionEnabledDisabledAndNewVersion(t *testing.T) {
	r := newRig(t, nil)
	r.sync(t)

	r.srv.EnableSolution("Updates")
	rep := r.sync(t, rules.GetIntelligencePacks)
	assert.Equal(t, "import/applied", results(rep)[updatesID])

	r.srv.Publish(alertID, "7.2.11800.0", catalog.ChannelSolution, "AlertManagement",
		mpsynctest.Pack(alertID, "7.2.11800.0", scLib, ref(alertLibID, "7.2.11719.0")))
	rep = r.sync(t, rules.GetIntelligencePacks)
	assert.Equal(t, "upgrade/applied", results(rep)[alertID])
	assert.Equal(t, "7.2.11800.0", r.versions(t)[alertID])
	prev, err := r.store.Get(context.Background(), alertID)
	require.NoError(t, err)
	require.NotNil(t, prev.Previous, "the replaced version is kept for rollback")

	r.srv.DisableSolution("AlertManagement")
	rep = r.sync(t, rules.GetIntelligencePacks)
	assert.Equal(t, "remove/applied", results(rep)[alertID])
	assert.Equal(t, "remove/applied", results(rep)[alertLibID])
	assert.Less(t, indexOfPack(rep, alertID), indexOfPack(rep, alertLibID), "dependents removed first")
	assert.NotContains(t, r.versions(t), alertID)
	assert.Contains(t, r.versions(t), advisorID, "base packs stay")
}

func indexOfPack(rep *mpsync.Report, id string) int {
	for i, o := range rep.Outcomes {
		if o.Pack == id {
			return i
		}
	}
	return -1
}

func TestDowngradeBlockedAndRollback(t *testing.T) {
	r := newRig(t, nil)
	r.sync(t)
	r.srv.Publish(advisorID, "7.1.10226.1300", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1300", scLib))
	r.sync(t)
	r.srv.Publish(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib))
	rep := r.sync(t)
	assert.Equal(t, "blocked/skipped", results(rep)[advisorID])
	assert.Equal(t, "7.1.10226.1300", r.versions(t)[advisorID], "a downgrade never happens by sync")

	en, err := r.engine.Rollback(context.Background(), advisorID)
	require.NoError(t, err)
	assert.Equal(t, "7.1.10226.1239", en.Version.String(), "explicit rollback restores the previous version")
	_, err = r.engine.Rollback(context.Background(), alertID)
	assert.ErrorIs(t, err, mpsync.ErrNoPrevious)
}

func TestMissingReferenceAndWaitForMPUpdate(t *testing.T) {
	r := newRig(t, nil)
	r.srv.EnableSolution("Updates")
	r.srv.Publish("Microsoft.IntelligencePacks.Broken", "1.0.0.0", catalog.ChannelSolution, "Updates",
		mpsynctest.Pack("Microsoft.IntelligencePacks.Broken", "1.0.0.0", ref("Contoso.Nowhere", "1.0.0.0")))

	// Only the solution rule runs first: its packs wait for MPUpdate.
	rep := r.sync(t, rules.GetIntelligencePacks)
	var waits, missing int
	for _, o := range rep.Outcomes {
		if strings.Contains(o.Reason, "waits for MPUpdate") {
			waits++
		}
		if o.Pack == "Microsoft.IntelligencePacks.Broken" {
			assert.Equal(t, mpsync.ActionBlocked, o.Action)
			assert.Contains(t, o.Reason, "Contoso.Nowhere")
			missing++
		}
	}
	assert.Positive(t, waits)
	assert.Equal(t, 1, missing)
	assert.Empty(t, r.versions(t), "nothing imported while the base packs are missing")

	r.sync(t, rules.MPUpdate)
	rep = r.sync(t, rules.GetIntelligencePacks)
	assert.Equal(t, "import/applied", results(rep)[alertID], "goes in on the next run once the base pack is there")
}

func TestCustomPackWithAdvisorNameIsNeverTouched(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	custom := mpsynctest.Pack(alertID, "1.0.0.0", scLib)
	_, err := r.store.Import(ctx, storage.ImportRequest{ID: alertID, Provenance: storage.Provenance{Owner: storage.OwnerCustom}}, strings.NewReader(string(custom)))
	require.NoError(t, err)
	mine := mpsynctest.Pack("Contoso.Advisor.IntelligencePack.Mine", "1.0.0.0", scLib)
	_, err = r.store.Import(ctx, storage.ImportRequest{ID: "Contoso.Advisor.IntelligencePack.Mine", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}, strings.NewReader(string(mine)))
	require.NoError(t, err)

	rep := r.sync(t)
	assert.Equal(t, "blocked/skipped", results(rep)[alertID])
	assert.Equal(t, "1.0.0.0", r.versions(t)[alertID])

	drep, err := r.engine.Disconnect(ctx)
	require.NoError(t, err)
	v := r.versions(t)
	assert.Contains(t, v, alertID, "custom pack survives disconnect")
	assert.Contains(t, v, "Contoso.Advisor.IntelligencePack.Mine")
	assert.Contains(t, v, advisorID, "core pack stays")
	assert.Contains(t, v, internalID, "core pack stays")
	assert.NotContains(t, v, alertLibID, "workspace pack removed")
	for _, e := range drep.Removed {
		assert.Equal(t, storage.OwnerWorkspace, e.Owner)
	}
}

func TestServiceDownForADay(t *testing.T) {
	r := newRig(t, nil)
	r.sync(t)
	before := r.versions(t)
	r.srv.DisableSolution("AlertManagement")
	r.srv.Fail("catalog", mpsynctest.Fault{Status: 503})
	for h := 0; h < 24; h++ {
		r.clock.Advance(time.Hour)
		rep := r.sync(t)
		require.True(t, rep.Plan.Stale, "plans from the last-known catalog")
		assert.Empty(t, rep.Applied())
	}
	assert.Equal(t, before, r.versions(t), "never removes on a stale catalog")
	st, err := r.engine.Status(context.Background())
	require.NoError(t, err)
	assert.False(t, st.Workspace.Reachable)
	assert.NotEmpty(t, st.Workspace.LastError)
	assert.Equal(t, "stale", st.Rules[1].LastResult)
	assert.Equal(t, t0, st.Rules[1].LastSuccess, "a stale run is not a success")
	v, err := r.engine.Validate(context.Background())
	require.NoError(t, err)
	assert.False(t, v.OK(), "a day without the service fails validation")

	r.srv.ClearFaults()
	rep := r.sync(t)
	assert.False(t, rep.Plan.Stale)
	assert.Equal(t, "remove/applied", results(rep)[alertID])
}

func TestChangeWindowClosedThenOpen(t *testing.T) {
	win, err := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "UTC")
	require.NoError(t, err)
	r := newRig(t, &mpsync.Options{Approver: win})
	rep := r.sync(t)
	require.NotEmpty(t, rep.Pending())
	assert.Empty(t, r.versions(t))
	for _, o := range rep.Pending() {
		assert.Equal(t, time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), o.Decision.NotBefore, "next window opens Saturday 02:00")
	}
	st, err := r.engine.Status(context.Background())
	require.NoError(t, err)
	assert.Len(t, st.Pending, len(rep.Pending()))
	assert.Equal(t, time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), st.Approval.NextWindow, "status says when the window opens")

	r.clock.AdvanceTo(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC))
	rep = r.sync(t)
	assert.Empty(t, rep.Pending())
	assert.Len(t, r.versions(t), 4)
	st, err = r.engine.Status(context.Background())
	require.NoError(t, err)
	assert.Empty(t, st.Pending)
}

func TestManualApprovalInvalidatedByCatalogChange(t *testing.T) {
	meta := store.NewMemory()
	manual := approval.NewManual(meta)
	r := newRig(t, &mpsync.Options{Approver: manual})
	ctx := context.Background()
	rep := r.sync(t, rules.MPUpdate)
	var advisorChange string
	for _, o := range rep.Pending() {
		if o.Pack == advisorID {
			advisorChange = o.ID
		}
	}
	require.NotEmpty(t, advisorChange)
	require.NoError(t, manual.Approve(ctx, advisorChange, "alice"))

	// The catalog publishes another version before the next run.
	r.srv.Publish(advisorID, "7.1.10226.1300", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1300", scLib))
	rep = r.sync(t, rules.MPUpdate)
	assert.Equal(t, "import/pending", results(rep)[advisorID], "the approval bound the old change id")
	assert.NotContains(t, r.versions(t), advisorID)
	for _, o := range rep.Outcomes {
		if o.Pack == advisorID {
			assert.NotEqual(t, advisorChange, o.ID)
			require.NoError(t, manual.Approve(ctx, o.ID, "alice"))
		}
	}
	rep = r.sync(t, rules.MPUpdate)
	assert.Equal(t, "import/applied", results(rep)[advisorID])

	recs, err := mpsync.NewStoreLedger(r.store).Query(ctx, mpsync.LedgerQuery{Kind: mpsync.RecordDecision, Pack: advisorID})
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, mpsync.Approve, recs[len(recs)-1].Verdict)
}

func TestPromotionFromQAAfterSoak(t *testing.T) {
	shared := ledger.NewMemory()
	qa := newRig(t, &mpsync.Options{Group: mpsync.ManagementGroup{Name: "QA"}, Ledger: shared})
	promo, err := approval.NewPromotion(shared, "QA", 72*time.Hour)
	require.NoError(t, err)
	prod := &rig{srv: qa.srv, client: qa.client, store: store.NewMemory(), clock: qa.clock}
	prod.engine = prod.newEngine(t, prod.store, &mpsync.Options{Group: mpsync.ManagementGroup{Name: "Production"}, Ledger: shared, Approver: promo})

	qa.sync(t)
	rep := prod.sync(t)
	assert.Empty(t, prod.versions(t), "nothing soaked yet")
	assert.NotEmpty(t, rep.Pending())

	qa.clock.Advance(48 * time.Hour)
	prod.sync(t)
	assert.Empty(t, prod.versions(t), "48 h is not 72 h")

	qa.clock.Advance(25 * time.Hour)
	rep = prod.sync(t)
	require.NoError(t, rep.Err())
	assert.Equal(t, qa.versions(t), prod.versions(t), "promoted after the soak")
}

func TestConnectionLifecycle(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, &mpsync.Options{Group: mpsync.ManagementGroup{Name: "MG1", Version: pack.MustParseVersion("7.2.11719.0"), Language: "ENU"}})
	rep, err := r.engine.Connect(ctx)
	require.NoError(t, err)
	assert.Equal(t, []rules.Rule{rules.MPUpdate}, rep.Plan.Rules, "connect runs MPUpdate once")
	assert.Contains(t, r.versions(t), advisorID)
	assert.NotContains(t, r.versions(t), alertID)
	conn, err := r.engine.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, mpsync.StateConnected, conn.State)
	assert.Len(t, conn.Parts, 5)

	r.sync(t)
	assert.Contains(t, r.versions(t), alertID)

	drep, err := r.engine.Disconnect(ctx)
	require.NoError(t, err)
	assert.Equal(t, scom.PartSubscription, drep.PartsRemoved[0].Kind, "subscriptions first")
	assert.Equal(t, scom.PartConnector, drep.PartsRemoved[1].Kind)
	before := r.versions(t)

	_, err = r.engine.Sync(ctx)
	var nc *mpsync.NotConnectedError
	require.ErrorAs(t, err, &nc)
	assert.ErrorIs(t, err, mpsync.ErrNotConnected)
	assert.Equal(t, r.srv.WorkspaceID(), nc.WorkspaceID)
	assert.Equal(t, before, r.versions(t), "refused sync changes nothing")
	st, err := r.engine.Status(ctx)
	require.NoError(t, err, "status works while disconnected")
	assert.Equal(t, mpsync.StateDisconnected, st.Connection.State)
	val, err := r.engine.Validate(ctx)
	require.NoError(t, err)
	failed := map[string]string{}
	for _, c := range val.Failed() {
		failed[c.Name] = c.Detail
	}
	assert.Equal(t, "missing", failed["part connector Advisor Connector"], "Validate reports each part: %v", failed)
	assert.Equal(t, "missing", failed["part connector-subscription "+scom.AlertSubscription])
	assert.Contains(t, failed, "connection")
	assert.Contains(t, failed, "pack "+alertID, "wanted packs are gone")

	_, err = r.engine.Connect(ctx)
	require.ErrorIs(t, err, mpsync.ErrResourcesMissing)
	assert.Contains(t, err.Error(), "Microsoft.SystemCenter.Advisor.Resources.ENU")
	assert.Contains(t, err.Error(), "Management Packs for Update Rollups")

	res := mpsynctest.Pack("Microsoft.SystemCenter.Advisor.Resources.ENU", "7.1.10226.1239", scLib)
	_, err = r.store.Import(ctx, storage.ImportRequest{ID: "Microsoft.SystemCenter.Advisor.Resources.ENU", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}, strings.NewReader(string(res)))
	require.NoError(t, err)
	_, err = r.engine.Connect(ctx)
	require.NoError(t, err)
	rep = r.sync(t)
	require.NoError(t, rep.Err())
	assert.Contains(t, r.versions(t), alertID, "solutions come back after reconnect")

	v, err := r.engine.Validate(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK(), "failed checks: %+v", v.Failed())
}

func TestConnectRequirement(t *testing.T) {
	r := newRig(t, &mpsync.Options{Group: mpsync.ManagementGroup{Name: "Old", Version: pack.MustParseVersion("7.1.10226.0")}})
	_, err := r.engine.Connect(context.Background())
	require.ErrorIs(t, err, mpsync.ErrRequirement)
	var re *scom.RequirementError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "Operations Manager 2012 R2", re.Release)
	assert.Contains(t, err.Error(), "7.1.10226.0")
	assert.Contains(t, err.Error(), "7.1.10226.1015")
	assert.Empty(t, r.versions(t))
	conn, err := r.engine.Connection(context.Background())
	require.NoError(t, err)
	assert.Equal(t, mpsync.StateNever, conn.State, "a refused connect records nothing")
}

func TestSwitchWorkspaceRemovesOldPacksThroughApprover(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	other := mpsynctest.NewWorkspace(
		mpsynctest.WithWorkspaceID("ws-new"),
		mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib)),
	)
	rep, err := r.engine.SwitchWorkspace(ctx, newClient(t, other))
	require.NoError(t, err)
	assert.Equal(t, "remove/applied", results(rep)[alertID])
	assert.Equal(t, "keep/skipped", results(rep)[advisorID])
	conn, err := r.engine.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ws-new", conn.WorkspaceID)
	assert.NotContains(t, r.versions(t), alertID)

	_, err = mpsync.New(r.store, &mpsync.Options{Workspace: r.client, Clock: r.clock})
	require.NoError(t, err)
	e2 := r.newEngine(t, r.store, nil)
	_, err = e2.Sync(ctx)
	assert.ErrorIs(t, err, mpsync.ErrOtherWorkspace, "one workspace at a time")
}

func newClientFrom(cfg workspace.Config) (*workspace.Client, error) {
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	return workspace.New(cfg)
}

func TestFailuresStopDependentsOnly(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	// The library the AlertManagement pack references arrives cut short.
	r.srv.Fail(alertLibID, mpsynctest.Fault{Truncate: true, TruncateTo: 100})
	// A base pack whose document is broken after a valid manifest: the
	// download verifies (the catalog hashes what is served), the store's
	// whole-document validation refuses it.
	broken := mpsynctest.Pack(internalID, "7.1.10226.1239", scLib, ref(advisorID, "7.1.10226.0"))
	broken = append(broken[:len(broken)-len("</ManagementPack>\n")], []byte("<Unclosed>")...)
	r.srv.Publish(internalID, "7.1.10226.1239", catalog.ChannelBase, "", broken)

	rep := r.sync(t)
	res := results(rep)
	assert.Equal(t, "import/applied", res[advisorID])
	assert.Equal(t, "blocked/failed", res[alertLibID], "download refused")
	assert.Equal(t, "blocked/skipped", res[alertID], "its dependent waits")
	assert.Equal(t, "import/failed", res[internalID], "store refused the document")
	require.Error(t, rep.Err())
	var ce *mpsync.ChangeError
	require.ErrorAs(t, rep.Err(), &ce)
	for _, o := range rep.Failed() {
		assert.Contains(t, o.Err.Error(), o.Pack, "the error names the pack")
	}
	assert.Equal(t, map[string]string{advisorID: "7.1.10226.1239"}, r.versions(t), "the rest of the store is as it was")
	st, err := r.engine.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "failed", st.Rules[0].LastResult)

	// Once the service serves good bytes, the next run completes.
	r.srv.ClearFaults()
	r.srv.Publish(internalID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(internalID, "7.1.10226.1239", scLib, ref(advisorID, "7.1.10226.0")))
	rep = r.sync(t)
	require.NoError(t, rep.Err())
	assert.Len(t, r.versions(t), 4)
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
