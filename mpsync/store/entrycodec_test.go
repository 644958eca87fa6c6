package store

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// fill sets every field reachable from v (a pointer) to a value that is
// not the zero value and differs from field to field, so that a codec that
// drops or swaps a field fails a round trip. A field added to the entry
// types later is filled too: the round trip fails until the codec keeps it.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), n)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 2, 18, 0, *n, *n*1000+7, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), n)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), n)
		}
	case reflect.String:
		v.SetString("s" + string(rune('A'+*n%26)) + string(rune('a'+*n/26)))
	case reflect.Int, reflect.Int64:
		if v.Type() == reflect.TypeOf(pack.SealedYes) {
			// Its JSON form knows only its named values.
			v.SetInt(int64(pack.SealedNo + pack.Sealed(*n%2)))
			return
		}
		v.SetInt(int64(*n) * 1000003)
	case reflect.Uint32:
		v.SetUint(uint64(*n) * 7919)
	case reflect.Bool:
		v.SetBool(true)
	default:
		t.Fatalf("fill: a field of kind %s (%s): teach the entry codec and this test about it", v.Kind(), v.Type())
	}
}

func TestEntryCodecKeepsEveryField(t *testing.T) {
	var e storage.Entry
	n := 0
	fill(t, reflect.ValueOf(&e).Elem(), &n)
	require.NotNil(t, e.Previous)
	require.Len(t, e.Previous.References, 2)
	b := encodeEntry(e)
	got, err := decodeEntry(e.ID, b)
	require.NoError(t, err)
	assert.Equal(t, e, got)

	// And what the JSON of layout 1 decodes to is what the binary form
	// decodes to.
	js, err := json.Marshal(e)
	require.NoError(t, err)
	fromJSON, err := decodeEntry(e.ID, js)
	require.NoError(t, err)
	assert.Equal(t, got, fromJSON)
}

func TestEntryCodecMinimalEntry(t *testing.T) {
	e := storage.Entry{ID: "A", SHA256: "x", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}
	got, err := decodeEntry("A", encodeEntry(e))
	require.NoError(t, err)
	assert.Equal(t, e, got)
	assert.Nil(t, got.References, "no references decode as nil, as from JSON")
	assert.Nil(t, got.Previous)
}

func TestEntryCodecRefusesDamage(t *testing.T) {
	e := storage.Entry{ID: "Pack.A", Version: pack.MustParseVersion("1.2.3.4"), SHA256: "ab", Size: 10,
		References: []pack.Reference{{Alias: "SC", ID: "Lib", Version: pack.MustParseVersion("7.0.0.0")}}}
	b := encodeEntry(e)
	for n := range len(b) {
		_, err := decodeEntry("Pack.A", b[:n])
		require.ErrorIs(t, err, ErrDamaged, "truncated at %d", n)
	}
	_, err := decodeEntry("Pack.A", append(bytes.Clone(b), 0))
	assert.ErrorContains(t, err, "left over")
	_, err = decodeEntry("Pack.B", b)
	assert.ErrorIs(t, err, ErrDamaged)
	assert.ErrorContains(t, err, `the entry of Pack.B names the pack "Pack.A"`)
	other := bytes.Clone(b)
	other[0] = 9
	_, err = decodeEntry("Pack.A", other)
	assert.ErrorContains(t, err, "format 9")
	_, err = decodeEntry("Pack.A", []byte(`{"id":`))
	assert.ErrorIs(t, err, ErrDamaged)
}

func FuzzDecodeEntry(f *testing.F) {
	var full storage.Entry
	n := 0
	fill(&testing.T{}, reflect.ValueOf(&full).Elem(), &n)
	f.Add(full.ID, encodeEntry(full))
	f.Add("A", encodeEntry(storage.Entry{ID: "A"}))
	f.Add("A", []byte(`{"id":"A","version":"1.0.0.0"}`))
	f.Fuzz(func(t *testing.T, id string, b []byte) {
		e, err := decodeEntry(id, b)
		if err != nil {
			return
		}
		// Whatever decodes encodes to a record that decodes the same.
		again, err := decodeEntry(id, encodeEntry(e))
		require.NoError(t, err)
		require.Equal(t, e.Clone(), again.Clone())
	})
}

// A database of layout 1 (JSON entries) is migrated by the first OpenDir
// and reads the same; a shared opener reads it without migrating.
func TestOpenDirMigratesJSONEntries(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := OpenDir(dir, nil)
	require.NoError(t, err)
	for _, id := range []string{"Pack.A", "Pack.B"} {
		_, err := d.Import(ctx, storage.ImportRequest{ID: id, Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws"}},
			bytes.NewReader(mpsynctest.Pack(id, "1.0.0.0")))
		require.NoError(t, err)
	}
	_, err = d.Import(ctx, storage.ImportRequest{ID: "Pack.A"}, bytes.NewReader(mpsynctest.Pack("Pack.A", "2.0.0.0")))
	require.NoError(t, err)
	want, err := d.List(ctx)
	require.NoError(t, err)
	// Turn the database back into layout 1.
	for _, e := range want {
		js, err := json.Marshal(e)
		require.NoError(t, err)
		_, err = d.db.Exec(`UPDATE packs SET entry = ? WHERE id = ?`, js, e.ID)
		require.NoError(t, err)
	}
	_, err = d.db.Exec(`PRAGMA user_version = 1`)
	require.NoError(t, err)
	require.NoError(t, d.Close())

	sh, err := OpenDir(dir, &DirOptions{Shared: true})
	require.NoError(t, err)
	got, err := sh.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got, "a shared opener reads layout 1")
	var v int
	require.NoError(t, sh.db.QueryRow(`PRAGMA user_version`).Scan(&v))
	assert.Equal(t, 1, v, "and does not migrate it")
	require.NoError(t, sh.Close())

	d, err = OpenDir(dir, nil)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.db.QueryRow(`PRAGMA user_version`).Scan(&v))
	assert.Equal(t, schemaVersion, v)
	var first []byte
	require.NoError(t, d.db.QueryRow(`SELECT entry FROM packs WHERE id = 'Pack.A'`).Scan(&first))
	assert.Equal(t, entryFormat, first[0], "the entries are rewritten in the binary format")
	got, err = d.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = d.Rollback(ctx, "Pack.A")
	require.NoError(t, err, "the previous version survived the migration")
}
