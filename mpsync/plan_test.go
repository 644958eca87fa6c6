// Planning seen through Engine.Plan and Engine.Sync (run.go); the pure
// planner's table tests are beside it, in mpsync/plan.

package mpsync_test

import (
	"context"
	"testing"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// Regression: a pack the catalog still wanted was removed by MPUpdate when
// its channel moved from base to solution.
func TestRegressionChannelMoveKeepsAWantedPack(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("P", "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	// The service now ships P with solution S (same version, now a solution pack).
	ws.put("P", "1.0.0.0", "S")
	require.Equal(t, catalog.ChannelSolution, ws.cat.Packs[0].Channel)
	p, err := e.Plan(ctx, rules.MPUpdate)
	require.NoError(t, err)
	t.Log("\n" + p.String())
	require.Zero(t, p.Count(plan.ActionRemove), "MPUpdate plans to remove P although the catalog lists and wants it")
}

// Regression: a pack referencing a member of a blocked reference cycle was
// imported without its reference.
func TestRegressionDependentOfABlockedCycleIsBlocked(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("A", "1.0.0.0", "S", rref("B", "1.0.0.0"))
	ws.put("B", "1.0.0.0", "S", rref("A", "1.0.0.0"))
	ws.put("C", "1.0.0.0", "S", rref("A", "1.0.0.0"))
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	rep, err := e.Sync(ctx)
	require.NoError(t, err)
	t.Log("\n" + rep.String())
	got := storeVersions(t, s)
	if _, ok := got["C"]; ok {
		_, hasA := got["A"]
		require.True(t, hasA, "C was imported but its reference A was not (A is blocked in a cycle)")
	}
}
