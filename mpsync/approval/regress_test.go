package approval_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
)

func TestRegressionManualCrossGroup(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta(), approval.ManualClock(fixedClock{t0}))
	c := change("chg-1", mpsync.ActionImport, "Microsoft.IntelligencePacks.X", "7.1.0.1", "aa")
	qa := mpsync.ApprovalRequest{Change: c, Group: "QA", Now: t0}
	prod := mpsync.ApprovalRequest{Change: c, Group: "PROD", Now: t0}
	d, err := m.Decide(ctx, qa)
	require.NoError(t, err)
	require.Equal(t, mpsync.Defer, d.Verdict)
	require.NoError(t, m.Approve(ctx, "chg-1", "alice"))
	d, err = m.Decide(ctx, prod)
	require.NoError(t, err)
	require.Equal(t, mpsync.Defer, d.Verdict, "PROD got %s (%s) from QA's approval", d.Verdict, d.Reason)
}

func TestRegressionWindowLocal(t *testing.T) {
	if os.Getenv("TZ") != "Europe/Berlin" {
		t.Skip("run with TZ=Europe/Berlin")
	}
	w, err := approval.ParseWindow("0 2 * * *", time.Hour, "Local")
	require.NoError(t, err)
	// 02:30 Berlin in January = 01:30 UTC. The engine's clock may read UTC.
	nowUTC := time.Date(2026, 1, 10, 1, 30, 0, 0, time.UTC)
	t.Logf("Open(local)=%v Open(utc)=%v  %s", w.Open(nowUTC.Local()), w.Open(nowUTC), w)
	require.Equal(t, w.Open(nowUTC.Local()), w.Open(nowUTC), "same instant, different answer")
}
