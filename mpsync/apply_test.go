package mpsync_test

import (
	"context"
	"testing"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
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
	e := newFakeEngine(t, ws, s, &mpsync.Options{Approver: approval.ApproverFunc(func(ctx context.Context, r approval.Request) (approval.Decision, error) {
		if deny && r.Change.Action == plan.ActionUpgrade {
			return approval.Decision{Verdict: plan.Deny, Reason: "policy holds Y", By: "policy"}, nil
		}
		return approval.Decision{Verdict: plan.Approve, By: "t"}, nil
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
	assert.Equal(t, status.RunFailed, st.Rules[0].LastResult)

	// Once the service serves good bytes, the next run completes.
	r.srv.ClearFaults()
	r.srv.Publish(internalID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(internalID, "7.1.10226.1239", scLib, ref(advisorID, "7.1.10226.0")))
	rep = r.sync(t)
	require.NoError(t, rep.Err())
	assert.Len(t, r.versions(t), 4)
}
