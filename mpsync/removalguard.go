package mpsync

import (
	"fmt"
	"math"

	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/storage"
)

// DefaultMaxRemovalShare is the share of the workspace's packs one run may
// remove without confirmation when Options.MaxRemovalShare is zero: a
// catalog that suddenly wants less than half of what it wanted is more
// likely a mistake (a workspace emptied by hand, a service answering with
// the wrong list) than a decision.
const DefaultMaxRemovalShare = 0.5

// RemovalGuardName is the By of the decisions the removal guard makes, in
// the ledger and in a [ChangeError].
const RemovalGuardName = "removal-guard"

// checkMaxRemovalShare validates Options.MaxRemovalShare.
func checkMaxRemovalShare(share float64) error {
	if math.IsNaN(share) || share < 0 || share > 1 {
		return fmt.Errorf("mpsync.New: Options.MaxRemovalShare %v is outside [0, 1] (0 means %v, 1 allows any removal)", share, DefaultMaxRemovalShare)
	}
	return nil
}

// removalHold says why the removals of p are held, or "" when they may go
// ahead. The removals are held when they are more than one pack and more
// than the engine's share of the packs the workspace owns in the store
// (entries, as planned from): pruning is guarded as Argo CD and Flux guard
// it, so that one bad catalog cannot empty a management group. A run that
// confirms removals (SwitchWorkspace, whose new catalog decides by the
// operator's choice) is never held.
func (e *Engine) removalHold(p *Plan, entries []storage.Entry, confirmed bool) string {
	if confirmed || e.maxRemovalShare >= 1 {
		return ""
	}
	removals := 0
	for _, c := range p.Changes {
		if c.Action == plan.ActionRemove {
			removals++
		}
	}
	if removals < 2 {
		return ""
	}
	owned := 0
	for _, en := range entries {
		if en.Owner == storage.OwnerWorkspace {
			owned++
		}
	}
	if owned == 0 || float64(removals) <= e.maxRemovalShare*float64(owned) {
		return ""
	}
	return fmt.Sprintf("held by the removal guard: this run would remove %d of the %d packs the workspace owns (%.0f%%), more than the %.0f%% allowed unconfirmed (Options.MaxRemovalShare); "+
		"check the workspace's catalog, then confirm by running once with a larger share (1 allows any removal)",
		removals, owned, 100*float64(removals)/float64(owned), 100*e.maxRemovalShare)
}

// holdRemoval is the decision the removal guard gives a removal it holds.
func holdRemoval(reason string) approval.Decision {
	return approval.Decision{Verdict: plan.Deny, By: RemovalGuardName, Reason: reason}
}
