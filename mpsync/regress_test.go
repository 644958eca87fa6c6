package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
)

// Regression: removal of X went ahead although the upgrade of Y (whose imported version
// references X) was denied, leaving Y 1.0 referencing a pack that was gone.
func TestRegressionDeniedUpgradeKeepsTheReferencedPack(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	ws.put("Y", "1.0.0.0", "S", rref("X", "1.0.0.0"))
	s := store.NewMemory()
	deny := false
	e := newFakeEngine(t, ws, s, &mpsync.Options{Approver: mpsync.ApproverFunc(func(ctx context.Context, r mpsync.ApprovalRequest) (mpsync.Decision, error) {
		if deny && r.Change.Action == mpsync.ActionUpgrade {
			return mpsync.Decision{Verdict: mpsync.Deny, Reason: "policy holds Y", By: "policy"}, nil
		}
		return mpsync.Decision{Verdict: mpsync.Approve, By: "t"}, nil
	})})
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"X": "1.0.0.0", "Y": "1.0.0.0"}, storeVersions(t, s))

	// Y 2.0 no longer needs X; X leaves the catalog. Y's upgrade is denied.
	ws.put("Y", "2.0.0.0", "S")
	ws.drop("X")
	deny = true
	rep, err := e.Sync(ctx)
	require.NoError(t, err)
	t.Log("\n" + rep.String())
	got := storeVersions(t, s)
	// Y 1.0 stays and references X: X must stay too.
	require.Equal(t, "1.0.0.0", got["Y"])
	require.Contains(t, got, "X", "X was removed although Y 1.0 (which stays) references it")
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

// A Workspace whose Fetch returns a reader that cannot seek (the interface
// does not require one) gets every import blocked.
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
