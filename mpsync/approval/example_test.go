package approval_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

// A change window: Saturdays 02:00 to 06:00, Berlin time.
func ExampleParseWindow() {
	w, err := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "Europe/Berlin")
	if err != nil {
		fmt.Println(err)
		return
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 6, 3, 15, 0, 0, 0, berlin) // a Wednesday
	fmt.Println(w.Open(now))
	fmt.Println(w.NextOpen(now).In(berlin).Format(time.RFC1123))
	// Output:
	// false
	// Sat, 06 Jun 2026 02:00:00 CEST
}

// The command's --approval flag.
func ExampleParseMode() {
	a, err := approval.ParseMode("window:0 2 * * SAT:4h:Europe/Berlin", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(approval.Name(a))
	_, err = approval.ParseMode("window:0 2 * * SAT:4h:Mars/Base", nil)
	fmt.Println(err != nil)
	// Output:
	// window(allow "0 2 * * SAT" for 4h0m0s (Europe/Berlin))
	// true
}

// A window combined with manual approval: the operator approves while the
// window is closed, and the change goes through when it opens.
func ExampleAll() {
	ctx := context.Background()
	win, _ := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "UTC")
	manual := approval.NewManual(newMemMeta()) // any mpsync.Store in production
	both, _ := approval.All(win, manual)

	c := mpsync.Change{ID: "chg-1", Rule: rules.GetIntelligencePacks, Action: plan.ActionUpgrade,
		Pack: "Microsoft.IntelligencePacks.Updates", To: pack.MustParseVersion("7.1.10226.1240")}
	wed := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)

	d, _ := both.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: wed})
	fmt.Println(d.Verdict, d.NotBefore.Format(time.RFC3339))

	pending, _ := manual.Pending(ctx)
	fmt.Println(len(pending), pending[0].Change.ID)
	_ = manual.Approve(ctx, "chg-1", "alice")

	d, _ = both.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: wed})
	fmt.Println(d.Verdict, "(window still closed)")
	sat := time.Date(2026, 6, 6, 3, 0, 0, 0, time.UTC)
	d, _ = both.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: sat})
	fmt.Println(d.Verdict)
	// Output:
	// defer 2026-06-06T02:00:00Z
	// 1 chg-1
	// defer (window still closed)
	// approve
}

// Promotion from QA: production takes a pack only after QA has run the
// same document for three days.
func ExampleNewPromotion() {
	ctx := context.Background()
	shared := ledger.NewMemory()
	v := pack.MustParseVersion("7.1.10226.1240")
	applied := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	_ = shared.Append(ctx, ledger.Record{Time: applied, Kind: ledger.KindResult, Group: "QA",
		Action: plan.ActionUpgrade, Pack: "Microsoft.IntelligencePacks.Updates", Version: v,
		SHA256: "ab12", Result: "applied"})

	promo, _ := approval.NewPromotion(shared, "QA", 72*time.Hour)
	c := mpsync.Change{ID: "chg-2", Action: plan.ActionUpgrade, Pack: "Microsoft.IntelligencePacks.Updates", To: v, SHA256: "ab12"}

	d, _ := promo.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: applied.Add(24 * time.Hour)})
	fmt.Println(d.Verdict, d.NotBefore.Format(time.RFC3339))
	d, _ = promo.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: applied.Add(80 * time.Hour)})
	fmt.Println(d.Verdict)

	_ = approval.MarkBad(ctx, shared, approval.BadMark{Group: "QA", Pack: c.Pack, Version: v, By: "bob",
		Reason: "floods the alert view", Time: applied.Add(81 * time.Hour)})
	d, _ = promo.Decide(ctx, approval.Request{Change: c, Group: "PROD", Now: applied.Add(82 * time.Hour)})
	fmt.Println(d.Verdict, "-", d.Reason)
	// Output:
	// defer 2026-06-04T02:00:00Z
	// approve
	// deny - pack Microsoft.IntelligencePacks.Updates 7.1.10226.1240 (sha256 ab12) is marked bad in QA by bob at 2026-06-04T11:00:00Z: floods the alert view
}

// A version policy: solution packs stay on 7.1.x.
func ExampleNewPolicy() {
	pol, _ := approval.NewPolicy(approval.PolicyRule{Pattern: "Microsoft.IntelligencePacks.*", Constraint: "~7.1"})
	c := mpsync.Change{ID: "chg-3", Action: plan.ActionUpgrade, Pack: "Microsoft.IntelligencePacks.Updates", To: pack.MustParseVersion("7.2.0.0")}
	d, _ := pol.Decide(context.Background(), approval.Request{Change: c})
	fmt.Println(d.Verdict, "-", d.Reason)
	// Output:
	// deny - pack Microsoft.IntelligencePacks.Updates version 7.2.0.0 violates policy rule 1 (Microsoft.IntelligencePacks.* must satisfy "~7.1")
}

// A policy file: solution packs stay on 7.1.x, and anything else waits for
// the Saturday night window.
func ExampleParsePolicy() {
	src := `
version: 1
policy:
  all:
    - versions:
        - pack: Microsoft.IntelligencePacks.*
          constraint: "~7.1"
    - window:
        zone: Europe/Berlin
        allow:
          - cron: "0 2 * * SAT"
            duration: 4h
`
	pf, err := approval.ParsePolicy(strings.NewReader(src), approval.PolicyOptions{Name: "prod.yaml"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(approval.Name(pf.Approver()))
	wed := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	for _, n := range pf.Windows() {
		fmt.Println(n.Field, "line", n.Line, "opens", n.Approver.(*approval.Window).NextOpen(wed).Format(time.RFC3339))
	}

	_, err = approval.ParsePolicy(strings.NewReader("policy:\n  window:\n    allow:\n      - {cron: '0 2 * * SAT', duration: 4 hours}\n"),
		approval.PolicyOptions{Name: "prod.yaml"})
	fmt.Println(err)
	// Output:
	// all(policy(Microsoft.IntelligencePacks.* ~7.1), window(allow "0 2 * * SAT" for 4h0m0s (Europe/Berlin)))
	// policy.all[1].window line 8 opens 2026-06-06T00:00:00Z
	// approval policy prod.yaml: line 4, column 41: field policy.window.allow[0].duration: duration "4 hours": want a Go duration such as 72h or whole days such as 3d
}
