package storage_test

import (
	"encoding/json"
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
