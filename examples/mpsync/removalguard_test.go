package main

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A catalog that suddenly lists no packs used to remove every workspace
// pack with exit 0. The removal guard holds the removals (denied, exit 0,
// the store untouched) until a run with --max-removal-share 100% confirms.
func TestRemovalGuardThroughTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	before := f.packs(t)
	require.Len(t, before, 6)
	for _, p := range f.srv.Catalog().Packs {
		f.srv.Unpublish(p.ID)
	}

	res, p := f.syncResults(t)
	denied := 0
	for id, result := range res {
		if result == "denied" {
			denied++
			assert.Contains(t, reasonOf(p, id), "held by the removal guard")
		}
	}
	assert.Positive(t, denied, "the removals are held: %v", res)
	assert.Equal(t, before, f.packs(t), "the store is exactly as it was")

	res, _ = f.syncResults(t, "--max-removal-share", "100%")
	assert.NotContains(t, slicesOf(maps.Values(res)), "denied", "100%% confirms: %v", res)
	assert.Less(t, len(f.packs(t)), len(before), "the confirmed removals applied")
}

func TestMaxRemovalShareErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"over 100%", nil, []string{"--max-removal-share", "150%", "sync"}, `invalid value "150%" for flag --max-removal-share: want a share from 0% to 100%`},
		{"not a number", nil, []string{"sync", "--max-removal-share", "half"}, `invalid value "half" for flag --max-removal-share: want a percentage`},
		{"negative", nil, []string{"sync", "--max-removal-share=-0.1"}, "want a share from 0% to 100%"},
		{"from the environment", []string{"MPSYNC_MAX_REMOVAL_SHARE=lots"}, []string{"sync"}, `environment variable MPSYNC_MAX_REMOVAL_SHARE="lots": want a percentage`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, cleanEnv(append([]string{"USER=tester"}, tt.env...)...), f.args(tt.args...)...)
			assert.Equal(t, 2, r.code, "bad usage: %s", r.stderr)
			assert.Contains(t, oneLineErr(t, r.stderr), tt.want)
		})
	}
	assert.NoDirExists(t, f.store, "a refused command touched no store")
}

func slicesOf(seq func(func(string) bool)) []string {
	var out []string
	for v := range seq {
		out = append(out, v)
	}
	return out
}
