package mpsync

import (
	"context"
	"errors"
	"testing"

	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/storage"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

// failingMeta is a store whose metadata writes fail.
type failingMeta struct {
	Store
	err error
}

func (f failingMeta) WriteMeta(context.Context, string, []byte) error { return f.err }

// The engine's records keep their names: they are part of the store's
// layout, which stores written by earlier versions rely on.
func TestRecordNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{connectionRecord.name, "connection.json"},
		{runsRecord.name, "runs.json"},
		{pendingRecord.name, "pending.json"},
		{ledger.JSONLRecordName, "ledger.jsonl"},
	} {
		assert.Equal(t, tt.want, tt.got)
	}
}

func TestRecordReadWrite(t *testing.T) {
	ctx := context.Background()
	type payload struct {
		N int    `json:"n"`
		S string `json:"s"`
	}
	rec := record[payload]{name: "test.json"}
	boom := errors.New("disk full")
	tests := []struct {
		name      string
		setup     func(t *testing.T, s Store) Store
		want      payload
		wantFound bool
		wantErr   string // "" when read succeeds
		wantIs    error
	}{
		{name: "absent record reads as not found, no error",
			setup: func(t *testing.T, s Store) Store { return s }},
		{name: "written value reads back",
			setup: func(t *testing.T, s Store) Store {
				require.NoError(t, rec.write(ctx, s, payload{N: 7, S: "x"}))
				return s
			},
			want: payload{N: 7, S: "x"}, wantFound: true},
		{name: "second write replaces the first",
			setup: func(t *testing.T, s Store) Store {
				require.NoError(t, rec.write(ctx, s, payload{N: 1}))
				require.NoError(t, rec.write(ctx, s, payload{S: "y"}))
				return s
			},
			want: payload{S: "y"}, wantFound: true},
		{name: "damaged record is an error naming it, with a zero value",
			setup: func(t *testing.T, s Store) Store {
				require.NoError(t, s.WriteMeta(ctx, "test.json", []byte(`{"n": 7,`)))
				return s
			},
			wantErr: "metadata record test.json in the store is corrupt", wantIs: storage.ErrCorruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.setup(t, store.NewMemory())
			got, found, err := rec.read(ctx, s)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				if tt.wantIs != nil {
					require.ErrorIs(t, err, tt.wantIs)
				}
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantFound, found)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("failed write is an error naming the record", func(t *testing.T) {
		err := rec.write(ctx, failingMeta{Store: store.NewMemory(), err: boom}, payload{N: 1})
		require.ErrorIs(t, err, boom)
		assert.ErrorContains(t, err, "write test.json")
	})
}

// Regression (issue 15, point 5): a corrupt record is reported with its name
// and recovery, and its bytes can be set aside before it is written afresh.
func TestCorruptRecordSetAside(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	bad := []byte(`{"state": "conn`)
	require.NoError(t, s.WriteMeta(ctx, connectionRecord.name, bad))
	_, raw, found, err := connectionRecord.readRaw(ctx, s)
	var ce *storage.CorruptRecordError
	require.ErrorAs(t, err, &ce)
	assert.False(t, found)
	assert.Equal(t, "connection.json", ce.Record)
	assert.Contains(t, err.Error(), "mpsync connect", "the error gives the recovery")
	require.NoError(t, connectionRecord.setAside(ctx, s, raw))
	got, err := s.ReadMeta(ctx, "connection.json"+storage.CorruptSuffix)
	require.NoError(t, err)
	assert.Equal(t, bad, got)
}
