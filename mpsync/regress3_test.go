package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

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

const advisor = "Microsoft.SystemCenter.Advisor"
