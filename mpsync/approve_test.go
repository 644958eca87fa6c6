package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/rules"
)

// The command used to approve by reading the queue's record and building a
// second engine to find a change from a plan; the engine does both now.
func TestApproveThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	manual := approval.NewManual(r.store, approval.ManualClock(r.clock))
	e := r.newEngine(t, r.store, &mpsync.Options{Approver: manual})

	rep, err := e.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)
	pending := rep.Pending()
	require.NotEmpty(t, pending, "the manual approver holds every change")
	first := pending[0].ID

	st, err := e.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Approvals, len(pending))
	for _, a := range st.Approvals {
		assert.Equal(t, approval.StateWaiting, a.Approval, a.Pack)
	}

	res, err := e.Approve(ctx, "alice", first)
	require.NoError(t, err)
	assert.Equal(t, []string{first}, res.Approved)
	st, err = e.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, approval.StateApproved, st.Approvals[0].Approval, "Status shows the decision")

	// An id from a fresh plan that no run queued yet is approved ahead.
	p, err := e.Plan(ctx)
	require.NoError(t, err)
	var planned string
	for _, c := range p.Actionable() {
		if c.Rule == rules.GetIntelligencePacks {
			planned = c.ID
			break
		}
	}
	require.NotEmpty(t, planned, "the plan has solution packs no run asked about")
	res, err = e.Approve(ctx, "alice", planned, "chg-00000000deadbeef")
	require.Error(t, err)
	assert.ErrorIs(t, err, approval.ErrUnknownChange)
	assert.Contains(t, err.Error(), "chg-00000000deadbeef")
	assert.Equal(t, []string{planned}, res.Preapproved, "the good id is approved whatever happens to the bad one")

	done, err := e.ApproveAll(ctx, "bob")
	require.NoError(t, err)
	assert.Len(t, done, len(pending)-1, "every change still waiting")

	rep, err = e.Sync(ctx)
	require.NoError(t, err)
	applied := map[string]bool{}
	for _, o := range rep.Applied() {
		applied[o.ID] = true
	}
	for _, o := range pending {
		assert.True(t, applied[o.ID], "approved %s (%s) is applied", o.ID, o.Pack)
	}
	assert.True(t, applied[planned], "the change approved ahead from the plan is applied")
}

func TestApproveNeedsAQueue(t *testing.T) {
	r := newRig(t, nil)
	_, err := r.engine.Approve(context.Background(), "alice", "chg-1")
	assert.ErrorIs(t, err, mpsync.ErrNoApprovalQueue)
	_, err = r.engine.ApproveAll(context.Background(), "alice")
	assert.ErrorIs(t, err, mpsync.ErrNoApprovalQueue)
}
