// Package event holds what the engine reports as it works: an [Event] per
// thing done (a run started or finished, a change applied, denied or
// waiting for approval, the scheduler started or stopped), passed to the
// function in mpsync.Options.OnEvent.
//
// The types live here rather than in the root package because their
// consumers are mostly not the engine's callers but its observers: the
// metrics package, progress displays, audit logs. Such a program imports
// this package and the engine's options, nothing else.
package event

import (
	"time"

	"mpsync.dev/mpsync/plan"
	"mpsync.dev/rules"
)

// Kind names what an [Event] reports. The values are stable strings that
// embedding programs match on (metrics labels, audit logs).
type Kind string

const (
	// SchedulerStarted: Start started the scheduler.
	SchedulerStarted Kind = "scheduler-started"
	// SchedulerStopped: the scheduler stopped; Err is the permanent
	// error that stopped it, nil when Stop, Close or its context did.
	SchedulerStopped Kind = "scheduler-stopped"
	// RunStarted: a rule's run began.
	RunStarted Kind = "run-started"
	// RunFinished: a rule's run ended; Err is set when it failed.
	RunFinished Kind = "run-finished"
	// PlanReady: a run planned its changes; Plan is set, so progress
	// displays know how many changes follow.
	PlanReady Kind = "plan-ready"
	// ChangeApplied: a change was applied to the store.
	ChangeApplied Kind = "change-applied"
	// ChangeFailed: applying a change failed.
	ChangeFailed Kind = "change-failed"
	// ChangeBlocked: a planned change cannot be applied; Message says why.
	ChangeBlocked Kind = "change-blocked"
	// ChangeDenied: the approver refused a change.
	ChangeDenied Kind = "change-denied"
	// ApprovalNeeded: a change waits for approval.
	ApprovalNeeded Kind = "approval-needed"
	// CatalogStale: the service could not be reached and the last-known
	// catalog is used.
	CatalogStale Kind = "catalog-stale"
	// ScheduleChanged: a rule's effective settings changed and the
	// scheduler follows them.
	ScheduleChanged Kind = "schedule-changed"
	// Connected: the store was connected to a workspace.
	Connected Kind = "connected"
	// Disconnected: the integration was removed.
	Disconnected Kind = "disconnected"
)

// Event is something the engine did, for embedding programs that export
// metrics or audit logs. Events carry no secrets.
type Event struct {
	// Kind says what happened.
	Kind Kind
	// Time is when, on the engine's clock.
	Time time.Time
	// Rule is the rule concerned, if any.
	Rule rules.Rule
	// Change is the change concerned, if any.
	Change *plan.Change
	// Plan is the run's plan, for [PlanReady].
	Plan *plan.Plan
	// Err is the error, for failures.
	Err error
	// Message adds words for people.
	Message string
}
