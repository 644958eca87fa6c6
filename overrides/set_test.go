package overrides_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/overrides"
)

const (
	mgInstance    = "1f0e7a1c-5a8e-4b21-9c51-0d1e2f3a4b5c"
	otherInstance = "99999999-5a8e-4b21-9c51-0d1e2f3a4b5c"
)

func TestResolvePrecedence(t *testing.T) {
	freq := func(id, value string) ov { return ov{id: id, rule: ruleGIP, setting: "Frequency", value: value} }
	en := func(id, value string) ov { return ov{id: id, rule: ruleGIP, setting: "Enabled", value: value} }
	enforced := func(o ov) ov { o.enforced = true; return o }
	inst := func(o ov, g string) ov { o.instance = g; return o }
	ctx := func(o ov, c string) ov { o.context = c; return o }

	type packDef struct {
		id  string
		ovs []ov
	}
	tests := []struct {
		name        string
		packs       []packDef
		setting     overrides.Setting
		target      overrides.Target
		winner      string // "" for none
		scope       overrides.Scope
		conflict    []string // losing ids, nil for no conflict
		notApplying []string
	}{
		{name: "no overrides", setting: overrides.Frequency},
		{name: "one class override", packs: []packDef{{"P.A", []ov{freq("A.1", "3600")}}}, setting: overrides.Frequency, winner: "A.1", scope: overrides.ScopeClass},
		{name: "enforced beats not enforced", packs: []packDef{{"P.A", []ov{freq("A.1", "3600")}}, {"P.B", []ov{enforced(freq("B.1", "7200"))}}}, setting: overrides.Frequency, winner: "B.1", scope: overrides.ScopeClass},
		{name: "instance beats class", packs: []packDef{{"P.A", []ov{freq("A.1", "3600"), inst(freq("A.2", "600"), mgInstance)}}}, setting: overrides.Frequency, winner: "A.2", scope: overrides.ScopeInstance},
		{name: "enforced class beats instance", packs: []packDef{{"P.A", []ov{enforced(freq("A.1", "3600")), inst(freq("A.2", "600"), mgInstance)}}}, setting: overrides.Frequency, winner: "A.1", scope: overrides.ScopeClass},
		{name: "enforced instance beats enforced class", packs: []packDef{{"P.A", []ov{enforced(freq("A.1", "3600")), enforced(inst(freq("A.2", "600"), mgInstance))}}}, setting: overrides.Frequency, winner: "A.2", scope: overrides.ScopeInstance},
		{name: "group beats class, instance beats group", packs: []packDef{{"P.A", []ov{freq("A.1", "3600"), ctx(freq("A.2", "900"), "Contoso.Groups.ManagementGroups"), inst(freq("A.3", "600"), mgInstance)}}}, setting: overrides.Frequency,
			target: overrides.Target{Groups: []string{"Contoso.Groups.ManagementGroups"}}, winner: "A.3", scope: overrides.ScopeInstance},
		{name: "group beats class", packs: []packDef{{"P.A", []ov{freq("A.1", "3600"), ctx(freq("A.2", "900"), "Contoso.Groups.ManagementGroups")}}}, setting: overrides.Frequency,
			target: overrides.Target{Groups: []string{"Contoso.Groups.ManagementGroups"}}, winner: "A.2", scope: overrides.ScopeGroup},
		{name: "undeclared group does not apply", packs: []packDef{{"P.A", []ov{freq("A.1", "3600"), ctx(freq("A.2", "900"), "Contoso.Groups.ManagementGroups")}}}, setting: overrides.Frequency,
			winner: "A.1", scope: overrides.ScopeClass, notApplying: []string{"A.2"}},
		{name: "tie across packs: lower pack id wins, conflict reported", packs: []packDef{{"P.B", []ov{freq("B.1", "7200")}}, {"P.A", []ov{freq("A.9", "3600")}}}, setting: overrides.Frequency,
			winner: "A.9", scope: overrides.ScopeClass, conflict: []string{"B.1"}},
		{name: "tie in one pack: lower override id wins", packs: []packDef{{"P.A", []ov{freq("A.2", "7200"), freq("A.1", "3600")}}}, setting: overrides.Frequency,
			winner: "A.1", scope: overrides.ScopeClass, conflict: []string{"A.2"}},
		{name: "tie is ordinal, not case-folded", packs: []packDef{{"p.a", []ov{freq("x.1", "7200")}}, {"P.Z", []ov{freq("X.2", "3600")}}}, setting: overrides.Frequency,
			winner: "X.2", scope: overrides.ScopeClass, conflict: []string{"x.1"}},
		{name: "tie with equal values is no conflict", packs: []packDef{{"P.A", []ov{freq("A.1", "3600")}}, {"P.B", []ov{freq("B.1", "3600")}}}, setting: overrides.Frequency,
			winner: "A.1", scope: overrides.ScopeClass},
		{name: "enabled values compared case-insensitively", packs: []packDef{{"P.A", []ov{en("A.1", "False")}}, {"P.B", []ov{en("B.1", "false")}}}, setting: overrides.Enabled,
			winner: "A.1", scope: overrides.ScopeClass},
		{name: "enforced tie is a conflict", packs: []packDef{{"P.A", []ov{enforced(en("A.1", "false"))}}, {"P.B", []ov{enforced(en("B.1", "true"))}}}, setting: overrides.Enabled,
			winner: "A.1", scope: overrides.ScopeClass, conflict: []string{"B.1"}},
		{name: "lower precedence with other value is no conflict", packs: []packDef{{"P.A", []ov{en("A.1", "false")}}, {"P.B", []ov{enforced(en("B.1", "true"))}}}, setting: overrides.Enabled,
			winner: "B.1", scope: overrides.ScopeClass},
		{name: "other rule ignored", packs: []packDef{{"P.A", []ov{{id: "A.1", rule: ruleMPUpdate, setting: "Frequency", value: "60"}}}}, setting: overrides.Frequency},
		{name: "other setting ignored", packs: []packDef{{"P.A", []ov{en("A.1", "false")}}}, setting: overrides.Frequency},
		{name: "wrong class reported", packs: []packDef{{"P.A", []ov{ctx(en("A.1", "false"), "Windows!Microsoft.Windows.Computer")}}}, setting: overrides.Enabled, notApplying: []string{"A.1"}},
		{name: "management group class through another pack's alias reported", packs: []packDef{{"P.A", []ov{ctx(en("A.1", "false"), "Windows!Microsoft.SystemCenter.ManagementGroup")}}}, setting: overrides.Enabled, notApplying: []string{"A.1"}},
		{name: "bare class id is class scope", packs: []packDef{{"P.A", []ov{ctx(en("A.1", "false"), "Microsoft.SystemCenter.ManagementGroup")}}}, setting: overrides.Enabled, winner: "A.1", scope: overrides.ScopeClass},
		{name: "instance of another group reported when instance known", packs: []packDef{{"P.A", []ov{inst(en("A.1", "false"), otherInstance), en("A.2", "true")}}}, setting: overrides.Enabled,
			target: overrides.Target{Instance: mgInstance}, winner: "A.2", scope: overrides.ScopeClass, notApplying: []string{"A.1"}},
		{name: "instance compared case-insensitively", packs: []packDef{{"P.A", []ov{inst(en("A.1", "false"), "1F0E7A1C-5A8E-4B21-9C51-0D1E2F3A4B5C")}}}, setting: overrides.Enabled,
			target: overrides.Target{Instance: mgInstance}, winner: "A.1", scope: overrides.ScopeInstance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var packs []*overrides.Pack
			for _, p := range tt.packs {
				packs = append(packs, mustPack(t, packXML(p.id, "1.0.0.0", p.ovs...)))
			}
			set := mustSet(t, packs...)
			rule := ruleGIP
			res := set.Resolve(rule, tt.setting, tt.target)
			if tt.winner == "" {
				assert.Nil(t, res.Winner)
			} else {
				require.NotNil(t, res.Winner)
				assert.Equal(t, tt.winner, res.Winner.ID)
			}
			assert.Equal(t, tt.scope, res.Scope)
			if tt.conflict == nil {
				assert.Nil(t, res.Conflict)
			} else {
				require.NotNil(t, res.Conflict)
				assert.Equal(t, tt.winner, res.Conflict.Winner.ID)
				var ids []string
				for _, o := range res.Conflict.Others {
					ids = append(ids, o.ID)
				}
				assert.Equal(t, tt.conflict, ids)
				assert.Contains(t, res.Conflict.String(), tt.winner+" ")
			}
			var na []string
			for _, n := range res.NotApplying {
				na = append(na, n.Override.ID)
				assert.NotEmpty(t, n.Reason)
			}
			assert.Equal(t, tt.notApplying, na)
		})
	}
}

// TestResolveOrderIndependent checks that the order packs are given in does
// not change the outcome.
func TestResolveOrderIndependent(t *testing.T) {
	a := mustPack(t, packXML("P.A", "1.0.0.0", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: "3600"}))
	b := mustPack(t, packXML("P.B", "9.0.0.0", ov{id: "B.1", rule: ruleGIP, setting: "Frequency", value: "60"}))
	r1 := mustSet(t, a, b).Resolve(ruleGIP, overrides.Frequency, overrides.Target{})
	r2 := mustSet(t, b, a).Resolve(ruleGIP, overrides.Frequency, overrides.Target{})
	assert.Equal(t, r1, r2)
	assert.Equal(t, "A.1", r1.Winner.ID)
}

func TestNewSetDuplicates(t *testing.T) {
	a := mustPack(t, packXML("P.A", "1.0.0.0", ov{id: "X.1", rule: ruleGIP, setting: "Frequency", value: "3600"}))
	a2 := mustPack(t, packXML("P.A", "1.0.0.1"))
	b := mustPack(t, packXML("P.B", "1.0.0.0", ov{id: "X.1", rule: ruleGIP, setting: "Frequency", value: "60"}))
	_, err := overrides.NewSet(a, a2)
	require.ErrorIs(t, err, overrides.ErrInvalid)
	assert.Contains(t, err.Error(), "P.A")
	_, err = overrides.NewSet(a, b)
	var e *overrides.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "X.1", e.Override)
	assert.Contains(t, err.Error(), "P.A")
	s, err := overrides.NewSet(nil, a)
	require.NoError(t, err)
	assert.Len(t, s.Packs(), 1)
}

func TestNilSet(t *testing.T) {
	var s *overrides.Set
	assert.Nil(t, s.Resolve(ruleGIP, overrides.Enabled, overrides.Target{}).Winner)
	assert.Empty(t, s.Packs())
	assert.Empty(t, s.Warnings())
}
