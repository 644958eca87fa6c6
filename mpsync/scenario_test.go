// End-to-end scenarios: an engine against the fake workspace service over
// HTTP (helpers_test.go's rig), each a sequence of runs an operator lives
// through. Tests that guard one concept live in that concept's file.

package mpsync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// a Monday

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
	assert.Equal(t, status.Connected, conn.State, "first sync connects the store")

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
			assert.Equal(t, plan.ActionBlocked, o.Action)
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
	assert.Equal(t, status.RunStale, st.Rules[1].LastResult)
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

	recs, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{Kind: ledger.KindDecision, Pack: advisorID})
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, plan.Approve, recs[len(recs)-1].Verdict)
}

func TestPromotionFromQAAfterSoak(t *testing.T) {
	shared := ledger.NewMemory()
	qa := newRig(t, &mpsync.Options{Group: scom.ManagementGroup{Name: "QA"}, Ledger: shared})
	promo, err := approval.NewPromotion(shared, "QA", 72*time.Hour)
	require.NoError(t, err)
	prod := &rig{srv: qa.srv, client: qa.client, store: store.NewMemory(), clock: qa.clock}
	prod.engine = prod.newEngine(t, prod.store, &mpsync.Options{Group: scom.ManagementGroup{Name: "Production"}, Ledger: shared, Approver: promo})

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
