package mpsync

import (
	"testing"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
)

// Moved from the command, which merged the queue by reading its raw record.
func TestPendingApprovals(t *testing.T) {
	a := Change{ID: "chg-a", Pack: "A", Action: plan.ActionImport, To: pack.MustParseVersion("1.0")}
	b := Change{ID: "chg-b", Pack: "B", Action: plan.ActionUpgrade, From: pack.MustParseVersion("1.0"), To: pack.MustParseVersion("2.0")}
	c := Change{ID: "chg-c", Pack: "C", Action: plan.ActionRemove, From: pack.MustParseVersion("1.0")}
	d := Change{ID: "chg-d", Pack: "D", Action: plan.ActionImport, To: pack.MustParseVersion("1.0")}
	queue := []approval.QueuedChange{
		{Change: a, State: approval.StateWaiting}, {Change: b, State: approval.StateDenied},
		{Change: c, State: approval.StateWaiting}, {Change: d, State: approval.StateSuperseded},
	}
	got := pendingApprovals([]Change{a, b}, queue)
	require.Len(t, got, 3)
	assert.Equal(t, status.PendingApproval{Change: a, Approval: approval.StateWaiting}, got[0])
	assert.Equal(t, approval.StateDenied, got[1].Approval, "held by the engine, denied in the queue")
	assert.Equal(t, status.PendingApproval{Change: c, Approval: approval.StateWaiting}, got[2], "queued, not left pending by a run")

	got = pendingApprovals([]Change{b}, nil)
	require.Len(t, got, 1)
	assert.Equal(t, approval.StateDeferred, got[0].Approval, "no manual queue: another approver holds it")
	assert.NotNil(t, pendingApprovals(nil, nil), "an empty list is [] in JSON, not null")
}

type errString2 string

func (e errString2) Error() string { return string(e) }
