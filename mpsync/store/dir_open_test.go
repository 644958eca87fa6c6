package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

// seeded returns the directory of a closed store seeded by seed.
func seeded(t *testing.T) (string, state) {
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	seed(t, d)
	s := stateOf(t, d)
	require.NoError(t, d.Close())
	return dir, s
}

func reopen(t *testing.T, dir string, opts *store.DirOptions) *store.Dir {
	t.Helper()
	d, err := store.OpenDir(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestOpenDirFresh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "store")
	d := reopen(t, dir, nil)
	assert.Equal(t, dir, d.Path())
	assert.False(t, d.Rebuilt())
	assert.Equal(t, store.OpenReport{}, d.Report())
	for _, sub := range []string{"packs", "meta", "lock"} {
		_, err := os.Stat(filepath.Join(dir, sub))
		assert.NoError(t, err, sub)
	}
	l, err := d.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, l)
}

func TestOpenDirKeepsState(t *testing.T) {
	dir, want := seeded(t)
	d := reopen(t, dir, nil)
	assert.Equal(t, want, stateOf(t, d))
	assert.Equal(t, store.OpenReport{}, d.Report(), "a clean directory needs no repair")
}

// TestRebuildWithoutSidecars rebuilds a store written before sidecars
// existed: provenance is unknown, so every pack is recorded as custom.
func TestRebuildWithoutSidecars(t *testing.T) {
	dir, want := seeded(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
	sidecars, err := filepath.Glob(filepath.Join(dir, "packs", "*", "*.json"))
	require.NoError(t, err)
	require.Len(t, sidecars, 3)
	for _, p := range sidecars {
		require.NoError(t, os.Remove(p))
	}
	var logs bytes.Buffer
	d := reopen(t, dir, &store.DirOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	assert.True(t, d.Rebuilt())
	r := d.Report()
	assert.Equal(t, "index.json is missing", r.RebuildReason)
	assert.Equal(t, []string{idA, idB}, r.Adopted)
	assert.Empty(t, r.Restored)
	require.Len(t, r.Unrestored, 3, "every kept file, current and previous, is reported")
	for _, u := range r.Unrestored {
		assert.Contains(t, u.Reason, "no sidecar")
		assert.Contains(t, logs.String(), u.File)
	}
	assert.Len(t, r.SidecarsWritten, 3, "the custom records are written down for the next rebuild")
	assert.Contains(t, logs.String(), "rebuilding the index")
	assert.Contains(t, logs.String(), "recorded as custom")

	got := stateOf(t, d)
	assert.Equal(t, want.Bytes, got.Bytes, "the same bytes are current")
	require.Len(t, got.List, 2)
	for i, e := range got.List {
		w := want.List[i]
		assert.Equal(t, w.ID, e.ID)
		assert.Equal(t, w.Version, e.Version)
		assert.Equal(t, w.Name, e.Name)
		assert.Equal(t, w.SHA256, e.SHA256)
		assert.Equal(t, w.Size, e.Size)
		assert.Equal(t, storage.OwnerCustom, e.Owner, "provenance is unknown after a rebuild")
		assert.False(t, e.ImportedAt.IsZero())
	}
	a := got.List[0]
	require.NotNil(t, a.Previous, "the lower version becomes the previous one")
	assert.Equal(t, "1.0.0.0", a.Previous.Version.String())
	checkConsistent(t, d)

	// The rebuilt index was written: the next open is clean.
	require.NoError(t, d.Close())
	d2 := reopen(t, dir, nil)
	assert.False(t, d2.Rebuilt())
	assert.Equal(t, store.OpenReport{}, d2.Report())
	assert.Equal(t, got, stateOf(t, d2))
}

func TestRebuildWhenIndexCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"truncated JSON":   `{"format":1,"packs":[{"id":"Contoso`,
		"not JSON":         "\x00\x01garbage",
		"wrong format":     `{"format":0,"packs":[]}`,
		"bad entry":        `{"format":1,"packs":[{"id":"../x","version":"1.0.0.0","sha256":"00","size":1,"owner":"custom"}]}`,
		"duplicate entry":  `{"format":1,"packs":[{"id":"A","version":"1.0","sha256":"` + strings.Repeat("0", 64) + `","size":1,"owner":"custom"},{"id":"A","version":"1.0","sha256":"` + strings.Repeat("0", 64) + `","size":1,"owner":"custom"}]}`,
		"trailing garbage": `{"format":1,"packs":[]} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir, want := seeded(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "index.json"), []byte(content), 0o644))
			d := reopen(t, dir, nil)
			assert.True(t, d.Rebuilt())
			r := d.Report()
			assert.Contains(t, r.RebuildReason, "index is corrupt")
			require.Len(t, r.Quarantined, 1, "the corrupt index is kept aside, not deleted")
			q := r.Quarantined[0]
			assert.Equal(t, "index.json", q.From)
			kept, err := os.ReadFile(filepath.Join(dir, q.To))
			require.NoError(t, err)
			assert.Equal(t, content, string(kept))
			reason, err := os.ReadFile(filepath.Join(dir, q.To+".reason"))
			require.NoError(t, err)
			assert.Contains(t, string(reason), "index is corrupt")
			assert.Equal(t, want.Bytes, stateOf(t, d).Bytes)
		})
	}
}

func TestNewerIndexFormatIsRefused(t *testing.T) {
	dir, _ := seeded(t)
	p := filepath.Join(dir, "index.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"format":2,"packs":[]}`), 0o644))
	_, err := store.OpenDir(dir, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer")
	b, rerr := os.ReadFile(p)
	require.NoError(t, rerr)
	assert.Equal(t, `{"format":2,"packs":[]}`, string(b), "an index from a newer version is never overwritten")
}

func TestQuarantineAndLeftovers(t *testing.T) {
	dir, want := seeded(t)
	packs := filepath.Join(dir, "packs")
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(packs, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("garbage.xml", "not a pack")
	write(filepath.Join(idA, "notes.txt"), "operator notes")
	write(filepath.Join("bad name", "x.xml"), "x")
	orphan := strings.Repeat("ab", 32) + ".xml"
	write(filepath.Join(idB, orphan), "left by an interrupted import")
	orphanSidecar := strings.Repeat("cd", 32) + ".json"
	write(filepath.Join(idB, orphanSidecar), `{"format":1}`)
	tmpSidecar := ".tmp-" + strings.Repeat("ef", 32) + ".json-7"
	write(filepath.Join(idA, tmpSidecar), "half a sidecar")
	write(filepath.Join("Contoso.Gone", orphanSidecar), `{"format":1}`)
	write(".tmp-import-123", "half a pack")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".tmp-index-9"), []byte("{"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "meta", ".tmp-runs-1"), []byte("x"), 0o644))

	var logs bytes.Buffer
	d := reopen(t, dir, &store.DirOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.False(t, d.Rebuilt())
	assert.Equal(t, want, stateOf(t, d), "the store's packs are untouched")

	r := d.Report()
	from := map[string]string{}
	for _, q := range r.Quarantined {
		from[q.From] = q.Reason
		_, err := os.Stat(filepath.Join(dir, q.To))
		assert.NoError(t, err, "%s was moved to %s", q.From, q.To)
		reason, err := os.ReadFile(filepath.Join(dir, q.To+".reason"))
		require.NoError(t, err)
		assert.Contains(t, string(reason), q.Reason)
		assert.Contains(t, logs.String(), q.From)
	}
	assert.Contains(t, from, filepath.Join("packs", "garbage.xml"))
	assert.Contains(t, from, filepath.Join("packs", idA, "notes.txt"))
	assert.Contains(t, from, filepath.Join("packs", "bad name"))
	assert.Contains(t, from[filepath.Join("packs", "garbage.xml")], "not part of the store layout")
	assert.Len(t, r.Quarantined, 3)

	assert.ElementsMatch(t, []string{
		filepath.Join("packs", idB, orphan),
		filepath.Join("packs", idB, orphanSidecar),
		filepath.Join("packs", idA, tmpSidecar),
		filepath.Join("packs", "Contoso.Gone", orphanSidecar),
		filepath.Join("packs", "Contoso.Gone"),
		filepath.Join("packs", ".tmp-import-123"),
		".tmp-index-9",
		filepath.Join("meta", ".tmp-runs-1"),
	}, r.Removed, "leftovers of interrupted changes are deleted")
	checkConsistent2(t, d)
}

// checkConsistent2 is checkConsistent for a store that has a quarantine.
func checkConsistent2(t *testing.T, d *store.Dir) {
	t.Helper()
	q := filepath.Join(d.Path(), "quarantine")
	moved := q + ".test-aside"
	require.NoError(t, os.Rename(q, moved))
	defer func() { require.NoError(t, os.Rename(moved, q)) }()
	checkConsistent(t, d)
}

func TestRebuildQuarantinesBadPackFiles(t *testing.T) {
	dir, want := seeded(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
	packs := filepath.Join(dir, "packs")

	damaged := storetest.Pack(idB, "9.0.0.0")
	damagedName := filepath.Join(idB, storetest.Request(idB, "9.0.0.0", damaged).SHA256+".xml")
	require.NoError(t, os.WriteFile(filepath.Join(packs, damagedName), damaged[:len(damaged)/2], 0o644))
	damagedSidecar := strings.TrimSuffix(damagedName, ".xml") + ".json"
	require.NoError(t, os.WriteFile(filepath.Join(packs, damagedSidecar), []byte(`{"format":1}`), 0o644))

	other := storetest.Pack("Contoso.Other", "1.0.0.0")
	otherName := filepath.Join(idB, storetest.Request("Contoso.Other", "1.0.0.0", other).SHA256+".xml")
	require.NoError(t, os.WriteFile(filepath.Join(packs, otherName), other, 0o644))

	notPack := []byte(`<DataSourceModuleType ID="x"/>`)
	notPackName := filepath.Join(idA, storetest.Request(idA, "1.0.0.0", notPack).SHA256+".xml")
	require.NoError(t, os.WriteFile(filepath.Join(packs, notPackName), notPack, 0o644))

	d := reopen(t, dir, nil)
	assert.True(t, d.Rebuilt())
	reasons := map[string]string{}
	for _, q := range d.Report().Quarantined {
		reasons[q.From] = q.Reason
	}
	assert.Contains(t, reasons[filepath.Join("packs", damagedName)], "damaged")
	assert.Contains(t, reasons[filepath.Join("packs", damagedSidecar)], "sidecar of packs/"+damagedName+", set aside with it")
	assert.Contains(t, reasons[filepath.Join("packs", otherName)], "declares pack Contoso.Other")
	assert.Contains(t, reasons[filepath.Join("packs", notPackName)], "manifest cannot be read")
	assert.Equal(t, want.Bytes, stateOf(t, d).Bytes, "the good packs are adopted")
	checkConsistent2(t, d)
}

func TestRebuildKeepsTwoVersions(t *testing.T) {
	dir := t.TempDir()
	packs := filepath.Join(dir, "packs", idA)
	require.NoError(t, os.MkdirAll(packs, 0o755))
	for _, v := range []string{"1.0.0.0", "3.0.0.0", "2.0.0.0"} {
		data := storetest.Pack(idA, v)
		require.NoError(t, os.WriteFile(filepath.Join(packs, storetest.Request(idA, v, data).SHA256+".xml"), data, 0o644))
	}
	d := reopen(t, dir, nil)
	require.True(t, d.Rebuilt())
	e, err := d.Get(context.Background(), idA)
	require.NoError(t, err)
	assert.Equal(t, "3.0.0.0", e.Version.String())
	require.NotNil(t, e.Previous)
	assert.Equal(t, "2.0.0.0", e.Previous.Version.String())
	q := d.Report().Quarantined
	require.Len(t, q, 1)
	assert.Contains(t, q[0].Reason, "a third version (1.0.0.0)")
}

func TestMissingOrDamagedPackFileIsDropped(t *testing.T) {
	dir, want := seeded(t)
	b := want.List[1]
	require.Equal(t, idB, b.ID)
	require.NoError(t, os.Remove(filepath.Join(dir, "packs", idB, b.SHA256+".xml")))
	a := want.List[0]
	prev := filepath.Join(dir, "packs", idA, a.Previous.SHA256+".xml")
	require.NoError(t, os.WriteFile(prev, []byte("short"), 0o644))

	d := reopen(t, dir, nil)
	r := d.Report()
	assert.Equal(t, []string{idA + " (previous)", idB}, r.Dropped)
	require.Len(t, r.Quarantined, 2, "the damaged file is kept aside, with its sidecar")
	assert.Contains(t, r.Quarantined[0].Reason, "has 5 bytes")
	assert.Equal(t, filepath.Join("packs", idA, a.Previous.SHA256+".xml"), r.Quarantined[0].From)
	assert.Equal(t, filepath.Join("packs", idA, a.Previous.SHA256+".json"), r.Quarantined[1].From)
	assert.Contains(t, r.Quarantined[1].Reason, "sidecar of")
	assert.Equal(t, []string{filepath.Join("packs", idB, b.SHA256+".json"), filepath.Join("packs", idB)}, r.Removed,
		"the sidecar of the missing file is a leftover")
	l, err := d.List(context.Background())
	require.NoError(t, err)
	require.Len(t, l, 1)
	assert.Equal(t, idA, l[0].ID)
	assert.Nil(t, l[0].Previous)
	checkConsistent2(t, d)
}

func TestDirOptions(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	d := reopen(t, t.TempDir(), &store.DirOptions{
		Now:    func() time.Time { return at },
		Limits: pack.Limits{MaxBytes: 4 << 10},
	})
	ctx := context.Background()
	small := storetest.Pack(idA, "1.0.0.0")
	r := storetest.Request(idA, "1.0.0.0", small)
	e, err := d.Import(ctx, r, bytes.NewReader(small))
	require.NoError(t, err)
	assert.True(t, at.Equal(e.ImportedAt), "ImportedAt comes from DirOptions.Now")

	big := storetest.PaddedPack(idB, "1.0.0.0", 8<<10)
	_, err = d.Import(ctx, storetest.Request(idB, "1.0.0.0", big), bytes.NewReader(big))
	assert.ErrorIs(t, err, pack.ErrMalformed, "Limits.MaxBytes is enforced")
	assert.Contains(t, err.Error(), "larger than 4096 bytes")
	_, err = d.Get(ctx, idB)
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

func TestClosed(t *testing.T) {
	d, err := store.OpenDir(t.TempDir(), nil)
	require.NoError(t, err)
	importAt(t, d, idA, "1.0.0.0", tBase)
	rc, err := d.Open(context.Background(), idA)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close is idempotent")

	b, err := io.ReadAll(rc)
	require.NoError(t, err, "an open reader stays readable")
	assert.Equal(t, storetest.Pack(idA, "1.0.0.0"), b)
	rc.Close()

	ctx := context.Background()
	_, err = d.List(ctx)
	assert.ErrorIs(t, err, storage.ErrClosed)
	_, err = d.Get(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrClosed)
	data := storetest.Pack(idB, "1.0.0.0")
	_, err = d.Import(ctx, storetest.Request(idB, "1.0.0.0", data), bytes.NewReader(data))
	assert.ErrorIs(t, err, storage.ErrClosed)
	assert.ErrorIs(t, d.Remove(ctx, idA), storage.ErrClosed)
	assert.ErrorIs(t, d.WriteMeta(ctx, "m", nil), storage.ErrClosed)
	assert.ErrorIs(t, d.AppendMeta(ctx, "m", nil), storage.ErrClosed)
	_, err = d.ReadMeta(ctx, "m")
	assert.ErrorIs(t, err, storage.ErrClosed)
}

func TestOpErrorNamesPackAndStep(t *testing.T) {
	d := openTemp(t)
	data := storetest.Pack(idA, "1.0.0.0")
	r := storetest.Request(idA, "1.0.0.0", data)
	r.Size++
	_, err := d.Import(context.Background(), r, bytes.NewReader(data))
	var oe *store.OpError
	require.True(t, errors.As(err, &oe))
	assert.Equal(t, "import", oe.Op)
	assert.Equal(t, idA, oe.ID)
	assert.Equal(t, "check", oe.Step)
	assert.ErrorIs(t, err, storage.ErrMismatch)
	assert.True(t, strings.HasPrefix(err.Error(), "store: import "+idA+": check: "), err.Error())
}

func TestLongIDRefusedByDir(t *testing.T) {
	d := openTemp(t)
	id := strings.Repeat("a", 256)
	require.NoError(t, pack.CheckID(id), "a valid pack id")
	data := storetest.Pack(id, "1.0.0.0")
	_, err := d.Import(context.Background(), storetest.Request(id, "1.0.0.0", data), bytes.NewReader(data))
	assert.ErrorIs(t, err, pack.ErrInvalidID)
	assert.Contains(t, err.Error(), "too long for a file name")
}

func TestMetaFiles(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	require.NoError(t, d.WriteMeta(ctx, "connection.json", []byte("{}")))
	require.NoError(t, d.AppendMeta(ctx, "runs.jsonl", []byte("a\n")))
	b, err := os.ReadFile(filepath.Join(d.Path(), "meta", "connection.json"))
	require.NoError(t, err)
	assert.Equal(t, "{}", string(b))
	b, err = os.ReadFile(filepath.Join(d.Path(), "meta", "runs.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "a\n", string(b))
	ents, err := os.ReadDir(filepath.Join(d.Path(), "meta"))
	require.NoError(t, err)
	assert.Len(t, ents, 2, "no temporary files are left")
}
