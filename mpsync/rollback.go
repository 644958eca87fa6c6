package mpsync

import (
	"context"
	"fmt"

	"mpsync.dev/mpsync/storage"
)

// Rollback restores the previous version of a pack that the store kept. It
// refuses when another imported pack references the pack at a version the
// previous one does not satisfy, naming that pack. It is an operator's
// action: it works whoever owns the pack and on a disconnected store. The
// next run would upgrade the pack again while the catalog serves the newer
// version, so pair a rollback with an approver that holds that version back
// (approval.Policy, approval.MarkBad with Promotion, or a Freeze).
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
	e.record(ctx, Record{Kind: RecordResult, Action: ActionRollback, Pack: packID, Version: en.Version, SHA256: en.SHA256,
		Result: string(ResultApplied), By: "operator", Reason: fmt.Sprintf("rolled back from %s", cur.Version)})
	return en, nil
}
