package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

const idX = "Contoso.Generation.X"

var (
	provWS = storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws-1", Rule: "Advisor.MPUpdate", Solution: "Security"}
	provOp = storage.Provenance{Owner: storage.OwnerCustom, Rule: "operator"}
)

// loseIndex closes d and deletes or corrupts its index.json.
func loseIndex(t *testing.T, d *store.Dir, how string) {
	t.Helper()
	require.NoError(t, d.Close())
	p := filepath.Join(d.Path(), "index.json")
	switch how {
	case "deleted":
		require.NoError(t, os.Remove(p))
	case "corrupt":
		require.NoError(t, os.WriteFile(p, []byte(`{"format":1,"packs":[{"id`), 0o644))
	default:
		t.Fatalf("unknown way to lose the index: %s", how)
	}
}

// TestRebuildKeepsRolledBackVersion is the repro of the bug: import X 1.0,
// import X 2.0, roll X back to 1.0, lose the index. The rebuild must keep
// 1.0 current (2.0 previous), not bring back the version rolled back from.
func TestRebuildKeepsRolledBackVersion(t *testing.T) {
	for _, how := range []string{"deleted", "corrupt"} {
		t.Run(how, func(t *testing.T) {
			d := reopen(t, t.TempDir(), nil)
			importProv(t, d, idX, "1.0.0.0", provWS, tBase)
			importProv(t, d, idX, "2.0.0.0", provWS, tBase.Add(time.Hour))
			rolled, err := d.Rollback(context.Background(), idX)
			require.NoError(t, err)
			require.Equal(t, "1.0.0.0", rolled.Version.String())
			want := stateOf(t, d)
			loseIndex(t, d, how)

			d2 := reopen(t, d.Path(), nil)
			require.True(t, d2.Rebuilt())
			e, err := d2.Get(context.Background(), idX)
			require.NoError(t, err)
			assert.Equal(t, "1.0.0.0", e.Version.String(), "the rolled-back version stays current")
			require.NotNil(t, e.Previous)
			assert.Equal(t, "2.0.0.0", e.Previous.Version.String())
			assert.Equal(t, want, stateOf(t, d2), "the rebuilt index is the one lost")
			r := d2.Report()
			assert.Equal(t, []string{idX}, r.Restored)
			assert.Empty(t, r.Unrestored)
			assert.Empty(t, r.SidecarsWritten)
			if how == "deleted" {
				checkConsistent(t, d2)
			}
		})
	}
}

// TestRebuildAfterUndoingARollback: rolling back twice makes 2.0 current
// again, and a rebuild keeps it so.
func TestRebuildAfterUndoingARollback(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "1.0.0.0", provWS, tBase)
	importProv(t, d, idX, "2.0.0.0", provWS, tBase.Add(time.Hour))
	for range 3 {
		_, err := d.Rollback(context.Background(), idX)
		require.NoError(t, err)
	}
	want := stateOf(t, d)
	require.Equal(t, "1.0.0.0", want.List[0].Version.String())
	loseIndex(t, d, "deleted")

	d2 := reopen(t, d.Path(), nil)
	require.True(t, d2.Rebuilt())
	assert.Equal(t, want, stateOf(t, d2))
	checkConsistent(t, d2)

	_, err := d2.Rollback(context.Background(), idX)
	require.NoError(t, err)
	want = stateOf(t, d2)
	require.Equal(t, "2.0.0.0", want.List[0].Version.String())
	loseIndex(t, d2, "deleted")
	d3 := reopen(t, d.Path(), nil)
	assert.Equal(t, want, stateOf(t, d3), "the generations went on counting from the rebuilt ones")
	checkConsistent(t, d3)
}

// TestRebuildKeepsHandImportedLowerVersion: an operator imports a lower
// version by hand over a workspace pack; a rebuild keeps the operator's
// version current, recorded as custom, and the workspace version previous.
func TestRebuildKeepsHandImportedLowerVersion(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "2.0.0.0", provWS, tBase)
	importProv(t, d, idX, "1.0.0.0", provOp, tBase.Add(time.Hour))
	want := stateOf(t, d)
	loseIndex(t, d, "deleted")

	d2 := reopen(t, d.Path(), nil)
	require.True(t, d2.Rebuilt())
	assert.Equal(t, want, stateOf(t, d2))
	e := list(t, d2)[0]
	assert.Equal(t, "1.0.0.0", e.Version.String())
	assert.Equal(t, provOp, e.Provenance, "the operator's version stays current and custom")
	require.NotNil(t, e.Previous)
	assert.Equal(t, provWS, e.Previous.Provenance)
	assert.Equal(t, []string{idX}, d2.Report().Restored)
	checkConsistent(t, d2)
}

var generationField = regexp.MustCompile(`,"generation":[0-9]+`)

// stripGenerations rewrites every sidecar under dir as a store written
// before generations existed would have it.
func stripGenerations(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "packs", "*", "*.json"))
	require.NoError(t, err)
	var rels []string
	for _, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		old := generationField.ReplaceAll(b, nil)
		require.NotEqual(t, b, old, "%s records a generation", p)
		require.NoError(t, os.WriteFile(p, old, 0o644))
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		rels = append(rels, rel)
	}
	return rels
}

// TestOpenAddsGenerationsToOlderSidecars: sidecars written before
// generations existed are rewritten from the index on the next open, the
// current file above the previous one, so that a later rebuild keeps a
// rolled-back version current.
func TestOpenAddsGenerationsToOlderSidecars(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "1.0.0.0", provWS, tBase)
	importProv(t, d, idX, "2.0.0.0", provWS, tBase.Add(time.Hour))
	_, err := d.Rollback(context.Background(), idX)
	require.NoError(t, err)
	want := stateOf(t, d)
	require.NoError(t, d.Close())
	rels := stripGenerations(t, d.Path())
	require.Len(t, rels, 2)

	d2 := reopen(t, d.Path(), nil)
	assert.False(t, d2.Rebuilt())
	assert.ElementsMatch(t, rels, d2.Report().SidecarsWritten)
	assert.Equal(t, want, stateOf(t, d2))
	checkConsistent(t, d2)
	loseIndex(t, d2, "deleted")

	d3 := reopen(t, d.Path(), nil)
	require.True(t, d3.Rebuilt())
	assert.Equal(t, want, stateOf(t, d3), "the rolled-back version stays current")
}

// TestRebuildWithoutGenerationsFallsBackToVersions: when the index of a
// store written before generations existed is lost, nothing records which
// file is current; the highest version becomes current, as before.
func TestRebuildWithoutGenerationsFallsBackToVersions(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "1.0.0.0", provWS, tBase)
	importProv(t, d, idX, "2.0.0.0", provOp, tBase.Add(time.Hour))
	_, err := d.Rollback(context.Background(), idX)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	stripGenerations(t, d.Path())
	require.NoError(t, os.Remove(filepath.Join(d.Path(), "index.json")))

	d2 := reopen(t, d.Path(), nil)
	require.True(t, d2.Rebuilt())
	e := list(t, d2)[0]
	assert.Equal(t, "2.0.0.0", e.Version.String())
	assert.Equal(t, provOp, e.Provenance, "each version keeps its own provenance")
	require.NotNil(t, e.Previous)
	assert.Equal(t, provWS, e.Previous.Provenance)
	assert.Len(t, d2.Report().SidecarsWritten, 2, "the generations are written from the rebuilt index")
	checkConsistent(t, d2)
}

// TestCrashBetweenRollbackSidecarAndCommit: the restored file's sidecar is
// written before the index; a crash in between leaves it ahead of the
// index, and OpenDir raises the current file's generation above it, so
// that a rebuild agrees with the index.
func TestCrashBetweenRollbackSidecarAndCommit(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "1.0.0.0", provWS, tBase)
	cur := importProv(t, d, idX, "2.0.0.0", provWS, tBase.Add(time.Hour))
	want := stateOf(t, d)
	store.SetFailpoint(d, func(s string) error {
		if s == "sidecar" {
			return store.ErrCrash
		}
		return nil
	})
	_, err := d.Rollback(context.Background(), idX)
	require.ErrorIs(t, err, store.ErrCrash)
	prevRel := filepath.Join("packs", idX, cur.Previous.SHA256+".json")
	curRel := filepath.Join("packs", idX, cur.SHA256+".json")
	assert.Greater(t, readSidecar(t, filepath.Join(d.Path(), prevRel)).Generation,
		readSidecar(t, filepath.Join(d.Path(), curRel)).Generation, "the restored file's sidecar is ahead")
	require.NoError(t, d.Close())

	d2 := reopen(t, d.Path(), nil)
	assert.Equal(t, want, stateOf(t, d2), "the index is the commit point")
	assert.Equal(t, []string{curRel}, d2.Report().SidecarsWritten)
	checkConsistent(t, d2)
	loseIndex(t, d2, "deleted")

	d3 := reopen(t, d.Path(), nil)
	assert.Equal(t, want, stateOf(t, d3))
}

// TestRollbackSidecarFailureUndone: when the index commit of a rollback
// fails, the restored file's sidecar is put back byte for byte.
func TestRollbackSidecarFailureUndone(t *testing.T) {
	d := reopen(t, t.TempDir(), nil)
	importProv(t, d, idX, "1.0.0.0", provWS, tBase)
	cur := importProv(t, d, idX, "2.0.0.0", provWS, tBase.Add(time.Hour))
	p := filepath.Join(d.Path(), "packs", idX, cur.Previous.SHA256+".json")
	before, err := os.ReadFile(p)
	require.NoError(t, err)
	store.SetFailpoint(d, func(s string) error {
		if s == "index-write" {
			return os.ErrPermission
		}
		return nil
	})
	_, err = d.Rollback(context.Background(), idX)
	require.ErrorIs(t, err, os.ErrPermission)
	after, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after), "the sidecar is as it was")
	checkConsistent(t, d)
}
