package store_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// corpusDir returns ../shared/mp-corpus beside the repository root, or
// skips the test when it is absent.
func corpusDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "mp-corpus")
			if _, err := os.Stat(c); err != nil {
				t.Skipf("real packs not available: %v", err)
			}
			return c
		}
		if filepath.Dir(dir) == dir {
			t.Skip("repository root not found")
		}
	}
}

// TestCorpusPacks imports the real packs of the shared corpus into both
// stores and refuses the files that are not XML management packs.
func TestCorpusPacks(t *testing.T) {
	corpus := corpusDir(t)
	stores := map[string]func(t *testing.T) mpsync.Store{
		"Dir":    func(t *testing.T) mpsync.Store { return openTemp(t) },
		"Memory": func(t *testing.T) mpsync.Store { return store.NewMemory() },
	}
	good := []struct{ file, id, version string }{
		{"Azure.Monitoring.xml", "", "1.0.0.0"},
		{"Progel.Azure.Backup.xml", "", "1.0.0.0"},
		{"DEMO.Azure.LogAnalytics.xml", "DEMO.Azure.LogAnalytics", "1.0.0.58"},
		{"DEMO.Azure.LogAnalytics.Monitors.xml", "", "1.0.0.5"},
		{"Microsoft.SystemCenter.MicrosoftAzure.xml", "Microsoft.SystemCenter.MicrosoftAzure", "1.3.18.0"},
		{"Microsoft.SystemCenter.DataProtectionManager.2012.Library.mp", "Microsoft.SystemCenter.DataProtectionManager.2012.Library", "4.2.1276.0"},
	}
	bad := []struct {
		file string
		want error
	}{
		{"not-a-management-pack.xml", pack.ErrNotManagementPack},
		{"QND.AzureMPIntegration.mpb", pack.ErrNotManagementPack},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			for _, g := range good {
				data, err := os.ReadFile(filepath.Join(corpus, g.file))
				if err != nil {
					t.Skipf("corpus file missing: %v", err)
				}
				m, err := pack.ReadManifest(bytes.NewReader(data))
				require.NoError(t, err, g.file)
				if g.id != "" {
					require.Equal(t, g.id, m.ID)
				}
				r := storage.ImportRequest{ID: m.ID, Version: pack.MustParseVersion(g.version), Size: int64(len(data)),
					Provenance: storage.Provenance{Owner: storage.OwnerCustom}}
				e, err := s.Import(ctx, r, bytes.NewReader(data))
				require.NoError(t, err, g.file)
				assert.Equal(t, m.References, e.References, g.file)
				rc, err := s.Open(ctx, m.ID)
				require.NoError(t, err)
				b, err := io.ReadAll(rc)
				rc.Close()
				require.NoError(t, err)
				assert.Equal(t, data, b, "%s is stored byte for byte (BOM included)", g.file)
			}
			before, err := s.List(ctx)
			require.NoError(t, err)
			for _, b := range bad {
				data, err := os.ReadFile(filepath.Join(corpus, b.file))
				if err != nil {
					t.Skipf("corpus file missing: %v", err)
				}
				_, err = s.Import(ctx, storage.ImportRequest{ID: "Contoso.Refused"}, bytes.NewReader(data))
				assert.ErrorIs(t, err, b.want, b.file)
			}
			after, err := s.List(ctx)
			require.NoError(t, err)
			assert.Equal(t, before, after)
		})
	}
}
