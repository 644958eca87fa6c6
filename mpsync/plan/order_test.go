package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"mpsync.dev/mpsync/pack"
)

func TestImportAndRemovalOrder(t *testing.T) {
	m := func(id string, refs ...string) pack.Manifest {
		pm := pack.Manifest{ID: id, Version: v("1.0.0.0")}
		for _, r := range refs {
			pm.References = append(pm.References, ref(r, "1.0.0.0"))
		}
		return pm
	}
	tests := []struct {
		name       string
		ms         []pack.Manifest
		wantImport []string
		wantRemove []string
	}{
		{name: "empty", ms: nil, wantImport: []string{}, wantRemove: []string{}},
		{name: "a chain: references first, dependents first",
			ms:         []pack.Manifest{m("C", "B"), m("A"), m("B", "A")},
			wantImport: []string{"A", "B", "C"},
			wantRemove: []string{"C", "B", "A"}},
		{name: "independent packs by id",
			ms:         []pack.Manifest{m("Z"), m("M"), m("A")},
			wantImport: []string{"A", "M", "Z"},
			wantRemove: []string{"A", "M", "Z"}},
		{name: "references outside the set do not count",
			ms:         []pack.Manifest{m("B", "Platform"), m("A", "B")},
			wantImport: []string{"B", "A"},
			wantRemove: []string{"A", "B"}},
		{name: "a cycle that remains: ids sorted",
			ms:         []pack.Manifest{m("Y", "X"), m("X", "Y")},
			wantImport: []string{"X", "Y"},
			wantRemove: []string{"X", "Y"}},
		{name: "a duplicate id: ids sorted",
			ms:         []pack.Manifest{m("B"), m("A", "B"), m("B")},
			wantImport: []string{"A", "B", "B"},
			wantRemove: []string{"A", "B", "B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := importOrder(tt.ms)
			if len(got) == 0 {
				got = []string{}
			}
			assert.Equal(t, tt.wantImport, got, "importOrder")
			got = RemovalOrder(tt.ms)
			if len(got) == 0 {
				got = []string{}
			}
			assert.Equal(t, tt.wantRemove, got, "removalOrder")
		})
	}
}
