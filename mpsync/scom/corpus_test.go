package scom_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

// corpusDir returns ../shared/mp-corpus next to the repository root (the
// directory holding go.mod, found by walking up), or skips the test when it
// is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test's directory")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "mp-corpus")
	if _, err := os.Stat(filepath.Join(corpus, "MANIFEST.md")); err != nil {
		t.Skipf("mp-corpus not present at %s: %v", corpus, err)
	}
	return corpus
}

// corpusManifests reads the manifests of the corpus packs: every XML file
// but the fragment that is not a pack, and the sealed (.mp) and bundle
// (.mpb) files only if pack.ReadManifest reads them (today it refuses both).
func corpusManifests(t *testing.T) []pack.Manifest {
	t.Helper()
	dir := corpusDir(t)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []pack.Manifest
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || name == "not-a-management-pack.xml" || (ext != ".xml" && ext != ".mp" && ext != ".mpb") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		m, err := pack.ReadManifest(f)
		require.NoError(t, f.Close())
		if ext != ".xml" && err != nil {
			continue
		}
		require.NoError(t, err, name)
		out = append(out, m)
	}
	require.GreaterOrEqual(t, len(out), 5, "the five XML packs of MANIFEST.md")
	return out
}

// sp1Exception is the one corpus reference 2012 SP1 cannot meet:
// Azure.Monitoring was written on 2012 R2 and references the data warehouse
// library at the 2012 R2 build, which no SP1 group holds. The SP1 table
// keeps the SP1 build rather than claim a version SP1 never shipped.
const sp1Exception = "Azure.Monitoring references Microsoft.SystemCenter.DataWarehouse.Library 7.1.10226.0 (alias AzureGenSCDW), found 7.0.9538.0"

// Every built-in inventory satisfies every platform reference of the corpus
// packs (references to packs outside the corpus), 2012 SP1 but for the one
// reference above.
func TestCorpusPlatformReferences(t *testing.T) {
	ms := corpusManifests(t)
	g, err := pack.NewGraph(ms)
	require.NoError(t, err)
	var platformRefs int
	for _, m := range ms {
		for _, r := range m.References {
			if _, in := g.Manifest(r.ID); !in {
				platformRefs++
			}
		}
	}
	require.Positive(t, platformRefs)
	for _, r := range scom.Releases() {
		t.Run(r.Name, func(t *testing.T) {
			var got []string
			for _, u := range g.Unsatisfied(r.Platform().Lookup) {
				got = append(got, u.String())
			}
			if r.Name == "2012 SP1" {
				assert.Equal(t, []string{sp1Exception}, got)
				return
			}
			assert.Empty(t, got)
		})
	}
}

// The corpus packs import in reference order on the 2012 R2, 2016, 2019
// and 2022 inventories: each pack's references are met by the inventory
// and the packs imported before it.
func TestCorpusImportsInOrder(t *testing.T) {
	ms := corpusManifests(t)
	g, err := pack.NewGraph(ms)
	require.NoError(t, err)
	order, err := g.ImportOrder()
	require.NoError(t, err)
	require.Len(t, order, len(ms))
	for _, name := range []string{"2012 R2", "2016", "2019", "2022"} {
		t.Run(name, func(t *testing.T) {
			r, ok := scom.ReleaseNamed(name)
			require.True(t, ok)
			have := r.Platform()
			for _, id := range order {
				m, _ := g.Manifest(id)
				for _, ref := range m.References {
					v, ok := have[ref.ID]
					assert.True(t, ok && !v.Less(ref.Version), "%s: %s references %s %s; the group holds %v (present %v)",
						name, id, ref.ID, ref.Version, v, ok)
				}
				have[id] = m.Version
			}
		})
	}
}

// The bug: Microsoft's Azure pack 1.3.18.0 on a 2012 R2 group.
func TestAzurePackOn2012R2(t *testing.T) {
	ms := corpusManifests(t)
	var azure pack.Manifest
	for _, m := range ms {
		if m.ID == "Microsoft.SystemCenter.MicrosoftAzure" {
			azure = m
		}
	}
	require.Equal(t, "1.3.18.0", azure.Version.String())
	g, err := pack.NewGraph([]pack.Manifest{azure})
	require.NoError(t, err)
	inv, r := scom.Platform(pack.MustParseVersion("7.1.10226.1239"))
	require.Equal(t, "2012 R2", r.Name)
	assert.Empty(t, g.Unsatisfied(inv.Lookup))
	ref, ok := azure.Reference("System.Image.Library")
	require.True(t, ok)
	assert.Equal(t, "7.5.8501.0", ref.Version.String())
}
