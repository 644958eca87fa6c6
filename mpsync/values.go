package mpsync

import "mpsync.dev/mpsync/plan"

// The planner's two values the engine's API is written in. Everything else
// of the planner, the actions among them (plan.ActionImport, ...), is used
// from its own package.
// The planner itself is the pure package [mpsync.dev/mpsync/plan]: the
// engine gathers the catalog, the store's entries, the platform and the
// target manifests, and calls plan.Classify and plan.Resolve with them.
type (
	// Plan is [plan.Plan]: what a run would do.
	Plan = plan.Plan
	// Change is [plan.Change]: one step of a plan.
	Change = plan.Change
)
