package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

const idC = "Contoso.Crash.C"

// importProv imports id at version with the given provenance and time.
func importProv(t *testing.T, d *store.Dir, id, version string, prov storage.Provenance, at time.Time) storage.Entry {
	t.Helper()
	data := storetest.Pack(id, version)
	r := storetest.Request(id, version, data)
	r.Provenance = prov
	r.Time = at
	e, err := d.Import(context.Background(), r, bytes.NewReader(data))
	require.NoError(t, err, "import %s %s", id, version)
	return e
}

// seededProvenance returns the directory of a closed store holding
// workspace packs of two workspaces (A with a previous version) and two
// custom packs (B imported as custom, C with no owner), and its entries.
func seededProvenance(t *testing.T) (string, []storage.Entry) {
	t.Helper()
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	importProv(t, d, idA, "1.0.0.0", storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws-1", Rule: "Advisor.MPUpdate", Solution: "Security"}, tBase)
	importProv(t, d, idA, "1.1.0.0", storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws-2", Rule: "Advisor.MPUpdate.Other", Solution: "Updates"}, tBase.Add(time.Hour+123*time.Millisecond))
	importProv(t, d, idB, "2.0.0.0", storage.Provenance{Owner: storage.OwnerCustom, Rule: "operator"}, tBase.Add(2*time.Hour))
	importProv(t, d, idC, "3.0.0.0", storage.Provenance{}, tBase.Add(3*time.Hour))
	l, err := d.List(context.Background())
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.Equal(t, storage.OwnerCustom, l[2].Owner, "no owner is recorded as custom")
	return dir, l
}

func list(t *testing.T, d *store.Dir) []storage.Entry {
	t.Helper()
	l, err := d.List(context.Background())
	require.NoError(t, err)
	return l
}

// TestRebuildRestoresProvenance loses index.json (deleted, or corrupt) and
// checks that the rebuilt index records every pack exactly as before:
// workspace packs keep owner, workspace, rule, solution and import time,
// for the current and the previous version; custom packs stay custom.
func TestRebuildRestoresProvenance(t *testing.T) {
	for name, lose := range map[string]func(p string) error{
		"deleted": os.Remove,
		"corrupt": func(p string) error { return os.WriteFile(p, []byte(`{"format":1,"packs":[{"id`), 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			dir, want := seededProvenance(t)
			require.NoError(t, lose(filepath.Join(dir, "index.json")))
			var logs bytes.Buffer
			d := reopen(t, dir, &store.DirOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

			require.True(t, d.Rebuilt())
			assert.Equal(t, want, list(t, d), "provenance and import times are restored")
			r := d.Report()
			assert.Equal(t, []string{idA, idB, idC}, r.Adopted)
			assert.Equal(t, []string{idA, idB, idC}, r.Restored, "three packs restored with provenance")
			assert.Empty(t, r.Unrestored)
			assert.Empty(t, r.SidecarsWritten, "the sidecars already agree with the rebuilt index")
			assert.Contains(t, logs.String(), "provenance was restored")
			assert.Contains(t, logs.String(), "restored=3")
			assert.NotContains(t, logs.String(), "recorded as custom")
			if name == "corrupt" {
				require.Len(t, r.Quarantined, 1)
				assert.Equal(t, "index.json", r.Quarantined[0].From)
				checkConsistent2(t, d)
			} else {
				checkConsistent(t, d)
			}

			a := list(t, d)[0]
			assert.Equal(t, storage.OwnerWorkspace, a.Owner)
			assert.Equal(t, "ws-2", a.WorkspaceID)
			assert.Equal(t, "Advisor.MPUpdate.Other", a.Rule)
			assert.Equal(t, "Updates", a.Solution)
			assert.True(t, tBase.Add(time.Hour+123*time.Millisecond).Equal(a.ImportedAt))
			require.NotNil(t, a.Previous)
			assert.Equal(t, "ws-1", a.Previous.WorkspaceID)
			assert.True(t, tBase.Equal(a.Previous.ImportedAt))
		})
	}
}

// TestRebuildAfterRollbackKeepsProvenance: a rebuild keeps the rolled-back
// version current, and each version keeps its own provenance.
func TestRebuildAfterRollbackKeepsProvenance(t *testing.T) {
	dir, _ := seededProvenance(t)
	d := reopen(t, dir, nil)
	rolled, err := d.Rollback(context.Background(), idA)
	require.NoError(t, err)
	checkConsistent(t, d)
	require.NoError(t, d.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))

	d2 := reopen(t, dir, nil)
	e, err := d2.Get(context.Background(), idA)
	require.NoError(t, err)
	assert.Equal(t, rolled, e, "the rolled-back version stays current, each version with its provenance")
	assert.Equal(t, "1.0.0.0", e.Version.String())
	assert.Equal(t, "1.1.0.0", e.Previous.Version.String())
	assert.Empty(t, d2.Report().SidecarsWritten)
	checkConsistent(t, d2)
}

// TestRebuildWithBadSidecar: a sidecar that cannot be used makes its file
// custom, with the reason logged and reported per file; the sidecar is
// quarantined and written again from the rebuilt index; the other files keep
// their provenance.
func TestRebuildWithBadSidecar(t *testing.T) {
	for name, c := range map[string]struct {
		content func(dir string, want []storage.Entry) []byte
		reason  string
	}{
		"garbage": {func(string, []storage.Entry) []byte { return []byte("{\x00not json") }, "its sidecar is not valid"},
		"truncated": {func(dir string, want []storage.Entry) []byte {
			b, err := os.ReadFile(filepath.Join(dir, "packs", idA, want[0].SHA256+".json"))
			require.NoError(t, err)
			return b[:len(b)/2]
		}, "its sidecar is not valid"},
		"another file's": {func(dir string, want []storage.Entry) []byte {
			b, err := os.ReadFile(filepath.Join(dir, "packs", idA, want[0].Previous.SHA256+".json"))
			require.NoError(t, err)
			return b
		}, "describes the file with sha256"},
		"newer format": {func(dir string, want []storage.Entry) []byte {
			b, err := os.ReadFile(filepath.Join(dir, "packs", idA, want[0].SHA256+".json"))
			require.NoError(t, err)
			return bytes.Replace(b, []byte(`"format":1`), []byte(`"format":2`), 1)
		}, "format 2, want 1"},
		"unknown owner": {func(dir string, want []storage.Entry) []byte {
			b, err := os.ReadFile(filepath.Join(dir, "packs", idA, want[0].SHA256+".json"))
			require.NoError(t, err)
			return bytes.Replace(b, []byte(`"owner":"workspace"`), []byte(`"owner":"someone"`), 1)
		}, `unknown owner "someone"`},
	} {
		t.Run(name, func(t *testing.T) {
			dir, want := seededProvenance(t)
			a := want[0]
			rel := filepath.Join("packs", idA, a.SHA256+".json")
			bad := c.content(dir, want)
			require.NoError(t, os.WriteFile(filepath.Join(dir, rel), bad, 0o644))
			require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
			var logs bytes.Buffer
			d := reopen(t, dir, &store.DirOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

			require.True(t, d.Rebuilt())
			r := d.Report()
			assert.Equal(t, []string{idA, idB, idC}, r.Adopted)
			assert.Equal(t, []string{idB, idC}, r.Restored)
			require.Len(t, r.Unrestored, 1)
			u := r.Unrestored[0]
			assert.Equal(t, idA, u.ID)
			assert.Equal(t, filepath.Join("packs", idA, a.SHA256+".xml"), u.File)
			assert.Contains(t, u.Reason, c.reason)
			assert.Contains(t, logs.String(), "recorded as custom")
			assert.Contains(t, logs.String(), u.File)
			assert.Contains(t, logs.String(), strings.SplitN(c.reason, `"`, 2)[0], "the reason is logged")

			require.Len(t, r.Quarantined, 1, "the bad sidecar is kept aside")
			q := r.Quarantined[0]
			assert.Equal(t, rel, q.From)
			kept, err := os.ReadFile(filepath.Join(dir, q.To))
			require.NoError(t, err)
			assert.Equal(t, bad, kept)
			assert.Equal(t, []string{rel}, r.SidecarsWritten, "a sidecar recording custom replaces it")

			got := list(t, d)
			e := got[0]
			assert.Equal(t, storage.Provenance{Owner: storage.OwnerCustom}, e.Provenance, "falls back to custom")
			require.NotNil(t, e.Previous)
			assert.Equal(t, a.Previous.Provenance, e.Previous.Provenance, "the previous version's sidecar is fine")
			assert.True(t, a.Previous.ImportedAt.Equal(e.Previous.ImportedAt))
			assert.Equal(t, want[1:], got[1:], "the other packs are restored")
			checkConsistent2(t, d)
		})
	}
}

// TestOpenWritesMissingSidecars: a store written before sidecars existed
// gets them on the next open, from its index, so that a later rebuild
// restores the provenance.
func TestOpenWritesMissingSidecars(t *testing.T) {
	dir, want := seededProvenance(t)
	sidecars, err := filepath.Glob(filepath.Join(dir, "packs", "*", "*.json"))
	require.NoError(t, err)
	require.Len(t, sidecars, 4)
	for _, p := range sidecars {
		require.NoError(t, os.Remove(p))
	}
	// One more disagrees with the index (as a crash between an import's
	// sidecar and its commit leaves it).
	stale := filepath.Join("packs", idB, want[1].SHA256+".json")
	require.NoError(t, os.WriteFile(filepath.Join(dir, stale), []byte(`{"format":1,"owner":"workspace"}`+"\n"), 0o644))

	d := reopen(t, dir, nil)
	assert.False(t, d.Rebuilt())
	r := d.Report()
	assert.Len(t, r.SidecarsWritten, 4)
	assert.Contains(t, r.SidecarsWritten, stale)
	assert.Empty(t, r.Removed)
	assert.Empty(t, r.Quarantined)
	assert.Equal(t, want, list(t, d))
	checkConsistent(t, d)
	require.NoError(t, d.Close())

	require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
	d2 := reopen(t, dir, nil)
	require.True(t, d2.Rebuilt())
	assert.Len(t, d2.Report().Restored, 3)
	assert.Equal(t, want, list(t, d2))
}

// TestCrashLeavesSidecarAheadOfIndex: re-importing the bytes already held
// rewrites their sidecar before the index commit; a crash in between leaves
// the sidecar ahead of the index, and OpenDir puts it back in line.
func TestCrashLeavesSidecarAheadOfIndex(t *testing.T) {
	dir, want := seededProvenance(t)
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	store.SetFailpoint(d, func(s string) error {
		if s == "sidecar" {
			return store.ErrCrash
		}
		return nil
	})
	data := storetest.Pack(idB, "2.0.0.0")
	r := storetest.Request(idB, "2.0.0.0", data) // claims B for a workspace
	_, err = d.Import(context.Background(), r, bytes.NewReader(data))
	require.ErrorIs(t, err, store.ErrCrash)
	rel := filepath.Join("packs", idB, want[1].SHA256+".json")
	assert.Equal(t, storage.OwnerWorkspace, readSidecar(t, filepath.Join(dir, rel)).Owner, "the sidecar is ahead")
	require.NoError(t, d.Close())

	d2 := reopen(t, dir, nil)
	assert.Equal(t, []string{rel}, d2.Report().SidecarsWritten)
	assert.Equal(t, want, list(t, d2), "the index is the commit point")
	checkConsistent(t, d2)
}

// TestRemoveDeletesSidecars: Remove deletes both files' sidecars with the
// pack files; Rollback keeps both.
func TestRemoveDeletesSidecars(t *testing.T) {
	dir, want := seededProvenance(t)
	d := reopen(t, dir, nil)
	ctx := context.Background()
	_, err := d.Rollback(ctx, idA)
	require.NoError(t, err)
	for _, sum := range []string{want[0].SHA256, want[0].Previous.SHA256} {
		_, err := os.Stat(filepath.Join(dir, "packs", idA, sum+".json"))
		assert.NoError(t, err, "rollback keeps the sidecars")
	}
	checkConsistent(t, d)
	require.NoError(t, d.Remove(ctx, idA))
	_, err = os.Stat(filepath.Join(dir, "packs", idA))
	assert.True(t, os.IsNotExist(err), "the pack's directory is gone: %v", err)
	checkConsistent(t, d)
}

// TestSidecarLayout pins what a sidecar holds: no more than the index
// records about the file, and the generation at which it became current
// (A 1.1 is the second file of A to become current).
func TestSidecarLayout(t *testing.T) {
	dir, want := seededProvenance(t)
	a := want[0]
	b, err := os.ReadFile(filepath.Join(dir, "packs", idA, a.SHA256+".json"))
	require.NoError(t, err)
	assert.Equal(t, `{"format":1,"id":"Contoso.Crash.A","version":"1.1.0.0","name":"Contoso.Crash.A (storetest)",`+
		`"sha256":"`+a.SHA256+`","size":`+strconv.FormatInt(a.Size, 10)+`,"importedAt":"2026-11-24T09:00:00.123Z",`+
		`"owner":"workspace","workspaceId":"ws-2","rule":"Advisor.MPUpdate.Other","solution":"Updates","generation":2}`+"\n", string(b))
}
