package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// TestAppendMetaFailureLeavesRecord: an append that fails after its bytes
// reached the record is undone, so the error means "not appended"; only
// when the undo fails too does the error wrap ErrPartialAppend, and then
// the record may hold the bytes.
func TestAppendMetaFailureLeavesRecord(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, c := range []struct {
		name      string
		existing  bool
		undoFails bool
	}{
		{"existing record", true, false},
		{"new record", false, false},
		{"existing record, undo fails", true, true},
		{"new record, undo fails", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := openTemp(t)
			ctx := context.Background()
			if c.existing {
				require.NoError(t, d.AppendMeta(ctx, "runs.log", []byte("one\n")))
			}
			store.SetFailpoint(d, func(s string) error {
				if s == store.AppendWriteStep || c.undoFails && s == store.AppendUndoStep {
					return errDisk
				}
				return nil
			})
			err := d.AppendMeta(ctx, "runs.log", []byte("two\n"))
			require.ErrorIs(t, err, errDisk)
			var oe *store.OpError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "append meta", oe.Op)
			store.SetFailpoint(d, nil)

			b, rerr := d.ReadMeta(ctx, "runs.log")
			if c.undoFails {
				assert.ErrorIs(t, err, storage.ErrPartialAppend, "the caller can tell the record may hold part of the data")
				require.NoError(t, rerr)
				if c.existing {
					assert.Equal(t, "one\ntwo\n", string(b))
				} else {
					assert.Equal(t, "two\n", string(b))
				}
				return
			}
			assert.NotErrorIs(t, err, storage.ErrPartialAppend, "the record is as it was")
			if c.existing {
				require.NoError(t, rerr)
				assert.Equal(t, "one\n", string(b), "the failed append was cut off")
			} else {
				assert.ErrorIs(t, rerr, storage.ErrNotFound, "the record the failed append created is gone")
				_, serr := os.Stat(filepath.Join(d.Path(), "meta", "runs.log"))
				assert.ErrorIs(t, serr, os.ErrNotExist)
			}
			require.NoError(t, d.AppendMeta(ctx, "runs.log", []byte("three\n")))
			b, err = d.ReadMeta(ctx, "runs.log")
			require.NoError(t, err)
			if c.existing {
				assert.Equal(t, "one\nthree\n", string(b), "the next append starts where the record ended")
			} else {
				assert.Equal(t, "three\n", string(b))
			}
		})
	}
}
