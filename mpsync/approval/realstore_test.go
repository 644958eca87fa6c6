package approval_test

import (
	"context"
	"testing"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/store"
)

// The manual queue survives closing and reopening the directory store.
func TestManualOnDirStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var _ approval.Meta = store.NewMemory()
	var _ approval.Meta = mpsync.Store(nil)

	d, err := store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := change("chg-d", plan.ActionImport, "Microsoft.IntelligencePacks.Updates", "7.1.0.1", "aa")
	if got := decide(t, approval.NewManual(d), req(c, t0)); got.Verdict != plan.Defer {
		t.Fatalf("first Decide = %+v", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m := approval.NewManual(d)
	pend, err := m.Pending(ctx)
	if err != nil || len(pend) != 1 || pend[0].Change.ID != "chg-d" {
		t.Fatalf("Pending after reopening = %+v, %v", pend, err)
	}
	if err := m.Approve(ctx, "chg-d", "alice"); err != nil {
		t.Fatal(err)
	}
	if got := decide(t, m, req(c, t0)); got.Verdict != plan.Approve {
		t.Fatalf("Decide after Approve = %+v", got)
	}
}
