package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

func TestWriteChangeTable(t *testing.T) {
	keep := Change{Action: ActionKeep, Pack: "K", From: v("1.0.0.0"), To: v("1.0.0.0"), Rule: rules.MPUpdate}
	imp := Change{Action: ActionImport, Pack: "P", To: v("2.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "solution enabled"}
	rem := Change{Action: ActionRemove, Pack: "R", From: v("3.0.0.0"), Rule: rules.GetIntelligencePacks, Reason: "not wanted"}
	tests := []struct {
		name    string
		changes []Change
		results []string
		want    []string // lines, fields separated by runs of spaces
	}{
		{name: "nothing but kept packs",
			changes: []Change{keep, keep},
			want: []string{
				"ACTION PACK FROM TO RULE REASON",
				"(no changes; 2 packs current)",
			}},
		{name: "kept packs left out and counted; zero versions shown as -",
			changes: []Change{imp, keep, rem},
			want: []string{
				"ACTION PACK FROM TO RULE REASON",
				"import P - 2.0.0.0 GetIntelligencePacks solution enabled",
				"remove R 3.0.0.0 - GetIntelligencePacks not wanted",
				"(1 packs current)",
			}},
		{name: "results add a result column",
			changes: []Change{imp, rem},
			results: []string{"applied", "failed: boom"},
			want: []string{
				"ACTION PACK FROM TO RULE REASON RESULT",
				"import P - 2.0.0.0 GetIntelligencePacks solution enabled applied",
				"remove R 3.0.0.0 - GetIntelligencePacks not wanted failed: boom",
			}},
		{name: "no changes at all",
			want: []string{
				"ACTION PACK FROM TO RULE REASON",
				"(no changes; 0 packs current)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			WriteTable(&b, tt.changes, tt.results)
			var got []string
			for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				assert.True(t, strings.HasPrefix(l, "  "), "line %q is indented", l)
				got = append(got, strings.Join(strings.Fields(l), " "))
			}
			assert.Equal(t, tt.want, got, "table:\n%s", b.String())
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
