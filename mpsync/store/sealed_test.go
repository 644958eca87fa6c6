package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
)

// sealedPack is a built sealed pack (.mp) declaring id 2.0.0.0.
func sealedPack(t *testing.T, id string) []byte {
	t.Helper()
	doc, err := packgen.Spec{ID: id, Version: pack.MustParseVersion("2.0.0.0"), Rules: 30,
		References: []pack.Reference{{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0"), PublicKeyToken: "31bf3856ad364e35"}},
	}.Bytes()
	require.NoError(t, err)
	mp, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	return mp
}

func readAll(t *testing.T, s mpsync.Store, id string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), id)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// TestImportSealed: a sealed pack imports into both stores with its
// manifest's identity and references, and is kept byte for byte with the
// SHA-256 of those bytes (not of the XML inside).
func TestImportSealed(t *testing.T) {
	const id = "Contoso.Sealed"
	mp := sealedPack(t, id)
	sum := sha256.Sum256(mp)
	stores := map[string]func(t *testing.T) mpsync.Store{
		"Dir":    func(t *testing.T) mpsync.Store { return openTemp(t) },
		"Memory": func(t *testing.T) mpsync.Store { return store.NewMemory() },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			req := store.ImportRequest{ID: id, Version: pack.MustParseVersion("2.0.0.0"), Size: int64(len(mp)),
				SHA256: hex.EncodeToString(sum[:]), Provenance: store.Provenance{Owner: store.OwnerCustom}}
			e, err := s.Import(context.Background(), req, bytes.NewReader(mp))
			require.NoError(t, err)
			assert.Equal(t, id, e.ID)
			assert.Equal(t, hex.EncodeToString(sum[:]), e.SHA256)
			assert.Equal(t, int64(len(mp)), e.Size)
			require.Len(t, e.References, 1)
			assert.Equal(t, "31bf3856ad364e35", e.References[0].PublicKeyToken)
			assert.Equal(t, mp, readAll(t, s, id), "the sealed bytes are stored as they came")

			// A sealed pack that declares another version is refused like XML.
			req.ID, req.Version, req.SHA256, req.Size = id, pack.MustParseVersion("2.0.0.1"), "", 0
			_, err = s.Import(context.Background(), req, bytes.NewReader(mp))
			assert.ErrorIs(t, err, pack.ErrIdentity)
		})
	}
}

// TestRebuildReadsSealed: when the database is lost, Rebuild rebuilds it
// from the stored files with pack.ReadManifest, sealed ones included.
func TestRebuildReadsSealed(t *testing.T) {
	const id = "Contoso.Sealed"
	mp := sealedPack(t, id)
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	_, err = d.Import(context.Background(), store.ImportRequest{ID: id, Provenance: store.Provenance{Owner: store.OwnerCustom}}, bytes.NewReader(mp))
	require.NoError(t, err)
	before, err := d.List(context.Background())
	require.NoError(t, err)
	require.NoError(t, d.Close())

	require.NoError(t, os.Remove(filepath.Join(dir, "store.db")))
	rep, err := store.Rebuild(dir, nil)
	require.NoError(t, err)
	require.Len(t, rep.Unrestored, 1, "the provenance went with the database")
	_, err = os.Stat(filepath.Join(dir, "quarantine"))
	assert.True(t, os.IsNotExist(err), "the sealed file is not mistaken for a damaged one")
	d, err = store.OpenDir(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	assert.True(t, d.Rebuilt())
	after, err := d.List(context.Background())
	require.NoError(t, err)
	require.Len(t, after, 1)
	assert.Equal(t, before[0].ID, after[0].ID)
	assert.Equal(t, before[0].Version, after[0].Version)
	assert.Equal(t, before[0].SHA256, after[0].SHA256)
	assert.Equal(t, before[0].References, after[0].References)
	assert.Equal(t, mp, readAll(t, d, id))
}
