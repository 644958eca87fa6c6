package mpsync_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/ledger"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

func overrideFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "overrides", name))
	require.NoError(t, err)
	return b
}

// importOverride imports an override pack through the engine.
func importOverride(t *testing.T, e *mpsync.Engine, data []byte) mpsync.ImportResult {
	t.Helper()
	res, err := e.Import(context.Background(), bytes.NewReader(data), mpsync.ImportOptions{By: "alice", Source: "override.xml"})
	require.NoError(t, err)
	return res
}

func ruleStatus(t *testing.T, e *mpsync.Engine) (*status.Snapshot, map[rules.Rule]status.Rule) {
	t.Helper()
	st, err := e.Status(context.Background())
	require.NoError(t, err)
	out := map[rules.Rule]status.Rule{}
	for _, r := range st.Rules {
		out[r.Rule] = r
	}
	return st, out
}

// countingStore counts the packs read from the store.
type countingStore struct {
	mpsync.Store
	opens atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, id)
}

// Overrides live in the management group: an override pack imported into
// the store applies to the rules, Status names it, and a sync skips the rule
// it disables.
func TestStoreOverridePackApplies(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t) // the Advisor pack the override pack references
	importOverride(t, r.engine, overrideFile(t, "mpupdate-disabled.xml"))
	importOverride(t, r.engine, overrideFile(t, "gip-hourly.xml"))

	st, rs := ruleStatus(t, r.engine)
	mp := rs[rules.MPUpdate]
	assert.False(t, mp.Enabled)
	assert.Equal(t, "Contoso.Advisor.Freeze", mp.EnabledSource.Pack.ID)
	assert.Contains(t, mp.EnabledSource.String(), "in pack Contoso.Advisor.Freeze 1.0.0.0")
	gip := rs[rules.GetIntelligencePacks]
	assert.Equal(t, time.Hour, gip.Frequency)
	assert.Equal(t, "Contoso.Advisor.Hourly", gip.FrequencySource.Pack.ID)
	assert.Equal(t, []status.OverridePack{
		{ID: "Contoso.Advisor.Freeze", Version: pack.MustParseVersion("1.0.0.0"), From: "store"},
		{ID: "Contoso.Advisor.Hourly", Version: pack.MustParseVersion("1.0.0.3"), From: "store"},
	}, st.Overrides.Packs)
	assert.Empty(t, st.Overrides.Error)

	rep, err := r.engine.Sync(ctx)
	require.NoError(t, err)
	require.Len(t, rep.Skipped, 1)
	assert.Equal(t, rules.MPUpdate, rep.Skipped[0].Rule)
	assert.Contains(t, rep.Skipped[0].Reason, "pack Contoso.Advisor.Freeze")
}

// The store's override packs are read again only when the store's set of
// candidate packs changes (id and SHA-256).
func TestStoreOverridePacksReadOnlyWhenChanged(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	cs := &countingStore{Store: r.store}
	e := r.newEngine(t, cs, nil)
	importOverride(t, e, overrideFile(t, "mpupdate-disabled.xml"))
	ruleStatus(t, e)
	n := cs.opens.Load()
	for range 5 {
		_, err := e.Status(ctx)
		require.NoError(t, err)
		e.NextRuns(ctx)
	}
	assert.Equal(t, n, cs.opens.Load(), "nothing changed: no pack is read")

	importOverride(t, e, overrideFile(t, "gip-hourly.xml"))
	_, rs := ruleStatus(t, e)
	assert.Equal(t, time.Hour, rs[rules.GetIntelligencePacks].Frequency)
	assert.Equal(t, n+1, cs.opens.Load(), "only the new pack is read, once")
}

// A new engine over the same store (each mpsync command is a new process)
// reads no candidate pack an earlier engine found without overrides: the
// hashes are kept in the store's overrides-scan.json record. Override packs
// are still read, and the overrides still apply.
func TestStoreOverrideScanOutlivesTheEngine(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t) // solution packs reference the Advisor pack: candidates without overrides
	importOverride(t, r.engine, overrideFile(t, "mpupdate-disabled.xml"))
	ruleStatus(t, r.engine)

	cs := &countingStore{Store: r.store}
	e := r.newEngine(t, cs, nil)
	_, rs := ruleStatus(t, e)
	assert.False(t, rs[rules.MPUpdate].Enabled, "the override pack applies")
	assert.Equal(t, int64(1), cs.opens.Load(), "only the override pack is read")

	// A record of another version is ignored: every candidate is read.
	require.NoError(t, r.store.WriteMeta(ctx, "overrides-scan.json", []byte(`{"version":0,"none":[]}`)))
	cs = &countingStore{Store: r.store}
	e = r.newEngine(t, cs, nil)
	ruleStatus(t, e)
	assert.Greater(t, cs.opens.Load(), int64(1))
}

// A broken override pack in the store never stops the rules: the last valid
// overrides stay in force and the problem is reported. An engine that never
// saw a valid version leaves the broken pack out and reports it.
func TestBrokenStoreOverridePackKeepsLastValid(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	importOverride(t, r.engine, overrideFile(t, "mpupdate-disabled.xml"))
	_, rs := ruleStatus(t, r.engine)
	require.False(t, rs[rules.MPUpdate].Enabled)

	// Something other than the engine (an older tool, a hand edit of a
	// directory store) puts a broken version in the store.
	broken := strings.Replace(string(overrideFile(t, "mpupdate-disabled.xml")), "<Value>false</Value>", "<Value>maybe</Value>", 1)
	broken = strings.Replace(broken, "<Version>1.0.0.0</Version>", "<Version>1.0.0.1</Version>", 1)
	_, err := r.store.Import(ctx, storage.ImportRequest{ID: "Contoso.Advisor.Freeze", Version: pack.MustParseVersion("1.0.0.1"),
		Provenance: storage.Provenance{Owner: storage.OwnerCustom}}, strings.NewReader(broken))
	require.NoError(t, err)

	st, rs := ruleStatus(t, r.engine)
	assert.False(t, rs[rules.MPUpdate].Enabled, "the freeze holds")
	assert.Contains(t, st.Overrides.Error, "Contoso.Advisor.Freeze 1.0.0.1")
	assert.Contains(t, st.Overrides.Error, `value "maybe"`)
	rep, err := r.engine.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err, "the rules keep running")
	require.Len(t, rep.Skipped, 1)

	fresh := r.newEngine(t, r.store, nil)
	st, rs = ruleStatus(t, fresh)
	assert.True(t, rs[rules.MPUpdate].Enabled, "no valid version was ever seen: the broken pack is left out")
	assert.Contains(t, st.Overrides.Error, `value "maybe"`)
	_, err = fresh.Sync(ctx)
	require.NoError(t, err)
}

// Files (--overrides) and store packs are resolved together with SCOM's
// precedence, as if all were imported into the group.
func TestFileAndStoreOverridesCombine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	tests := []struct {
		name      string
		files     map[string][]byte
		store     [][]byte
		importErr string            // the store packs' import is refused with this
		later     map[string][]byte // files written after the store packs' import
		set       *mpsync.OverrideRequest
		wantFreq  time.Duration
		wantPack  string
		conflict  bool
		wantFrom  map[string]string
		wantError string
	}{
		{name: "enforced store pack beats a file", files: map[string][]byte{"hourly.xml": overrideFile(t, "gip-hourly.xml")},
			store: [][]byte{overrideFile(t, "enforced.xml")}, wantFreq: 2 * time.Hour, wantPack: "Contoso.Advisor.Policy",
			wantFrom: map[string]string{"Contoso.Advisor.Hourly": "file", "Contoso.Advisor.Policy": "store"}},
		{name: "enforced file beats a store pack", files: map[string][]byte{"policy.xml": overrideFile(t, "enforced.xml")},
			store: [][]byte{overrideFile(t, "gip-hourly.xml")}, wantFreq: 2 * time.Hour, wantPack: "Contoso.Advisor.Policy",
			wantFrom: map[string]string{"Contoso.Advisor.Hourly": "store", "Contoso.Advisor.Policy": "file"}},
		{name: "tie between a file and a store pack is a conflict", files: map[string][]byte{"hourly.xml": overrideFile(t, "gip-hourly.xml")},
			set:      &mpsync.OverrideRequest{Rule: rules.GetIntelligencePacks, Frequency: new(10 * time.Minute)},
			wantFreq: time.Hour, wantPack: "Contoso.Advisor.Hourly", conflict: true},
		{name: "same pack id: the higher version counts once",
			files:    map[string][]byte{"hourly.xml": []byte(strings.Replace(string(overrideFile(t, "gip-hourly.xml")), "<Value>3600</Value>", "<Value>1800</Value>", 1))},
			store:    [][]byte{[]byte(strings.Replace(strings.Replace(string(overrideFile(t, "gip-hourly.xml")), "1.0.0.3", "1.0.0.4", 1), "<Value>3600</Value>", "<Value>900</Value>", 1))},
			wantFreq: 15 * time.Minute, wantPack: "Contoso.Advisor.Hourly", wantFrom: map[string]string{"Contoso.Advisor.Hourly": "store"}},
		{name: "same pack id and version: the file",
			files:    map[string][]byte{"hourly.xml": []byte(strings.Replace(string(overrideFile(t, "gip-hourly.xml")), "<Value>3600</Value>", "<Value>1800</Value>", 1))},
			store:    [][]byte{overrideFile(t, "gip-hourly.xml")},
			wantFreq: 30 * time.Minute, wantPack: "Contoso.Advisor.Hourly", wantFrom: map[string]string{"Contoso.Advisor.Hourly": "file"}},
		{name: "import of a store pack reusing a file's override id is refused",
			files:     map[string][]byte{"copy.xml": []byte(strings.Replace(string(overrideFile(t, "gip-hourly.xml")), "<ID>Contoso.Advisor.Hourly</ID>", "<ID>Contoso.Advisor.Copy</ID>", 1))},
			store:     [][]byte{overrideFile(t, "gip-hourly.xml")},
			importErr: "id already used in pack Contoso.Advisor.Copy",
			wantFreq:  time.Hour, wantPack: "Contoso.Advisor.Copy"},
		{name: "a file reusing a store pack's override id keeps the last valid combination",
			store:    [][]byte{overrideFile(t, "gip-hourly.xml")},
			later:    map[string][]byte{"copy.xml": []byte(strings.NewReplacer("<ID>Contoso.Advisor.Hourly</ID>", "<ID>Contoso.Advisor.Copy</ID>", "<Value>3600</Value>", "<Value>60</Value>").Replace(string(overrideFile(t, "gip-hourly.xml"))))},
			wantFreq: time.Hour, wantPack: "Contoso.Advisor.Hourly", wantError: "id already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir = t.TempDir()
			for name, data := range tt.files {
				write(name, data)
			}
			src := rules.FromOverrides(overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}}), overrides.Target{})
			r := newRig(t, &mpsync.Options{Settings: src})
			r.sync(t)
			for _, data := range tt.store {
				if tt.importErr != "" {
					_, err := r.engine.Import(ctx, bytes.NewReader(data), mpsync.ImportOptions{})
					require.ErrorIs(t, err, mpsync.ErrImportRefused)
					assert.Contains(t, err.Error(), tt.importErr)
					continue
				}
				importOverride(t, r.engine, data)
			}
			ruleStatus(t, r.engine)
			for name, data := range tt.later {
				write(name, data)
			}
			if tt.set != nil {
				_, err := r.engine.SetOverride(ctx, *tt.set)
				require.NoError(t, err)
			}
			st, rs := ruleStatus(t, r.engine)
			gip := rs[rules.GetIntelligencePacks]
			assert.Equal(t, tt.wantFreq, gip.Frequency)
			assert.Equal(t, tt.wantPack, gip.FrequencySource.Pack.ID)
			assert.Equal(t, tt.conflict, len(gip.Conflicts) > 0, "conflicts: %v", gip.Conflicts)
			if tt.wantFrom != nil {
				from := map[string]string{}
				for _, p := range st.Overrides.Packs {
					from[p.ID] = p.From
				}
				assert.Equal(t, tt.wantFrom, from)
			}
			if tt.wantError == "" {
				assert.Empty(t, st.Overrides.Error)
			} else {
				assert.Contains(t, st.Overrides.Error, tt.wantError)
			}
		})
	}
}

// An invalid override pack is refused at import with the reason, and the
// store and the ledger stay as they were.
func TestImportRefusesInvalidOverridePacks(t *testing.T) {
	ctx := context.Background()
	hourly := string(overrideFile(t, "gip-hourly.xml"))
	tests := []struct {
		name  string
		data  []byte
		is    []error
		inErr []string
	}{
		{name: "invalid frequency", data: overrideFile(t, "invalid-frequency.xml"),
			is: []error{overrides.ErrInvalid}, inErr: []string{"Contoso.Advisor.BadValue.Frequency", `"1.5h"`, "whole number of seconds"}},
		{name: "wrong target", data: overrideFile(t, "wrong-target.xml"),
			is: []error{overrides.ErrInvalid}, inErr: []string{"Contoso.Advisor.WrongTarget.MPUpdate.Disabled", "does not apply", "Microsoft.Windows.Computer"}},
		{name: "malformed", data: overrideFile(t, "malformed.xml"),
			is: []error{pack.ErrMalformed}, inErr: []string{"Contoso.Advisor.Broken"}},
		{name: "property other than Enabled",
			data: []byte(strings.NewReplacer(`RuleConfigurationOverride`, `RulePropertyOverride`, `Parameter="Frequency" Module="Scheduler"`, `Property="Description"`).Replace(hourly)),
			is:   []error{overrides.ErrInvalid}, inErr: []string{`property "Description"`, "only overridable property is Enabled"}},
		{name: "override id already used by another store pack",
			data: []byte(strings.Replace(hourly, "<ID>Contoso.Advisor.Hourly</ID>", "<ID>Contoso.Advisor.Copy</ID>", 1)),
			is:   []error{overrides.ErrInvalid}, inErr: []string{"Contoso.Advisor.Hourly.GetIntelligencePacks.Frequency", "id already used in pack Contoso.Advisor.Hourly"}},
		{name: "unknown alias", data: []byte(strings.Replace(hourly, `Rule="Advisor!`, `Rule="Adviser!`, 1)),
			is: []error{overrides.ErrInvalid}, inErr: []string{`alias "Adviser"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.sync(t)
			importOverride(t, r.engine, []byte(hourly))
			before := r.versions(t)
			recs, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{})
			require.NoError(t, err)
			_, err = r.engine.Import(ctx, bytes.NewReader(tt.data), mpsync.ImportOptions{Source: "bad.xml"})
			require.ErrorIs(t, err, mpsync.ErrImportRefused)
			for _, want := range tt.is {
				assert.ErrorIs(t, err, want)
			}
			assert.Contains(t, err.Error(), "bad.xml")
			for _, s := range tt.inErr {
				assert.Contains(t, err.Error(), s)
			}
			assert.Equal(t, before, r.versions(t), "the store is as it was")
			after, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{})
			require.NoError(t, err)
			assert.Len(t, after, len(recs), "nothing recorded")
			_, rs := ruleStatus(t, r.engine)
			assert.True(t, rs[rules.MPUpdate].Enabled)
			assert.Equal(t, time.Hour, rs[rules.GetIntelligencePacks].Frequency)
		})
	}
}
