package mpsync

import "mpsync.dev/mpsync/plan"

// The planner's values, under the names the engine's API has always used.
// The planner itself is the pure package [mpsync.dev/mpsync/plan]: the
// engine gathers the catalog, the store's entries, the platform and the
// target manifests, and calls plan.Classify and plan.Resolve with them.
type (
	// Plan is [plan.Plan]: what a run would do.
	Plan = plan.Plan
	// Change is [plan.Change]: one step of a plan.
	Change = plan.Change
	// Action is [plan.Action]: what a change does with its pack.
	Action = plan.Action
)

// The actions of a [Change]; see [plan.Action].
const (
	ActionImport   = plan.ActionImport
	ActionUpgrade  = plan.ActionUpgrade
	ActionRemove   = plan.ActionRemove
	ActionKeep     = plan.ActionKeep
	ActionBlocked  = plan.ActionBlocked
	ActionRollback = plan.ActionRollback
)
