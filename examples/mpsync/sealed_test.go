package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// TestImportSealedPack: `mpsync import FILE.mp` imports a sealed pack with
// the identity its XML declares and keeps the file's bytes.
func TestImportSealedPack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	doc, err := packgen.Spec{ID: "Contoso.Sealed.Library", Version: pack.MustParseVersion("3.2.1.0"), Rules: 10}.Bytes()
	require.NoError(t, err)
	mp, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	file := filepath.Join(f.dir, "Contoso.Sealed.Library.mp")
	require.NoError(t, os.WriteFile(file, mp, 0o600))

	r := f.mustOK(t, "import", file, "--json")
	var id importDoc
	oneJSON(t, r.stdout, &id)
	require.Len(t, id.Imported, 1)
	got := id.Imported[0]
	assert.Equal(t, "Contoso.Sealed.Library", got.ID)
	assert.Equal(t, "3.2.1.0", got.Version)
	assert.Equal(t, "custom", got.Owner)
	sum := sha256.Sum256(mp)
	assert.Equal(t, hex.EncodeToString(sum[:]), got.SHA256, "the sealed file is stored as it is")
	assert.Equal(t, int64(len(mp)), got.Size)
	assert.Equal(t, "3.2.1.0 custom", f.packs(t)["Contoso.Sealed.Library"])

	// A file starting with MZ that is no assembly is refused, naming the file.
	bad := filepath.Join(f.dir, "broken.mp")
	require.NoError(t, os.WriteFile(bad, []byte("MZ\x90\x00not really"), 0o600))
	r = f.run(t, "import", bad)
	assert.Equal(t, 1, r.code)
	line := oneLineErr(t, r.stderr)
	assert.Contains(t, line, "broken.mp")
	assert.Contains(t, line, "sealed pack")
}
