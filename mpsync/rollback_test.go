package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
)

// Regression: Rollback restored X 1.0 although Y 2.0 references X >= 2.0.
func TestRegressionRollbackRefusesToBreakADependent(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	ws.put("X", "2.0.0.0", "S")
	ws.put("Y", "2.0.0.0", "S", rref("X", "2.0.0.0"))
	_, err = e.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"X": "2.0.0.0", "Y": "2.0.0.0"}, storeVersions(t, s))
	_, err = e.Rollback(ctx, "X")
	require.Error(t, err, "rollback left %v: Y 2.0 references X >= 2.0", storeVersions(t, s))
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
