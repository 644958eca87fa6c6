package mpsync_test

import (
	"context"
	"testing"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/storage"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

var garbage = []byte(`{"rules": {"MPUpdate": {"lastRun": "2026-`)

func ledgerRepairs(t *testing.T, s mpsync.Store) []ledger.Record {
	t.Helper()
	recs, err := ledger.NewJSONL(s).Query(context.Background(), ledger.Query{Kind: ledger.KindRepair})
	require.NoError(t, err)
	return recs
}

func requireSetAside(t *testing.T, s mpsync.Store, name string, want []byte) {
	t.Helper()
	got, err := s.ReadMeta(context.Background(), name+storage.CorruptSuffix)
	require.NoError(t, err, "%s was not set aside", name)
	assert.Equal(t, want, got, "the copy set aside holds the corrupt bytes")
}

// Regression (issue 15, point 5): a corrupt connection record made every
// command fail until the file was deleted by hand. Every operation names
// the record and the recovery; Connect is the recovery.
func TestRegressionCorruptConnectionRecord(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	require.NoError(t, s.WriteMeta(ctx, "connection.json", garbage))

	for name, op := range map[string]func() error{
		"sync":     func() error { _, err := e.Sync(ctx); return err },
		"status":   func() error { _, err := e.Status(ctx); return err },
		"validate": func() error { _, err := e.Validate(ctx); return err },
	} {
		err := op()
		require.ErrorIs(t, err, storage.ErrCorruptRecord, name)
		var ce *storage.CorruptRecordError
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, "connection.json", ce.Record, name)
		assert.Contains(t, err.Error(), "mpsync connect", "%s: the error says how to recover", name)
	}
	rep, err := e.Repair(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Left, 1, "Repair leaves the connection to Connect")
	assert.Equal(t, "connection.json", rep.Left[0].Record)

	_, err = e.Connect(ctx)
	require.NoError(t, err)
	requireSetAside(t, s, "connection.json", garbage)
	conn, err := e.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, status.Connected, conn.State)
	assert.Equal(t, "ws1", conn.WorkspaceID)
	_, err = e.Sync(ctx)
	require.NoError(t, err)
	recs := ledgerRepairs(t, s)
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0].Reason, "connection.json")
}

// Regression (issue 15, point 5): a corrupt run or pending record made
// Status fail, while a sync silently replaced it (dropping the changes
// other rules left pending). Status reports it and shows the rest; a run
// sets it aside before writing it afresh, and says so in the ledger.
func TestRegressionCorruptRunsAndPendingRecords(t *testing.T) {
	for _, name := range []string{"runs.json", "pending.json"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, nil)
			e := r.engine
			_, err := e.Sync(ctx)
			require.NoError(t, err)
			require.NoError(t, r.store.WriteMeta(ctx, name, garbage))

			st, err := e.Status(ctx)
			require.NoError(t, err, "status shows what it can")
			require.Len(t, st.Corrupt, 1)
			assert.Equal(t, name, st.Corrupt[0].Record)
			assert.Contains(t, st.Corrupt[0].Recovery, "mpsync repair")
			assert.NotEmpty(t, st.Packs)

			v, err := e.Validate(ctx)
			require.NoError(t, err)
			if name == "runs.json" {
				c, ok := check(v, "run history")
				require.True(t, ok, "%+v", v.Checks)
				assert.False(t, c.OK)
			}

			_, err = e.Sync(ctx, rules.MPUpdate)
			require.NoError(t, err)
			requireSetAside(t, r.store, name, garbage)
			recs := ledgerRepairs(t, r.store)
			require.NotEmpty(t, recs, "the ledger says the record was set aside")
			assert.Contains(t, recs[0].Reason, name)
			st, err = e.Status(ctx)
			require.NoError(t, err)
			assert.Empty(t, st.Corrupt, "the record was started afresh")
		})
	}
}

// failWrites is a store whose writes of one metadata record fail.
type failWrites struct {
	*store.Memory
	name string
}

func (f failWrites) WriteMeta(ctx context.Context, name string, data []byte) error {
	if name == f.name {
		return assert.AnError
	}
	return f.Memory.WriteMeta(ctx, name, data)
}

// Regression (issue 15, point 5): a corrupt pending record is never
// overwritten unless its bytes were set aside first.
func TestRegressionCorruptPendingKeptWhenItCannotBeSetAside(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	s := failWrites{Memory: store.NewMemory(), name: "pending.json" + storage.CorruptSuffix}
	e := newFakeEngine(t, ws, s, nil)
	require.NoError(t, s.WriteMeta(ctx, "pending.json", garbage))
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	got, err := s.ReadMeta(ctx, "pending.json")
	require.NoError(t, err)
	assert.Equal(t, garbage, got, "the corrupt record stays as it was")
}

// Regression (issue 15, point 5): Repair sets every corrupt record it can
// start afresh aside, the approval queue included; records that decode are
// not touched.
func TestRegressionRepair(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	manual := approval.NewManual(r.store, approval.ManualClock(r.clock))
	e := r.newEngine(t, r.store, &mpsync.Options{Approver: manual})
	_, err := e.Sync(ctx)
	require.NoError(t, err)

	rep, err := e.Repair(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.SetAside, "a sound store is left alone")
	assert.Empty(t, rep.Left)

	require.NoError(t, r.store.WriteMeta(ctx, approval.ManualRecord, garbage))
	_, err = manual.Pending(ctx)
	require.ErrorIs(t, err, storage.ErrCorruptRecord, "the queue names its record")
	assert.Contains(t, err.Error(), approval.ManualRecord)
	assert.Contains(t, err.Error(), "mpsync repair", "and the recovery")
	rep1, err := e.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)
	require.Error(t, rep1.Err(), "the run reports the changes it could not decide on, and drops nothing")
	got, err := r.store.ReadMeta(ctx, approval.ManualRecord)
	require.NoError(t, err)
	assert.Equal(t, garbage, got, "a run leaves the corrupt queue as it is")

	for _, name := range []string{"runs.json", "pending.json"} {
		require.NoError(t, r.store.WriteMeta(ctx, name, garbage))
	}
	rep, err = e.Repair(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"runs.json", "pending.json", approval.ManualRecord}, rep.SetAside)
	for _, name := range rep.SetAside {
		requireSetAside(t, r.store, name, garbage)
	}
	assert.Len(t, ledgerRepairs(t, r.store), 3)
	st, err := e.Status(ctx)
	require.NoError(t, err)
	assert.Empty(t, st.Corrupt)
	_, err = manual.Pending(ctx)
	require.NoError(t, err)
	rep, err = e.Repair(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.SetAside, "repaired once")
}
