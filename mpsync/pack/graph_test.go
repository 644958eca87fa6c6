package pack_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
)

// mf builds a manifest from "ID@Version" and references "ID@Version".
func mf(idv string, refs ...string) pack.Manifest {
	id, v, _ := strings.Cut(idv, "@")
	m := pack.Manifest{ID: id, Version: pack.MustParseVersion(v)}
	for i, r := range refs {
		rid, rv, _ := strings.Cut(r, "@")
		m.References = append(m.References, pack.Reference{Alias: "R" + string(rune('a'+i)), ID: rid, Version: pack.MustParseVersion(rv)})
	}
	return m
}

func TestGraphOrder(t *testing.T) {
	tests := []struct {
		name    string
		packs   []pack.Manifest
		import_ []string
		removal []string
		cycle   []string
	}{
		{name: "empty", packs: nil, import_: []string{}, removal: []string{}},
		{
			name:    "independent packs sort by id",
			packs:   []pack.Manifest{mf("C@1"), mf("A@1"), mf("B@1")},
			import_: []string{"A", "B", "C"},
			removal: []string{"A", "B", "C"},
		},
		{
			name:    "chain",
			packs:   []pack.Manifest{mf("A@1", "B@1"), mf("B@1", "C@1"), mf("C@1", "System.Library@7.5.8501.0")},
			import_: []string{"C", "B", "A"},
			removal: []string{"A", "B", "C"},
		},
		{
			name: "diamond with ties",
			// App references Lib1 and Lib2, both reference Core; Tool stands alone.
			packs:   []pack.Manifest{mf("App@1", "Lib2@1", "Lib1@1"), mf("Lib1@1", "Core@1"), mf("Lib2@1", "Core@1"), mf("Core@1"), mf("Tool@1")},
			import_: []string{"Core", "Lib1", "Lib2", "App", "Tool"},
			removal: []string{"App", "Lib1", "Lib2", "Core", "Tool"},
		},
		{
			name:    "smallest ready id first, not input order",
			packs:   []pack.Manifest{mf("Z@1"), mf("B@1", "Z@1"), mf("A@1", "Z@1"), mf("M@1")},
			import_: []string{"M", "Z", "A", "B"},
			removal: []string{"A", "B", "M", "Z"},
		},
		{
			name:    "duplicate reference counts once",
			packs:   []pack.Manifest{mf("A@1", "B@1", "B@2"), mf("B@2")},
			import_: []string{"B", "A"},
			removal: []string{"A", "B"},
		},
		{
			name:  "two-pack cycle",
			packs: []pack.Manifest{mf("B@1", "A@1"), mf("A@1", "B@1")},
			cycle: []string{"A", "B", "A"},
		},
		{
			name:  "self reference",
			packs: []pack.Manifest{mf("A@1", "A@1"), mf("B@1")},
			cycle: []string{"A", "A"},
		},
		{
			name: "cycle behind a dependent, reported from its smallest id",
			// Top -> Y -> Z -> X -> Y; Base is fine.
			packs: []pack.Manifest{mf("Top@1", "Y@1"), mf("Y@1", "Z@1"), mf("Z@1", "X@1"), mf("X@1", "Y@1", "Base@1"), mf("Base@1")},
			cycle: []string{"X", "Y", "Z", "X"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := pack.NewGraph(tt.packs)
			require.NoError(t, err)
			imp, err := g.ImportOrder()
			rem, err2 := g.RemovalOrder()
			if tt.cycle != nil {
				var ce *pack.CycleError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tt.cycle, ce.Cycle)
				assert.ErrorIs(t, err, pack.ErrCycle)
				assert.Contains(t, err.Error(), strings.Join(tt.cycle, " -> "))
				assert.Nil(t, imp)
				require.ErrorAs(t, err2, &ce)
				assert.Equal(t, tt.cycle, ce.Cycle)
				assert.Nil(t, rem)
				return
			}
			require.NoError(t, err)
			require.NoError(t, err2)
			assert.Equal(t, tt.import_, imp)
			assert.Equal(t, tt.removal, rem)
			assertImportOrder(t, g, imp)
		})
	}
}

// assertImportOrder checks the defining property: every in-graph reference
// of a pack comes before it.
func assertImportOrder(t *testing.T, g *pack.Graph, order []string) {
	t.Helper()
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	assert.Len(t, pos, len(g.IDs()))
	for _, id := range g.IDs() {
		for _, r := range g.References(id) {
			assert.Less(t, pos[r], pos[id], "%s references %s", id, r)
		}
	}
}

func TestGraphDuplicate(t *testing.T) {
	_, err := pack.NewGraph([]pack.Manifest{mf("A@1"), mf("B@1"), mf("A@2")})
	require.ErrorIs(t, err, pack.ErrDuplicatePack)
	assert.Contains(t, err.Error(), "A at versions 1.0.0.0 and 2.0.0.0")
}

func TestGraphDependents(t *testing.T) {
	g, err := pack.NewGraph([]pack.Manifest{
		mf("App@1", "Lib1@1", "Lib2@1"), mf("Lib1@1", "Core@1"), mf("Lib2@1", "Core@1"), mf("Core@1", "System.Library@7"), mf("Other@1", "Lib2@1"),
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"App", "Core", "Lib1", "Lib2", "Other"}, g.IDs())
	assert.Equal(t, []string{"Lib1", "Lib2"}, g.Dependents("Core"))
	assert.Equal(t, []string{"App", "Other"}, g.Dependents("Lib2"))
	assert.Empty(t, g.Dependents("App"))
	assert.Empty(t, g.Dependents("Unknown"))
	assert.Equal(t, []string{"App", "Lib1", "Lib2", "Other"}, g.AllDependents("Core"))
	assert.Equal(t, []string{"App"}, g.AllDependents("Lib1"))
	assert.Empty(t, g.AllDependents("App"))
	assert.Equal(t, []string{"Lib1", "Lib2"}, g.References("App"))
	assert.Empty(t, g.References("Core"), "System.Library is outside the graph")

	m, ok := g.Manifest("Core")
	require.True(t, ok)
	assert.Equal(t, "System.Library", m.References[0].ID)
	_, ok = g.Manifest("System.Library")
	assert.False(t, ok)

	// Results are copies: changing them does not change the graph.
	d := g.Dependents("Core")
	d[0] = "changed"
	assert.Equal(t, []string{"Lib1", "Lib2"}, g.Dependents("Core"))
}

func TestGraphUnsatisfied(t *testing.T) {
	platform := pack.Inventory{
		"System.Library":                 pack.MustParseVersion("7.5.8501.0"),
		"Microsoft.SystemCenter.Library": pack.MustParseVersion("7.0.8433.0"),
		"Contoso.Lib":                    pack.MustParseVersion("9.0.0.0"),
	}
	tests := []struct {
		name      string
		packs     []pack.Manifest
		available func(string) (pack.Version, bool)
		want      []string
	}{
		{
			name:      "all met",
			packs:     []pack.Manifest{mf("A@1", "System.Library@7.0.8427.0", "B@1.0.0.56"), mf("B@1.0.0.58")},
			available: platform.Lookup,
		},
		{
			name:      "equal version is enough",
			packs:     []pack.Manifest{mf("A@1", "Microsoft.SystemCenter.Library@7.0.8433.0")},
			available: platform.Lookup,
		},
		{
			name:      "missing",
			packs:     []pack.Manifest{mf("A@1", "Nowhere@1.2")},
			available: platform.Lookup,
			want:      []string{"A references Nowhere 1.2.0.0 (alias Ra), which is missing"},
		},
		{
			name:      "platform too old by revision",
			packs:     []pack.Manifest{mf("A@1", "System.Library@7.5.8501.1")},
			available: platform.Lookup,
			want:      []string{"A references System.Library 7.5.8501.1 (alias Ra), found 7.5.8501.0"},
		},
		{
			name:      "the graph's version wins over the inventory's",
			packs:     []pack.Manifest{mf("A@1", "Contoso.Lib@2"), mf("Contoso.Lib@1")},
			available: platform.Lookup,
			want:      []string{"A references Contoso.Lib 2.0.0.0 (alias Ra), found 1.0.0.0"},
		},
		{
			name:  "nil available counts only the graph",
			packs: []pack.Manifest{mf("B@1", "A@1", "System.Library@7"), mf("A@1")},
			want:  []string{"B references System.Library 7.0.0.0 (alias Rb), which is missing"},
		},
		{
			name:      "sorted by pack, then reference order",
			packs:     []pack.Manifest{mf("Z@1", "Q@1"), mf("A@1", "Y@1", "X@1")},
			available: pack.Inventory{}.Lookup,
			want: []string{
				"A references Y 1.0.0.0 (alias Ra), which is missing",
				"A references X 1.0.0.0 (alias Rb), which is missing",
				"Z references Q 1.0.0.0 (alias Ra), which is missing",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := pack.NewGraph(tt.packs)
			require.NoError(t, err)
			var got []string
			for _, u := range g.Unsatisfied(tt.available) {
				got = append(got, u.String())
			}
			assert.Equal(t, tt.want, got)
			err = g.CheckReferences(tt.available)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			var ue *pack.UnsatisfiedError
			require.ErrorAs(t, err, &ue)
			assert.Len(t, ue.Unsatisfied, len(tt.want))
			assert.True(t, errors.Is(err, pack.ErrUnsatisfied))
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestGraphUnsatisfiedFields(t *testing.T) {
	g, err := pack.NewGraph([]pack.Manifest{mf("A@1", "L@2", "M@1")})
	require.NoError(t, err)
	u := g.Unsatisfied(pack.Inventory{"L": pack.MustParseVersion("1.5")}.Lookup)
	require.Len(t, u, 2)
	assert.Equal(t, pack.Unsatisfied{Pack: "A", Reference: mf("A@1", "L@2").References[0], Found: pack.MustParseVersion("1.5")}, u[0])
	assert.True(t, u[1].Missing)
	assert.Equal(t, "M", u[1].Reference.ID)
	assert.True(t, u[1].Found.IsZero())
}

func TestGraphCorpusChains(t *testing.T) {
	ms := readCorpus(t)
	var all []pack.Manifest
	for _, c := range corpusPacks {
		all = append(all, ms[c.id])
	}
	g, err := pack.NewGraph(all)
	require.NoError(t, err)

	order, err := g.ImportOrder()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"DEMO.Azure.LogAnalytics",
		"DEMO.Azure.LogAnalytics.Monitors",
		"Microsoft.SystemCenter.MicrosoftAzure",
		"Azure.Monitoring",
		"Progel.Azure.Backup",
	}, order)
	removal, err := g.RemovalOrder()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"Azure.Monitoring",
		"DEMO.Azure.LogAnalytics.Monitors",
		"DEMO.Azure.LogAnalytics",
		"Microsoft.SystemCenter.MicrosoftAzure",
		"Progel.Azure.Backup",
	}, removal)
	assert.Equal(t, []string{"Azure.Monitoring"}, g.Dependents("Microsoft.SystemCenter.MicrosoftAzure"))
	assert.Equal(t, []string{"DEMO.Azure.LogAnalytics.Monitors"}, g.Dependents("DEMO.Azure.LogAnalytics"))

	// Platform libraries at the highest versions the corpus references
	// (mp-format.md lists them) satisfy everything: 1.0.0.56 is met by 1.0.0.58.
	platform := pack.Inventory{}
	for _, m := range all {
		for _, r := range m.References {
			if _, in := g.Manifest(r.ID); !in && platform[r.ID].Less(r.Version) {
				platform[r.ID] = r.Version
			}
		}
	}
	assert.Empty(t, g.Unsatisfied(platform.Lookup))
	assert.NoError(t, g.CheckReferences(platform.Lookup))

	// Without the platform, only platform references are missing.
	for _, u := range g.Unsatisfied(nil) {
		assert.True(t, u.Missing)
		assert.NotContains(t, []string{"DEMO.Azure.LogAnalytics", "Microsoft.SystemCenter.MicrosoftAzure"}, u.Reference.ID)
	}

	// Monitors alone, with DEMO.Azure.LogAnalytics present at 1.0.0.55: too low.
	alone, err := pack.NewGraph([]pack.Manifest{ms["DEMO.Azure.LogAnalytics.Monitors"]})
	require.NoError(t, err)
	platform["DEMO.Azure.LogAnalytics"] = pack.MustParseVersion("1.0.0.55")
	u := alone.Unsatisfied(platform.Lookup)
	require.Len(t, u, 1)
	assert.Equal(t, "DEMO.Azure.LogAnalytics.Monitors references DEMO.Azure.LogAnalytics 1.0.0.56 (alias AzureLogAnalytics), found 1.0.0.55", u[0].String())
}
