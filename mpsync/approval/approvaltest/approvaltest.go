// Package approvaltest checks an [approval.Approver] against the contract the
// engine relies on, in one call from a test, as testing/slogtest does for
// log handlers:
//
//	func TestMyApprover(t *testing.T) {
//		approvaltest.Run(t, func(t *testing.T) approval.Approver { return newMyApprover(t) })
//	}
//
// The contract: Decide answers every kind of change the engine asks about
// (import, upgrade, remove) with a known verdict; a denial says why; a
// deferral's NotBefore, when set, lies after the request's Now; answers for
// the same change at the same Now do not flip-flop between approve and deny;
// Decide is safe for concurrent use; and it returns, with an error or an
// answer, when its context is cancelled.
package approvaltest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

// requestTime is the clock reading the requests of [Run] carry.
func requestTime() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }

// Changes returns one change of each action the engine asks an approver
// about, with ids as the engine derives them (distinct per change).
func Changes() []mpsync.Change {
	v := pack.MustParseVersion
	return []mpsync.Change{
		{ID: "chg-approvaltest-import", Rule: rules.GetIntelligencePacks, Action: plan.ActionImport,
			Pack: "Microsoft.IntelligencePacks.AlertManagement", To: v("7.2.11719.0"), Solution: "AlertManagement",
			SHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", Size: 10422,
			Reason: "solution AlertManagement is enabled"},
		{ID: "chg-approvaltest-upgrade", Rule: rules.MPUpdate, Action: plan.ActionUpgrade,
			Pack: "Microsoft.SystemCenter.Advisor", From: v("7.1.10226.1000"), To: v("7.1.10226.1239"),
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 48213,
			Reason: "catalog has 7.1.10226.1239, store has 7.1.10226.1000"},
		{ID: "chg-approvaltest-remove", Rule: rules.GetIntelligencePacks, Action: plan.ActionRemove,
			Pack: "Microsoft.IntelligencePacks.Updates", From: v("7.2.100.0"), Solution: "Updates",
			SHA256: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9", Reason: "solution Updates is disabled"},
	}
}

// Request returns the approval request [Run] sends for c.
func Request(c mpsync.Change) approval.Request {
	return approval.Request{Change: c, Group: "approvaltest", WorkspaceID: "ws-approvaltest", Now: requestTime()}
}

// Run checks the approvers newApprover returns against the contract in the
// package doc. newApprover is called once per subtest, so each starts fresh.
func Run(t *testing.T, newApprover func(t *testing.T) approval.Approver) {
	t.Helper()
	t.Run("verdicts", func(t *testing.T) {
		a := newApprover(t)
		for _, c := range Changes() {
			d, err := a.Decide(context.Background(), Request(c))
			if err != nil {
				t.Fatalf("Decide(%s %s): %v", c.Action, c.Pack, err)
			}
			if err := Check(d, Request(c)); err != nil {
				t.Errorf("Decide(%s %s) = %+v: %v", c.Action, c.Pack, d, err)
			}
		}
	})
	t.Run("stable", func(t *testing.T) {
		a := newApprover(t)
		for _, c := range Changes() {
			first, err := a.Decide(context.Background(), Request(c))
			if err != nil {
				t.Fatal(err)
			}
			again, err := a.Decide(context.Background(), Request(c))
			if err != nil {
				t.Fatal(err)
			}
			if flipped(first.Verdict, again.Verdict) {
				t.Errorf("Decide(%s %s) answered %s, then %s for the same change at the same time", c.Action, c.Pack, first.Verdict, again.Verdict)
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		a := newApprover(t)
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for i := range 30 {
			c := Changes()[i%3]
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := a.Decide(context.Background(), Request(c))
				if err == nil {
					err = Check(d, Request(c))
				}
				if err != nil {
					errs <- fmt.Errorf("%s %s: %w", c.Action, c.Pack, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		a := newApprover(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			d, err := a.Decide(ctx, Request(Changes()[0]))
			if err == nil {
				if cerr := Check(d, Request(Changes()[0])); cerr != nil {
					t.Errorf("Decide with a cancelled context = %+v: %v", d, cerr)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Decide did not return within 10 s of a cancelled context")
		}
	})
}

// Check reports what is wrong with an approver's decision d on req, by the
// contract in the package doc; nil when nothing is.
func Check(d approval.Decision, req approval.Request) error {
	now := req.Now
	switch d.Verdict {
	case plan.Approve:
	case plan.Deny:
		if d.Reason == "" {
			return fmt.Errorf("a denial must say why (Reason is empty)")
		}
	case plan.Defer:
		if !d.NotBefore.IsZero() && !d.NotBefore.After(now) {
			return fmt.Errorf("NotBefore %s is not after the request's Now %s", d.NotBefore, now)
		}
	default:
		return fmt.Errorf("unknown verdict %q (want approve, deny or defer)", d.Verdict)
	}
	return nil
}

// flipped reports an approval turning into a denial or back with nothing
// changed in between; a deferral may become either (a manual queue).
func flipped(a, b plan.Verdict) bool {
	return a == plan.Approve && b == plan.Deny || a == plan.Deny && b == plan.Approve
}
