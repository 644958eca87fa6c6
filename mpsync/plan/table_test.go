package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

func TestWriteChangeTable(t *testing.T) {
	imp := Change{ID: "c1", Action: ActionImport, Pack: "P", To: v("2.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "solution enabled"}
	rem := Change{ID: "c2", Action: ActionRemove, Pack: "R", From: v("3.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "not wanted"}
	bad := Change{ID: "c3", Action: ActionUpgrade, Pack: "U", From: v("1.0.0.0"), To: v("1.1.0.0"), Rule: rules.MPUpdate, Reason: "newer", Error: "sha256 mismatch"}
	// A blocked change's reason often quotes its error already.
	unread := Change{ID: "c4", Action: ActionBlocked, Pack: "B", To: v("2.0.0.0"), Rule: rules.MPUpdate, Reason: "cannot read the pack: refused", Error: "refused"}
	tests := []struct {
		name    string
		changes []Change
		results []string
		want    []string // lines, fields separated by runs of spaces
	}{
		{name: "zero versions shown as -; the id first",
			changes: []Change{imp, rem},
			want: []string{
				"CHANGE RULE ACTION PACK FROM TO REASON",
				"c1 GetIntelligencePacks import P - 2.0.0.0 solution enabled",
				"c2 GetIntelligencePacks remove R 3.0.0.0 - not wanted",
			}},
		{name: "results add a result column and a count",
			changes: []Change{imp, rem, bad},
			results: []string{"applied", "failed", "applied"},
			want: []string{
				"CHANGE RULE ACTION PACK FROM TO RESULT REASON",
				"c1 GetIntelligencePacks import P - 2.0.0.0 applied solution enabled",
				"c2 GetIntelligencePacks remove R 3.0.0.0 - failed not wanted",
				"c3 MPUpdate upgrade U 1.0.0.0 1.1.0.0 applied newer (error: sha256 mismatch)",
				"2 applied, 1 failed",
			}},
		{name: "an error the reason quotes is not repeated",
			changes: []Change{unread},
			want: []string{
				"CHANGE RULE ACTION PACK FROM TO REASON",
				"c4 MPUpdate blocked B - 2.0.0.0 cannot read the pack: refused",
			}},
		{name: "results the engine does not name are counted after its own",
			changes: []Change{imp, rem},
			results: []string{"later", "pending"},
			want: []string{
				"CHANGE RULE ACTION PACK FROM TO RESULT REASON",
				"c1 GetIntelligencePacks import P - 2.0.0.0 later solution enabled",
				"c2 GetIntelligencePacks remove R 3.0.0.0 - pending not wanted",
				"1 pending, 1 later",
			}},
		{name: "no changes at all",
			want: []string{"no changes: every pack is current"}},
		{name: "no changes with results",
			results: []string{},
			want:    []string{"no changes: every pack is current"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			WriteTable(&b, tt.changes, tt.results)
			var got []string
			for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			assert.Equal(t, tt.want, got, "table:\n%s", b.String())
		})
	}
}

// Plan.String leaves kept packs out of the table and counts them.
func TestPlanStringCountsKeptPacks(t *testing.T) {
	keep := Change{ID: "k", Action: ActionKeep, Pack: "K", From: v("1.0.0.0"), To: v("1.0.0.0"), Rule: rules.MPUpdate}
	imp := Change{ID: "c1", Action: ActionImport, Pack: "P", To: v("2.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "solution enabled"}
	for _, tt := range []struct {
		name    string
		changes []Change
		want    []string
	}{
		{"nothing but kept packs", []Change{keep, keep}, []string{
			"plan for workspace w (catalog serial 3)", "no changes: every pack is current", "(2 packs current)"}},
		{"kept packs left out and counted", []Change{imp, keep}, []string{
			"plan for workspace w (catalog serial 3)", "CHANGE RULE ACTION PACK FROM TO REASON",
			"c1 GetIntelligencePacks import P - 2.0.0.0 solution enabled", "(1 packs current)"}},
		{"no packs", nil, []string{"plan for workspace w (catalog serial 3)", "no changes: every pack is current"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{WorkspaceID: "w", CatalogSerial: 3, Changes: tt.changes}
			var got []string
			for _, l := range strings.Split(strings.TrimRight(p.String(), "\n"), "\n") {
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			assert.Equal(t, tt.want, got, "plan:\n%s", p.String())
		})
	}
}

func TestVersionText(t *testing.T) {
	for _, tt := range []struct {
		v    pack.Version
		want string
	}{
		{pack.Version{}, "-"},
		{v("7.1.10226.1239"), "7.1.10226.1239"},
		{v("0.0.0.1"), "0.0.0.1"},
	} {
		assert.Equal(t, tt.want, versionText(tt.v))
	}
}

// WriteChanges drops kept packs with their results: the count line counts
// only the rows shown, and the kept ones are counted after it.
func TestWriteChangesLeavesKeptPacksOut(t *testing.T) {
	keep := Change{ID: "k", Action: ActionKeep, Pack: "K", From: v("1.0.0.0"), To: v("1.0.0.0"), Rule: rules.MPUpdate}
	imp := Change{ID: "c1", Action: ActionImport, Pack: "P", To: v("2.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "solution enabled"}
	var b strings.Builder
	WriteChanges(&b, []Change{keep, imp, keep}, []string{"skipped", "applied", "skipped"})
	var got []string
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	assert.Equal(t, []string{
		"CHANGE RULE ACTION PACK FROM TO RESULT REASON",
		"c1 GetIntelligencePacks import P - 2.0.0.0 applied solution enabled",
		"1 applied",
		"(2 packs current)",
	}, got, "table:\n%s", b.String())
}
