package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

// Regression: a removal's id did not depend on the version removed, so an
// approval of "remove X 1.0" also approved "remove X 2.0".
func TestRegressionRemovalIDBindsTheVersion(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	ws.solution("S", false)
	p1, err := e.Plan(ctx)
	require.NoError(t, err)
	ws.solution("S", true)
	ws.put("X", "2.0.0.0", "S")
	_, err = e.Sync(ctx)
	require.NoError(t, err)
	ws.solution("S", false)
	p2, err := e.Plan(ctx)
	require.NoError(t, err)
	a, b := p1.Actionable()[0], p2.Actionable()[0]
	t.Logf("%s %s from %s ; %s %s from %s", a.ID, a.Action, a.From, b.ID, b.Action, b.From)
	require.NotEqual(t, a.ID, b.ID)
}
