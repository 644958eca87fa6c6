package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

var _ mpsync.Store = (*store.Dir)(nil)

func openTemp(t *testing.T) *store.Dir {
	t.Helper()
	d, err := store.OpenDir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDirConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return openTemp(t) })
}

// A 256-character id was valid in the catalog (docs/protocol.md) but refused
// by the directory store, whose files were named by pack id; files are named
// by hash now, and the two rules are one (pack.CheckID).
func TestLongestCatalogIDImports(t *testing.T) {
	d, err := store.OpenDir(t.TempDir(), nil)
	require.NoError(t, err)
	defer d.Close()
	id := strings.Repeat("a", 256)
	require.NoError(t, pack.CheckID(id))
	_, err = d.Import(context.Background(), storage.ImportRequest{ID: id}, bytes.NewReader(mpsynctest.Pack(id, "1.0")))
	require.NoError(t, err)
	_, err = d.Import(context.Background(), storage.ImportRequest{ID: id + "a"}, bytes.NewReader(mpsynctest.Pack(id, "1.0")))
	assert.ErrorIs(t, err, pack.ErrInvalidID, "one character more is refused, as the catalog refuses it")
}
