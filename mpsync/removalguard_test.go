package mpsync_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// The removal guard (issue: a catalog without packs removed every
// workspace pack, exit 0): a run that would remove more than the allowed
// share of the workspace's packs has its removals denied, the rest of its
// plan applies, and a run with a share of 1 confirms them.
func TestRemovalGuard(t *testing.T) {
	all := []string{advisorID, internalID, alertID, alertLibID, updatesID}
	tests := []struct {
		name    string
		share   float64
		change  func(r *rig)
		denied  []string // removals the guard denied
		kept    []string // packs still in the store
		applied []string // changes applied
	}{
		{
			// The base packs stay whatever the catalog says; three of
			// five is more than half.
			name:   "a catalog that lists no packs removes nothing",
			change: func(r *rig) { unpublish(r, all...) },
			denied: []string{alertID, updatesID},
			kept:   all,
		},
		{
			name: "held removals, the upgrade applies",
			change: func(r *rig) {
				unpublish(r, alertID, alertLibID, updatesID)
				r.srv.Publish(advisorID, "7.1.10226.1240", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1240", scLib))
			},
			denied:  []string{alertID, updatesID},
			kept:    []string{alertID, alertLibID, updatesID},
			applied: []string{advisorID},
		},
		{
			name:    "two of five is not more than the default share",
			change:  func(r *rig) { r.srv.DisableSolution("AlertManagement") },
			applied: []string{alertID, alertLibID},
		},
		{
			name:    "one removal is never held",
			share:   0.1,
			change:  func(r *rig) { unpublish(r, updatesID) },
			applied: []string{updatesID},
		},
		{
			name:    "a share of 1 confirms any removal",
			share:   1,
			change:  func(r *rig) { unpublish(r, all...) },
			kept:    []string{advisorID, internalID},
			applied: []string{alertID, alertLibID, updatesID},
		},
		{
			// The library stays because the pack that needs it stays.
			name:   "a small share holds two of five",
			share:  0.25,
			change: func(r *rig) { r.srv.DisableSolution("AlertManagement") },
			denied: []string{alertID},
			kept:   []string{alertID, alertLibID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, &mpsync.Options{MaxRemovalShare: tt.share})
			r.srv.EnableSolution("Updates")
			r.sync(t)
			require.Len(t, r.versions(t), 5)
			before := r.versions(t)
			tt.change(r)
			rep := r.sync(t, rules.All()...)
			got := results(rep)
			for _, id := range tt.denied {
				assert.Equal(t, "remove/denied", got[id], id)
				o := outcomeOf(t, rep, id)
				require.NotNil(t, o.Decision, id)
				assert.Equal(t, mpsync.RemovalGuardName, o.Decision.By)
				assert.Contains(t, o.Decision.Reason, "held by the removal guard")
				assert.True(t, errors.Is(o.Err, mpsync.ErrNotApproved), "%v", o.Err)
			}
			for _, id := range tt.kept {
				assert.Equal(t, before[id], r.versions(t)[id], "%s stays in the store", id)
			}
			for _, id := range tt.applied {
				assert.Contains(t, got[id], "/applied", id)
			}
			// The guard's decisions are in the ledger, by the guard.
			recs, err := ledger.NewJSONL(r.store).Query(context.Background(), ledger.Query{})
			require.NoError(t, err)
			var guarded []string
			for _, rec := range recs {
				if rec.Kind == ledger.KindDecision && rec.By == mpsync.RemovalGuardName {
					assert.Equal(t, plan.Deny, rec.Verdict)
					guarded = append(guarded, rec.Pack)
				}
			}
			assert.ElementsMatch(t, tt.denied, guarded)
		})
	}
}

// A run that reuses the previous plan keeps the guard's removals held
// without asking the approver about them; a confirmed run then removes
// them.
func TestRemovalGuardHeldUntilConfirmed(t *testing.T) {
	r := newRig(t, nil)
	r.srv.EnableSolution("Updates")
	r.sync(t)
	unpublish(r, advisorID, internalID, alertID, alertLibID, updatesID)
	rep := r.sync(t, rules.All()...)
	assert.Equal(t, "remove/denied", results(rep)[alertID])
	rep = r.sync(t, rules.All()...)
	assert.True(t, rep.Reused, "nothing changed: the plan is reused")
	assert.Equal(t, "remove/denied", results(rep)[alertID])
	assert.Len(t, r.versions(t), 5)

	confirm := r.newEngine(t, r.store, &mpsync.Options{MaxRemovalShare: 1})
	rep, err := confirm.Sync(context.Background(), rules.All()...)
	require.NoError(t, err)
	assert.Equal(t, "remove/applied", results(rep)[alertID])
	assert.Equal(t, []string{advisorID, internalID}, slices.Sorted(maps.Keys(r.versions(t))))
}

func TestMaxRemovalShareOutOfRange(t *testing.T) {
	for _, share := range []float64{-0.1, 1.5, math.NaN()} {
		_, err := mpsync.New(store.NewMemory(), &mpsync.Options{MaxRemovalShare: share})
		require.Error(t, err, "%v", share)
		assert.Contains(t, err.Error(), "Options.MaxRemovalShare")
	}
}

func unpublish(r *rig, ids ...string) {
	for _, id := range ids {
		r.srv.Unpublish(id)
	}
}

func outcomeOf(t *testing.T, rep *mpsync.Report, id string) mpsync.Outcome {
	t.Helper()
	for _, o := range rep.Outcomes {
		if o.Pack == id {
			return o
		}
	}
	t.Fatalf("no outcome for %s", id)
	return mpsync.Outcome{}
}
