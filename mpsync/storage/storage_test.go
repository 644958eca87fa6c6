package storage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// TestEntryManifest checks that an entry gives back the identity and
// references the planner orders packs by.
func TestEntryManifest(t *testing.T) {
	refs := []pack.Reference{{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0")}}
	e := storage.Entry{ID: "Contoso.App", Version: pack.MustParseVersion("1.2.0.0"), Name: "Contoso App", References: refs,
		SHA256: "ab", Size: 10, Provenance: storage.Provenance{Owner: storage.OwnerCustom}}
	m := e.Manifest()
	assert.Equal(t, "Contoso.App", m.ID)
	assert.Equal(t, pack.MustParseVersion("1.2.0.0"), m.Version)
	assert.Equal(t, "Contoso App", m.Name)
	r, ok := m.Reference("Microsoft.SystemCenter.Library")
	require.True(t, ok)
	assert.Equal(t, "SC", r.Alias)
}

// TestEntryJSON pins the field names a store persists: changing them would
// make every existing store unreadable.
func TestEntryJSON(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e := storage.Entry{ID: "Contoso.App", Version: pack.MustParseVersion("2.0.0.0"), SHA256: "cd", Size: 3, ImportedAt: at,
		Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws1", Rule: "r", Solution: "S"},
		Previous:   &storage.Previous{Version: pack.MustParseVersion("1.0.0.0"), SHA256: "ab", Size: 2, ImportedAt: at}}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"Contoso.App","version":"2.0.0.0","sha256":"cd","size":3,"importedAt":"2026-05-01T12:00:00Z",
		"owner":"workspace","workspaceId":"ws1","rule":"r","solution":"S",
		"previous":{"version":"1.0.0.0","sha256":"ab","size":2,"importedAt":"2026-05-01T12:00:00Z","owner":""}}`, string(b))
	var back storage.Entry
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, e, back)
}

// The rules the stores share: what an import records, what a rollback
// swaps, and that a copy shares no memory.
func TestNewEntryAndRollback(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	m1 := pack.Manifest{ID: "P", Version: pack.MustParseVersion("1.0"), References: []pack.Reference{{ID: "L", Version: pack.MustParseVersion("1.0")}}}
	m2 := pack.Manifest{ID: "P", Version: pack.MustParseVersion("2.0"), Sealed: pack.SealedYes, PublicKeyToken: "0123456789abcdef"}
	e1 := storage.NewEntry(storage.ImportRequest{ID: "P"}, m1, "aa", 1, at, nil)
	assert.Equal(t, storage.OwnerCustom, e1.Owner, "an empty owner is the operator's")
	assert.Equal(t, time.UTC, e1.ImportedAt.Location())
	assert.Nil(t, e1.Previous)

	e2 := storage.NewEntry(storage.ImportRequest{ID: "P", Provenance: storage.Provenance{Owner: storage.OwnerWorkspace}}, m2, "bb", 2, at, &e1)
	require.NotNil(t, e2.Previous)
	assert.Equal(t, "aa", e2.Previous.SHA256, "other bytes make the old version the previous one")
	assert.Equal(t, "0123456789abcdef", e2.PublicKeyToken)

	same := storage.NewEntry(storage.ImportRequest{ID: "P"}, m2, "bb", 2, at, &e2)
	require.NotNil(t, same.Previous)
	assert.Equal(t, "aa", same.Previous.SHA256, "the same bytes again keep the previous version")

	back, err := e2.RolledBack()
	require.NoError(t, err)
	assert.Equal(t, "aa", back.SHA256)
	assert.Equal(t, "bb", back.Previous.SHA256, "a rollback swaps")
	assert.Equal(t, pack.SealedYes, back.Previous.Sealed)
	_, err = e1.RolledBack()
	assert.ErrorIs(t, err, storage.ErrNotFound)

	c := e2.Clone()
	c.Previous.References = append(c.Previous.References, pack.Reference{ID: "X"})
	c.Previous.SHA256 = "zz"
	assert.Equal(t, "aa", e2.Previous.SHA256, "a clone shares no memory")
	assert.Len(t, e2.Previous.References, 1)
}

func TestCheckMetaName(t *testing.T) {
	for name, ok := range map[string]bool{
		"runs.json": true, "ledger.jsonl": true, "a_b-c.1": true,
		"": false, ".hidden": false, "a/b": false, "..": false, "é": false,
		strings.Repeat("a", storage.MaxMetaNameLength): true, strings.Repeat("a", storage.MaxMetaNameLength+1): false,
	} {
		err := storage.CheckMetaName(name)
		if ok {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorIs(t, err, storage.ErrInvalidName, "%q", name)
		}
	}
}
