package mpsync

import (
	"context"
	"fmt"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/storage"
)

// Rollback restores the previous version of a pack that the store kept. It
// refuses when another imported pack references the pack at a version the
// previous one does not satisfy, naming that pack. It is an operator's
// action: it works whoever owns the pack and on a disconnected store. The
// next run would upgrade the pack again while the catalog serves the newer
// version, so pair a rollback with an approver that holds that version back
// (approval.Policy, approval.MarkBad with Promotion, or a Freeze). The
// restored bytes are checked against the hash the store recorded for them;
// when they differ the rollback is undone and the error is a
// [*TamperedError].
func (e *Engine) Rollback(ctx context.Context, packID string) (storage.Entry, error) {
	done, err := e.enter()
	if err != nil {
		return storage.Entry{}, err
	}
	defer done()
	e.runMu.Lock()
	defer e.runMu.Unlock()
	cur, err := e.store.Get(ctx, packID)
	if err != nil {
		return storage.Entry{}, fmt.Errorf("rollback %s: %w", packID, err)
	}
	if cur.Previous == nil {
		return storage.Entry{}, fmt.Errorf("rollback %s %s: %w", packID, cur.Version, ErrNoPrevious)
	}
	entries, err := e.store.List(ctx)
	if err != nil {
		return storage.Entry{}, fmt.Errorf("rollback %s: list store: %w", packID, err)
	}
	for _, en := range entries {
		if ref, ok := en.Manifest().Reference(packID); ok && en.ID != packID && cur.Previous.Version.Less(ref.Version) {
			return storage.Entry{}, fmt.Errorf("rollback %s to %s: %w: %s references it at %s or later",
				packID, cur.Previous.Version, ErrReferenced, en.ID, ref.Version)
		}
	}
	en, err := e.store.Rollback(ctx, packID)
	if err != nil {
		return storage.Entry{}, fmt.Errorf("rollback %s: %w", packID, err)
	}
	// Regression (issue 15, point 3): the previous version's bytes were
	// restored unchecked, so a copy changed in the store at the same size
	// became the current pack. The Store contract opens only the current
	// version, so the restored bytes are checked once restored, and a
	// rollback to bytes that do not match is undone (a second Rollback
	// swaps the versions back).
	if _, verr := checkStored(ctx, e.store, en, false); verr != nil {
		if _, uerr := e.store.Rollback(ctx, packID); uerr != nil {
			return en, fmt.Errorf("rollback %s to %s: %w; undoing the rollback failed too, the store now holds %s %s: %w",
				packID, en.Version, verr, packID, en.Version, uerr)
		}
		return storage.Entry{}, fmt.Errorf("rollback %s to %s refused, %s stays: %w", packID, en.Version, cur.Version, verr)
	}
	e.record(ctx, ledger.Record{Kind: ledger.KindResult, Action: plan.ActionRollback, Pack: packID, Version: en.Version, SHA256: en.SHA256,
		Result: string(ResultApplied), By: "operator", Reason: fmt.Sprintf("rolled back from %s", cur.Version)})
	return en, nil
}
