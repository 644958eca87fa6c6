package rules_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

func readTestdata(t *testing.T, names ...string) *overrides.Set {
	t.Helper()
	var packs []*overrides.Pack
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "overrides", n))
		require.NoError(t, err)
		p, err := overrides.ReadPack(bytes.NewReader(b))
		require.NoError(t, err, n)
		packs = append(packs, p)
	}
	s, err := overrides.NewSet(packs...)
	require.NoError(t, err)
	return s
}

func TestEffectiveDefaults(t *testing.T) {
	for _, set := range []*overrides.Set{nil, readTestdata(t)} {
		mp := rules.Effective(set, rules.MPUpdate)
		assert.True(t, mp.Enabled)
		assert.Equal(t, 12*time.Hour, mp.Frequency)
		assert.True(t, mp.EnabledSource.Default)
		assert.True(t, mp.FrequencySource.Default)
		gip := rules.Effective(set, rules.GetIntelligencePacks)
		assert.Equal(t, 5*time.Minute, gip.Frequency)
		assert.Equal(t, "GetIntelligencePacks: enabled (default); Frequency 300 s (default)", gip.String())
	}
}

func TestEffectiveFromTestdata(t *testing.T) {
	tests := []struct {
		name        string
		files       []string
		rule        rules.Rule
		enabled     bool
		freq        time.Duration
		enabledFrom string
		freqFrom    string
		conflicts   int
		notApplying []string
	}{
		{"MPUpdate disabled", []string{"mpupdate-disabled.xml"}, rules.MPUpdate, false, 12 * time.Hour, "Contoso.Advisor.Freeze.MPUpdate.Disabled", "", 0, nil},
		{"disable does not touch the other rule", []string{"mpupdate-disabled.xml"}, rules.GetIntelligencePacks, true, 5 * time.Minute, "", "", 0, nil},
		{"hourly solutions", []string{"gip-hourly.xml"}, rules.GetIntelligencePacks, true, time.Hour, "", "Contoso.Advisor.Hourly.GetIntelligencePacks.Frequency", 0, nil},
		{"enforced wins over hourly", []string{"gip-hourly.xml", "enforced.xml"}, rules.GetIntelligencePacks, true, 2 * time.Hour, "", "Contoso.Advisor.Policy.GetIntelligencePacks.Frequency", 0, nil},
		{"wrong target reported", []string{"wrong-target.xml"}, rules.MPUpdate, true, 12 * time.Hour, "", "", 0, []string{"Contoso.Advisor.WrongTarget.MPUpdate.Disabled"}},
		{"disabled plus frequency", []string{"mpupdate-disabled.xml", "gip-hourly.xml", "wrong-target.xml", "console-export.xml"}, rules.MPUpdate, false, 12 * time.Hour, "Contoso.Advisor.Freeze.MPUpdate.Disabled", "", 0, []string{"Contoso.Advisor.WrongTarget.MPUpdate.Disabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rules.Effective(readTestdata(t, tt.files...), tt.rule)
			assert.Equal(t, tt.enabled, s.Enabled)
			assert.Equal(t, tt.freq, s.Frequency)
			assert.Equal(t, tt.enabledFrom, s.EnabledSource.OverrideID)
			assert.Equal(t, tt.enabledFrom == "", s.EnabledSource.Default)
			assert.Equal(t, tt.freqFrom, s.FrequencySource.OverrideID)
			assert.Len(t, s.Conflicts, tt.conflicts)
			var na []string
			for _, n := range s.NotApplying {
				na = append(na, n.Override.ID)
				assert.Contains(t, n.Reason, "Microsoft.Windows.Computer")
			}
			assert.Equal(t, tt.notApplying, na)
		})
	}
}

func TestEffectiveStatusLine(t *testing.T) {
	s := rules.Effective(readTestdata(t, "enforced.xml", "mpupdate-disabled.xml"), rules.GetIntelligencePacks)
	assert.Equal(t, "GetIntelligencePacks: enabled (default); Frequency 7200 s (from override Contoso.Advisor.Policy.GetIntelligencePacks.Frequency in pack Contoso.Advisor.Policy 2.1.0.0 (class scope, enforced))", s.String())
	assert.Equal(t, overrides.ScopeClass, s.FrequencySource.Scope)
	assert.True(t, s.FrequencySource.Enforced)
}

func TestEffectiveConflictReported(t *testing.T) {
	a, err := overrides.NewPack("Contoso.A", "A", pack.MustParseVersion("1.0.0.0"), nil)
	require.NoError(t, err)
	_, _, err = a.SetFrequency(string(rules.MPUpdate), 3600, nil)
	require.NoError(t, err)
	b, err := overrides.NewPack("Contoso.B", "B", pack.MustParseVersion("1.0.0.0"), nil)
	require.NoError(t, err)
	_, _, err = b.SetFrequency(string(rules.MPUpdate), 7200, nil)
	require.NoError(t, err)
	pa, err := a.Pack()
	require.NoError(t, err)
	pb, err := b.Pack()
	require.NoError(t, err)
	set, err := overrides.NewSet(pb, pa)
	require.NoError(t, err)
	s := rules.Effective(set, rules.MPUpdate)
	assert.Equal(t, time.Hour, s.Frequency, "Contoso.A sorts first")
	require.Len(t, s.Conflicts, 1)
	assert.Equal(t, "Contoso.B.MPUpdate.Frequency", s.Conflicts[0].Others[0].ID)
	assert.Contains(t, s.String(), "1 conflict(s)")
}

// TestChangeFreeze is the pipeline scenario: disable both rules for a
// change freeze, then re-enable them, through the overrides API alone,
// writing and re-reading the pack file each time.
func TestChangeFreeze(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Contoso.ChangeControl.xml")
	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}})
	ctx := t.Context()

	save := func(d *overrides.Document) {
		var buf bytes.Buffer
		_, err := d.WriteTo(&buf)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
	}
	open := func() *overrides.Document {
		f, err := os.Open(file)
		require.NoError(t, err)
		defer f.Close()
		d, err := overrides.OpenDocument(f, nil)
		require.NoError(t, err)
		return d
	}
	effective := func() (rules.Settings, rules.Settings) {
		set, err := src.Load(ctx)
		require.NoError(t, err)
		return rules.Effective(set, rules.MPUpdate), rules.Effective(set, rules.GetIntelligencePacks)
	}

	// Freeze.
	d, err := overrides.NewPack("Contoso.ChangeControl", "Contoso Change Control", pack.MustParseVersion("1.0.0.0"), nil)
	require.NoError(t, err)
	for _, r := range rules.All() {
		_, err := d.SetEnabled(string(r), false, &overrides.SetOptions{Comment: "change freeze CHG-2211"})
		require.NoError(t, err)
	}
	save(d)
	mp, gip := effective()
	assert.False(t, mp.Enabled)
	assert.False(t, gip.Enabled)
	sched, err := mp.Schedule(rules.ScheduleOptions{})
	require.NoError(t, err)
	assert.True(t, sched.Next(time.Now()).IsZero(), "a disabled rule never runs")

	// Thaw.
	d = open()
	for _, r := range rules.All() {
		_, err := d.SetEnabled(string(r), true, nil)
		require.NoError(t, err)
	}
	save(d)
	mp, gip = effective()
	assert.True(t, mp.Enabled)
	assert.True(t, gip.Enabled)
	assert.False(t, mp.EnabledSource.Default, "re-enabled by the override, which stays in place")
	assert.Equal(t, "1.0.0.1", mp.EnabledSource.Pack.Version.String(), "the edited pack has a new version")

	// Remove the overrides altogether: defaults again.
	d = open()
	for _, o := range []string{"Contoso.ChangeControl.MPUpdate.Enabled", "Contoso.ChangeControl.GetIntelligencePacksRule.Enabled"} {
		require.True(t, d.Remove(o))
	}
	save(d)
	mp, gip = effective()
	assert.True(t, mp.EnabledSource.Default)
	assert.True(t, gip.EnabledSource.Default)
	p, err := d.Pack()
	require.NoError(t, err)
	assert.Equal(t, "1.0.0.2", p.Ref().Version.String())
}

func TestRuleConstantsShared(t *testing.T) {
	assert.Equal(t, "Microsoft.SystemCenter.ManagementGroup", rules.MPUpdate.Target())
	assert.Equal(t, overrides.ManagementGroupClass, rules.MPUpdate.Target(), "one constant names the class")
	assert.Equal(t, overrides.ManagementGroupClass, rules.GetIntelligencePacks.Target())
	r, err := rules.Parse("getintelligencepacks")
	require.NoError(t, err)
	assert.Equal(t, rules.GetIntelligencePacks, r)
	_, err = rules.Parse("nope")
	require.Error(t, err)
}
