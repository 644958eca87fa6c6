package approval_test

import (
	"context"
	"errors"
	"testing"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/storage"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
)

// Regression (issue 15, point 5): a corrupt queue was a bare decoding
// error with no way out but deleting the file by hand. It is a
// *storage.CorruptRecordError naming the record and the recovery, every
// method reports it (so no run drops an approval silently), and Repair
// sets it aside and starts the queue empty.
func TestRegressionManualCorruptQueue(t *testing.T) {
	ctx := context.Background()
	bad := []byte(`{"format": 1, "changes": [{"change": {"id": "chg-a"`)
	tests := []struct {
		name      string
		record    []byte // nil: no record
		wantFixed string
	}{
		{name: "no queue yet"},
		{name: "sound queue", record: []byte(`{"format": 1, "changes": []}`)},
		{name: "corrupt queue", record: bad, wantFixed: approval.ManualRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			meta := newMemMeta()
			if tc.record != nil {
				require.NoError(t, meta.WriteMeta(ctx, approval.ManualRecord, tc.record))
			}
			m := approval.NewManual(meta)
			if tc.wantFixed != "" {
				_, err := m.Decide(ctx, req(change("chg-b", plan.ActionImport, "P", "1.0.0.0", "bb"), t0))
				var ce *storage.CorruptRecordError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, approval.ManualRecord, ce.Record)
				for _, err := range []error{
					func() error { _, err := m.Pending(ctx); return err }(),
					func() error { _, err := m.Queue(ctx); return err }(),
					m.Approve(ctx, "chg-a", "alice"),
				} {
					assert.True(t, errors.Is(err, storage.ErrCorruptRecord), "%v", err)
				}
			}
			got, err := m.Repair(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.wantFixed, got)
			if tc.wantFixed != "" {
				aside, err := meta.ReadMeta(ctx, approval.ManualRecord+storage.CorruptSuffix)
				require.NoError(t, err)
				assert.Equal(t, bad, aside)
			}
			p, err := m.Pending(ctx)
			require.NoError(t, err)
			assert.Empty(t, p)
		})
	}
}

// Regression (issue 15, point 6): a waiting change no run asks about again
// stayed listed forever; Prune marks the ones the engine says are
// overtaken superseded, and leaves decided ones alone.
func TestRegressionManualPrune(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta(), approval.ManualClock(fixedClock{t0}))
	a := change("chg-a", plan.ActionImport, "A", "1.0.0.0", "aa")
	b := change("chg-b", plan.ActionImport, "B", "1.0.0.0", "bb")
	c := change("chg-c", plan.ActionImport, "C", "1.0.0.0", "cc")
	for _, ch := range []mpsync.Change{a, b, c} {
		decide(t, m, req(ch, t0))
	}
	require.NoError(t, m.Approve(ctx, "chg-c", "alice"))
	ids, err := m.Prune(ctx, func(q approval.QueuedChange) (string, bool) {
		return "the store already holds it", q.Change.Pack != "B"
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"chg-a"}, ids, "only waiting changes are pruned")
	for id, want := range map[string]approval.QueueState{"chg-a": approval.QueueSuperseded, "chg-b": approval.QueuePending, "chg-c": approval.QueueApproved} {
		got, err := m.State(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, got, id)
	}
	p, err := m.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, p, 1)
	assert.Equal(t, "chg-b", p[0].Change.ID)
}
