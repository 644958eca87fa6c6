package mpsync

import (
	"time"

	"mpsync.dev/rules"
)

// EventKind names what an [Event] reports.
type EventKind string

const (
	// EventSchedulerStarted: Start started the scheduler.
	EventSchedulerStarted EventKind = "scheduler-started"
	// EventSchedulerStopped: the scheduler stopped; Err is the permanent
	// error that stopped it, nil when Stop, Close or its context did.
	EventSchedulerStopped EventKind = "scheduler-stopped"
	// EventRunStarted: a rule's run began.
	EventRunStarted EventKind = "run-started"
	// EventRunFinished: a rule's run ended; Err is set when it failed.
	EventRunFinished EventKind = "run-finished"
	// EventPlanReady: a run planned its changes; Plan is set, so progress
	// displays know how many changes follow.
	EventPlanReady EventKind = "plan-ready"
	// EventChangeApplied: a change was applied to the store.
	EventChangeApplied EventKind = "change-applied"
	// EventChangeFailed: applying a change failed.
	EventChangeFailed EventKind = "change-failed"
	// EventChangeBlocked: a planned change cannot be applied; Message says why.
	EventChangeBlocked EventKind = "change-blocked"
	// EventChangeDenied: the approver refused a change.
	EventChangeDenied EventKind = "change-denied"
	// EventApprovalNeeded: a change waits for approval.
	EventApprovalNeeded EventKind = "approval-needed"
	// EventCatalogStale: the service could not be reached and the last-known
	// catalog is used.
	EventCatalogStale EventKind = "catalog-stale"
	// EventScheduleChanged: a rule's effective settings changed and the
	// scheduler follows them.
	EventScheduleChanged EventKind = "schedule-changed"
	// EventConnected: the store was connected to a workspace.
	EventConnected EventKind = "connected"
	// EventDisconnected: the integration was removed.
	EventDisconnected EventKind = "disconnected"
)

// Event is something the engine did, for embedding programs that export
// metrics or audit logs. Events carry no secrets.
type Event struct {
	Kind EventKind
	Time time.Time
	// Rule is the rule concerned, if any.
	Rule rules.Rule
	// Change is the change concerned, if any.
	Change *Change
	// Plan is the run's plan, for EventPlanReady.
	Plan *Plan
	// Err is the error, for failures.
	Err error
	// Message adds words for people.
	Message string
}

// sinceText formats a time for messages.
func sinceText(t time.Time) string { return t.UTC().Format(time.RFC3339) }
