package pack_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
)

// corpusPacks is what ../shared/mp-corpus/MANIFEST.md says about each real
// XML pack.
var corpusPacks = []struct {
	file    string
	id      string
	version string
	refs    int
	bom     []byte
}{
	{"Microsoft.SystemCenter.MicrosoftAzure.xml", "Microsoft.SystemCenter.MicrosoftAzure", "1.3.18.0", 14, []byte{0xFF, 0xFE}},
	{"Azure.Monitoring.xml", "Azure.Monitoring", "1.0.0.0", 7, []byte{0xEF, 0xBB, 0xBF}},
	{"Progel.Azure.Backup.xml", "Progel.Azure.Backup", "1.0.0.0", 10, []byte{0xEF, 0xBB, 0xBF}},
	{"DEMO.Azure.LogAnalytics.xml", "DEMO.Azure.LogAnalytics", "1.0.0.58", 3, []byte{0xEF, 0xBB, 0xBF}},
	{"DEMO.Azure.LogAnalytics.Monitors.xml", "DEMO.Azure.LogAnalytics.Monitors", "1.0.0.5", 4, []byte("<?xml")},
}

// readCorpus reads the manifests of the corpus's XML packs, keyed by id.
func readCorpus(t *testing.T) map[string]pack.Manifest {
	t.Helper()
	dir := corpusDir(t)
	out := map[string]pack.Manifest{}
	for _, c := range corpusPacks {
		f, err := os.Open(filepath.Join(dir, c.file))
		require.NoError(t, err)
		m, err := pack.ReadManifest(f)
		require.NoError(t, f.Close())
		require.NoError(t, err, c.file)
		out[m.ID] = m
	}
	return out
}

func TestCorpusPacks(t *testing.T) {
	dir := corpusDir(t)
	for _, c := range corpusPacks {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, c.file))
			require.NoError(t, err)
			require.Equal(t, c.bom, b[:len(c.bom)], "the encoding MANIFEST.md describes")

			f, err := os.Open(filepath.Join(dir, c.file))
			require.NoError(t, err)
			defer f.Close()
			m, err := pack.ReadManifest(f)
			require.NoError(t, err)
			assert.Equal(t, c.id, m.ID)
			assert.Equal(t, c.version, m.Version.String())
			assert.Len(t, m.References, c.refs)
			for _, r := range m.References {
				assert.NotEmpty(t, r.Alias, "reference %s", r.ID)
				assert.NoError(t, pack.CheckID(r.ID))
			}

			_, err = f.Seek(0, 0)
			require.NoError(t, err)
			v, err := pack.Validate(f, pack.Expect{ID: c.id, Version: m.Version}, pack.Limits{})
			require.NoError(t, err)
			assert.Equal(t, m, v)
		})
	}
}

func TestCorpusReferences(t *testing.T) {
	ms := readCorpus(t)
	r, ok := ms["Azure.Monitoring"].Reference("Microsoft.SystemCenter.MicrosoftAzure")
	require.True(t, ok)
	assert.Equal(t, "1.3.18.0", r.Version.String())
	r, ok = ms["DEMO.Azure.LogAnalytics.Monitors"].Reference("DEMO.Azure.LogAnalytics")
	require.True(t, ok)
	assert.Equal(t, "1.0.0.56", r.Version.String())
	assert.True(t, r.Version.Less(ms["DEMO.Azure.LogAnalytics"].Version), "1.0.0.56 is satisfied by 1.0.0.58")
}

func TestCorpusRefused(t *testing.T) {
	dir := corpusDir(t)
	tests := []struct {
		file string
		err  error
		msg  string
	}{
		{"not-a-management-pack.xml", pack.ErrNotManagementPack, "root element is <DataSourceModuleType>"},
		{"QND.AzureMPIntegration.mpb", pack.ErrNotManagementPack, "bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.file))
			require.NoError(t, err)
			defer f.Close()
			_, err = pack.ReadManifest(f)
			require.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), tt.msg)
			_, err = f.Seek(0, 0)
			require.NoError(t, err)
			_, err = pack.Validate(f, pack.Expect{}, pack.Limits{})
			assert.ErrorIs(t, err, tt.err)
		})
	}
}
