package approval_test

import (
	"errors"
	"strings"
	"testing"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"
)

func TestPolicy(t *testing.T) {
	pol, err := approval.NewPolicy(
		approval.PolicyRule{Pattern: "Microsoft.IntelligencePacks.Updates", Constraint: "!= 7.1.10226.1239"},
		approval.PolicyRule{Pattern: "Microsoft.IntelligencePacks.*", Constraint: "~7.1"},
		approval.PolicyRule{Pattern: "Microsoft.SystemCenter.Advisor*", Constraint: ">= 7.0.8433, < 8"},
	)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pack, to string
		action   plan.Action
		want     plan.Verdict
		reason   string
	}{
		{"Microsoft.IntelligencePacks.Updates", "7.1.10226.1240", plan.ActionUpgrade, plan.Approve, "rule 1"},
		{"Microsoft.IntelligencePacks.Updates", "7.1.10226.1239", plan.ActionUpgrade, plan.Deny, `rule 1 (Microsoft.IntelligencePacks.Updates must satisfy "!= 7.1.10226.1239")`},
		// First match wins: rule 1 matched, so rule 2's ~7.1 is not applied.
		{"Microsoft.IntelligencePacks.Updates", "8.0.0.0", plan.ActionUpgrade, plan.Approve, "rule 1"},
		{"Microsoft.IntelligencePacks.LogManagement", "7.1.99.3", plan.ActionImport, plan.Approve, "rule 2"},
		{"Microsoft.IntelligencePacks.LogManagement", "7.2.0.0", plan.ActionImport, plan.Deny, `rule 2 (Microsoft.IntelligencePacks.* must satisfy "~7.1")`},
		{"Microsoft.SystemCenter.Advisor", "7.0.8433.0", plan.ActionUpgrade, plan.Approve, "rule 3"},
		{"Microsoft.SystemCenter.Advisor.Internal", "8.0.0.0", plan.ActionUpgrade, plan.Deny, "rule 3"},
		{"Contoso.Custom", "99.0", plan.ActionImport, plan.Approve, "no policy rule"},
		{"Microsoft.IntelligencePacks.LogManagement", "", plan.ActionRemove, plan.Approve, "removals"},
	}
	for _, c := range cases {
		t.Run(c.pack+" "+c.to, func(t *testing.T) {
			d := decide(t, pol, req(change("chg", c.action, c.pack, c.to, "aa"), t0))
			if d.Verdict != c.want || !strings.Contains(d.Reason, c.reason) || d.By != "policy" {
				t.Errorf("Decide = %+v, want %s with reason containing %q", d, c.want, c.reason)
			}
		})
	}
	if got := len(pol.Rules()); got != 3 {
		t.Errorf("Rules() has %d rules", got)
	}
}

func TestPolicyErrors(t *testing.T) {
	cases := []struct {
		name  string
		rules []approval.PolicyRule
		want  string
	}{
		{"no rules", nil, "no rules"},
		{"empty pattern", []approval.PolicyRule{{Constraint: "~7"}}, "rule 1"},
		{"bad pattern", []approval.PolicyRule{{Pattern: "A", Constraint: "~7"}, {Pattern: "Microsoft.[", Constraint: "~7"}}, "rule 2"},
		{"bad constraint", []approval.PolicyRule{{Pattern: "A", Constraint: "~>< 7"}}, "rule 1 (A)"},
		{"empty constraint", []approval.PolicyRule{{Pattern: "A"}}, "rule 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := approval.NewPolicy(c.rules...)
			if !errors.Is(err, approval.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("NewPolicy = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}
