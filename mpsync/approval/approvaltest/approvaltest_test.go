package approvaltest_test

import (
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/approval/approvaltest"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/store"
)

func TestBuiltInApprovers(t *testing.T) {
	must := func(a approval.Approver, err error) func(*testing.T) approval.Approver {
		if err != nil {
			t.Fatal(err)
		}
		return func(*testing.T) approval.Approver { return a }
	}
	win, err := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := approval.NewPolicy(approval.PolicyRule{Pattern: "Microsoft.IntelligencePacks.*", Constraint: "~7.1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, newApprover := range map[string]func(*testing.T) approval.Approver{
		"auto":   func(*testing.T) approval.Approver { return approval.Auto() },
		"freeze": func(*testing.T) approval.Approver { return approval.Freeze("change freeze") },
		"window": func(*testing.T) approval.Approver { return win },
		"manual": func(*testing.T) approval.Approver { return approval.NewManual(store.NewMemory()) },
		"promotion": func(*testing.T) approval.Approver {
			p, err := approval.NewPromotion(ledger.NewMemory(), "QA", 72*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		"policy": func(*testing.T) approval.Approver { return pol },
		"all":    must(approval.All(win, approval.NewManual(store.NewMemory()))),
		"any":    must(approval.Any(approval.Freeze("frozen"), approval.Auto())),
	} {
		t.Run(name, func(t *testing.T) { approvaltest.Run(t, newApprover) })
	}
}

func TestCheck(t *testing.T) {
	req := approvaltest.Request(approvaltest.Changes()[0])
	for _, tt := range []struct {
		name string
		d    approval.Decision
		ok   bool
	}{
		{"approve", approval.Decision{Verdict: plan.Approve}, true},
		{"deny with a reason", approval.Decision{Verdict: plan.Deny, Reason: "frozen"}, true},
		{"deny without a reason", approval.Decision{Verdict: plan.Deny}, false},
		{"defer", approval.Decision{Verdict: plan.Defer}, true},
		{"defer until later", approval.Decision{Verdict: plan.Defer, NotBefore: req.Now.Add(time.Hour)}, true},
		{"defer until the past", approval.Decision{Verdict: plan.Defer, NotBefore: req.Now.Add(-time.Hour)}, false},
		{"defer until now", approval.Decision{Verdict: plan.Defer, NotBefore: req.Now}, false},
		{"unknown verdict", approval.Decision{Verdict: "maybe"}, false},
		{"empty verdict", approval.Decision{}, false},
	} {
		if err := approvaltest.Check(tt.d, req); (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v, want ok=%t", tt.name, err, tt.ok)
		}
	}
}
