package mpsync_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
)

// Regression: Plan read the workspace without a lock while SwitchWorkspace
// wrote it.
func TestRegressionRacePlanSwitch(t *testing.T) {
	ctx := context.Background()
	ws1, ws2 := newFakeWS("ws1"), newFakeWS("ws2")
	ws1.put("X", "1.0.0.0", "")
	ws2.put("X", "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws1, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var switchErr, planErr error
	var plan *mpsync.Plan
	wg.Add(2)
	go func() { defer wg.Done(); _, switchErr = e.SwitchWorkspace(ctx, ws2) }()
	go func() { defer wg.Done(); plan, planErr = e.Plan(ctx) }()
	wg.Wait()
	require.NoError(t, switchErr)
	require.NoError(t, planErr)
	require.Contains(t, []string{"ws1", "ws2"}, plan.WorkspaceID, "a plan comes from one workspace, whole")
	conn, err := e.Connection(ctx)
	require.NoError(t, err)
	require.Equal(t, "ws2", conn.WorkspaceID)
}

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

var _ = mpsync.ActionRemove
