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

// The engine reuses its last plan while the store's generation is
// unchanged: every change to packs must move it, metadata records must not,
// and a rebuilt database must not answer an earlier number.
func TestDirGeneration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	var _ storage.Generationer = d
	gen := func() uint64 {
		t.Helper()
		g, err := d.Generation(ctx)
		require.NoError(t, err)
		return g
	}
	seen := map[uint64]bool{gen(): true}
	moved := func(what string) {
		t.Helper()
		g := gen()
		assert.False(t, seen[g], "%s moves the generation", what)
		seen[g] = true
	}
	imp := func(id, v string) {
		t.Helper()
		_, err := d.Import(ctx, storage.ImportRequest{ID: id}, bytes.NewReader(mpsynctest.Pack(id, v)))
		require.NoError(t, err)
	}
	imp("Gen.A", "1.0")
	moved("an import")
	imp("Gen.A", "2.0")
	moved("an upgrade")
	_, err = d.Rollback(ctx, "Gen.A")
	require.NoError(t, err)
	moved("a rollback")
	b, err := d.Batch(ctx)
	require.NoError(t, err)
	_, err = b.Import(ctx, storage.ImportRequest{ID: "Gen.B"}, bytes.NewReader(mpsynctest.Pack("Gen.B", "1.0")))
	require.NoError(t, err)
	before := gen()
	require.NoError(t, b.Commit(ctx))
	assert.NotEqual(t, before, gen(), "a batch commit moves the generation")
	seen[gen()] = true
	require.NoError(t, d.Remove(ctx, "Gen.B"))
	moved("a removal")
	g := gen()
	require.NoError(t, d.WriteMeta(ctx, "runs.json", []byte(`{}`)))
	require.NoError(t, d.AppendMeta(ctx, "ledger.jsonl", []byte("{}\n")))
	assert.Equal(t, g, gen(), "metadata records do not move it")
	require.NoError(t, d.Close())

	_, err = store.Rebuild(dir, nil)
	require.NoError(t, err)
	d, err = store.OpenDir(dir, nil)
	require.NoError(t, err)
	defer d.Close()
	assert.False(t, seen[gen()], "a rebuilt database starts from another number")
}
