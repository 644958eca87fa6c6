package approval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
)

func decide(t *testing.T, a approval.Approver, r approval.Request) approval.Decision {
	t.Helper()
	d, err := a.Decide(context.Background(), r)
	if err != nil {
		t.Fatalf("Decide(%s): %v", r.Change.ID, err)
	}
	return d
}

func TestManualLifecycle(t *testing.T) {
	ctx := context.Background()
	meta := newMemMeta()
	decidedAt := t0.Add(time.Hour)
	m := approval.NewManual(meta, approval.ManualClock(fixedClock{decidedAt}))
	a := change("chg-a", plan.ActionUpgrade, "Microsoft.IntelligencePacks.Updates", "7.1.0.2", "aa")
	b := change("chg-b", plan.ActionImport, "Microsoft.IntelligencePacks.LogManagement", "7.0.0.1", "bb")

	// Unknown changes are queued and deferred.
	for _, c := range []mpsync.Change{a, b} {
		if d := decide(t, m, req(c, t0)); d.Verdict != plan.Defer || !strings.Contains(d.Reason, c.ID) {
			t.Fatalf("first Decide(%s) = %+v, want Defer naming the id", c.ID, d)
		}
	}
	writes := meta.writeCount()
	if d := decide(t, m, req(a, t0.Add(5*time.Minute))); d.Verdict != plan.Defer {
		t.Fatalf("second Decide = %+v, want Defer", d)
	}
	if meta.writeCount() != writes {
		t.Error("asking again about a pending change rewrote the queue")
	}
	pend, err := m.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 2 || pend[0].Change != a || pend[0].Group != "PROD" || !pend[0].RequestedAt.Equal(t0) {
		t.Fatalf("Pending = %+v", pend)
	}

	// Approve one, deny the other.
	if err := m.Approve(ctx, "chg-a", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := m.Deny(ctx, "chg-b", "bob", "breaks the dashboards"); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, m, req(a, t0)); d.Verdict != plan.Approve || d.By != "alice" || !strings.Contains(d.Reason, decidedAt.Format(time.RFC3339)) {
		t.Errorf("Decide after Approve = %+v", d)
	}
	if d := decide(t, m, req(b, t0)); d.Verdict != plan.Deny || d.By != "bob" || !strings.Contains(d.Reason, "breaks the dashboards") {
		t.Errorf("Decide after Deny = %+v", d)
	}
	if pend, _ := m.Pending(ctx); len(pend) != 0 {
		t.Errorf("Pending after deciding all = %+v", pend)
	}

	// Revoke puts it back in the queue.
	if err := m.Revoke(ctx, "chg-a", "carol"); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, m, req(a, t0)); d.Verdict != plan.Defer {
		t.Errorf("Decide after Revoke = %+v, want Defer", d)
	}
	if err := m.Revoke(ctx, "chg-a", "carol"); err != nil {
		t.Errorf("Revoke of a pending change = %v, want nil", err)
	}

	// A new process reading the same store sees the same queue.
	m2 := approval.NewManual(meta)
	ids, err := m2.ApproveAll(ctx, "dave")
	if err != nil || len(ids) != 1 || ids[0] != "chg-a" {
		t.Fatalf("ApproveAll = %v, %v; want [chg-a]", ids, err)
	}
	if d := decide(t, m, req(a, t0)); d.Verdict != plan.Approve || d.By != "dave" {
		t.Errorf("Decide after ApproveAll in another Manual = %+v", d)
	}
}

func TestManualSupersedes(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta())
	old := change("chg-old", plan.ActionUpgrade, "P", "1.0.0.2", "aa")
	other := change("chg-other", plan.ActionUpgrade, "Q", "1.0.0.2", "cc")
	decide(t, m, req(old, t0))
	decide(t, m, req(other, t0))
	if err := m.Approve(ctx, "chg-old", "alice"); err != nil {
		t.Fatal(err)
	}
	// The catalog publishes another hash: a new change id for the same pack.
	repl := change("chg-new", plan.ActionUpgrade, "P", "1.0.0.2", "bb")
	if d := decide(t, m, req(repl, t0.Add(time.Minute))); d.Verdict != plan.Defer {
		t.Fatalf("Decide(new id) = %+v, want Defer: the old approval must not carry over", d)
	}
	err := m.Approve(ctx, "chg-old", "alice")
	if !errors.Is(err, approval.ErrSuperseded) || !strings.Contains(err.Error(), "chg-new") {
		t.Errorf("Approve(superseded) = %v, want ErrSuperseded naming chg-new", err)
	}
	pend, _ := m.Pending(ctx)
	var ids []string
	for _, p := range pend {
		ids = append(ids, p.Change.ID)
	}
	if strings.Join(ids, ",") != "chg-other,chg-new" {
		t.Errorf("Pending = %v, want [chg-other chg-new]", ids)
	}
	// The catalog flips back: the old id is queued afresh, not approved.
	if d := decide(t, m, req(old, t0.Add(2*time.Minute))); d.Verdict != plan.Defer {
		t.Errorf("Decide(old id again) = %+v, want Defer", d)
	}
	// A third change drops the entries already superseded.
	decide(t, m, req(change("chg-third", plan.ActionRemove, "P", "", ""), t0.Add(3*time.Minute)))
	if err := m.Approve(ctx, "chg-new", "x"); !errors.Is(err, approval.ErrUnknownChange) {
		t.Errorf("Approve of a twice-superseded id = %v, want ErrUnknownChange (dropped)", err)
	}
}

func TestManualErrors(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta())
	if err := m.Approve(ctx, "chg-nope", "alice"); !errors.Is(err, approval.ErrUnknownChange) || !strings.Contains(err.Error(), "chg-nope") {
		t.Errorf("Approve(unknown) = %v", err)
	}
	if err := m.Deny(ctx, "chg-nope", "alice", "x"); !errors.Is(err, approval.ErrUnknownChange) {
		t.Errorf("Deny(unknown) = %v", err)
	}
	if err := m.Approve(ctx, "chg-x", ""); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("Approve with empty by = %v", err)
	}
	if _, err := m.ApproveAll(ctx, ""); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("ApproveAll with empty by = %v", err)
	}
	if _, err := m.Decide(ctx, req(mpsync.Change{Pack: "P"}, t0)); err == nil {
		t.Error("Decide of a change without id succeeded")
	}
	nilMeta := approval.NewManual(nil)
	if _, err := nilMeta.Decide(ctx, req(change("c", plan.ActionImport, "P", "1.0", ""), t0)); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("Decide with nil meta = %v", err)
	}
	if _, err := nilMeta.Pending(ctx); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("Pending with nil meta = %v", err)
	}

	broken := newMemMeta()
	broken.records[approval.ManualRecord] = []byte("{not json")
	if _, err := approval.NewManual(broken).Pending(ctx); err == nil || !strings.Contains(err.Error(), approval.ManualRecord) {
		t.Errorf("Pending on a corrupt record = %v, want an error naming %s", err, approval.ManualRecord)
	}
	future := newMemMeta()
	future.records[approval.ManualRecord] = []byte(`{"format": 99, "changes": []}`)
	if _, err := approval.NewManual(future).Pending(ctx); err == nil || !strings.Contains(err.Error(), "format 99") {
		t.Errorf("Pending on a newer format = %v", err)
	}
	boom := errors.New("disk gone")
	failing := newMemMeta()
	failing.readErr = boom
	if _, err := approval.NewManual(failing).Decide(ctx, req(change("c", plan.ActionImport, "P", "1.0", ""), t0)); !errors.Is(err, boom) {
		t.Errorf("Decide with a failing store = %v, want it wrapped", err)
	}
}

func TestManualPreapprove(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta())
	c := change("chg-p", plan.ActionImport, "P", "1.0.0.0", "aa")
	if err := m.Preapprove(ctx, c, "PROD", "alice"); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, m, req(c, t0)); d.Verdict != plan.Approve || d.By != "alice" {
		t.Errorf("Decide after Preapprove = %+v", d)
	}
	if err := m.Preapprove(ctx, mpsync.Change{Pack: "P"}, "PROD", "alice"); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("Preapprove without id = %v", err)
	}
}

func TestManualConcurrent(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := change(fmt.Sprintf("chg-%02d", i), plan.ActionImport, fmt.Sprintf("P%02d", i), "1.0", "")
			if _, err := m.Decide(ctx, req(c, t0)); err != nil {
				t.Error(err)
			}
			if i%2 == 0 {
				if err := m.Approve(ctx, c.ID, "alice"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	pend, err := m.Pending(ctx)
	if err != nil || len(pend) != 10 {
		t.Fatalf("Pending after concurrent use = %d entries, %v; want 10", len(pend), err)
	}
}

func TestManualState(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta())
	a := change("chg-a", plan.ActionUpgrade, "Microsoft.IntelligencePacks.Updates", "7.1.0.2", "aa")
	b := change("chg-b", plan.ActionImport, "Microsoft.IntelligencePacks.LogManagement", "7.0.0.1", "bb")
	newer := change("chg-a2", plan.ActionUpgrade, "Microsoft.IntelligencePacks.Updates", "7.1.0.3", "ab")
	state := func(id string) approval.QueueState {
		t.Helper()
		s, err := m.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state("chg-a"); s != approval.QueueUnknown {
		t.Fatalf("before asking: %s", s)
	}
	decide(t, m, req(a, t0))
	decide(t, m, req(b, t0))
	if s := state("chg-a"); s != approval.QueuePending {
		t.Fatalf("after asking: %s", s)
	}
	if err := m.Approve(ctx, "chg-a", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := m.Deny(ctx, "chg-b", "bob", "no"); err != nil {
		t.Fatal(err)
	}
	if s := state("chg-a"); s != approval.QueueApproved {
		t.Fatalf("after approve: %s", s)
	}
	if s := state("chg-b"); s != approval.QueueDenied {
		t.Fatalf("after deny: %s", s)
	}
	decide(t, m, req(newer, t0.Add(time.Hour)))
	if s := state("chg-a"); s != approval.QueueSuperseded {
		t.Fatalf("after a newer change: %s", s)
	}
	if _, err := approval.NewManual(nil).State(ctx, "x"); !errors.Is(err, approval.ErrInvalid) {
		t.Fatalf("nil meta: %v", err)
	}
}

// Regression: the manual queue was shared across groups, so QA's approval
// also approved the change in PROD.
func TestRegressionManualCrossGroup(t *testing.T) {
	ctx := context.Background()
	m := approval.NewManual(newMemMeta(), approval.ManualClock(fixedClock{t0}))
	c := change("chg-1", plan.ActionImport, "Microsoft.IntelligencePacks.X", "7.1.0.1", "aa")
	qa := approval.Request{Change: c, Group: "QA", Now: t0}
	prod := approval.Request{Change: c, Group: "PROD", Now: t0}
	d, err := m.Decide(ctx, qa)
	require.NoError(t, err)
	require.Equal(t, plan.Defer, d.Verdict)
	require.NoError(t, m.Approve(ctx, "chg-1", "alice"))
	d, err = m.Decide(ctx, prod)
	require.NoError(t, err)
	require.Equal(t, plan.Defer, d.Verdict, "PROD got %s (%s) from QA's approval", d.Verdict, d.Reason)
}
