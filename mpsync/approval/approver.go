package approval

import (
	"context"
	"time"

	"mpsync.dev/mpsync/plan"
)

// Queue is an approver's queue of changes waiting for a person
// (approval.Manual keeps one). [mpsync.dev/mpsync.Engine.Approve] and
// [mpsync.dev/mpsync.Engine.ApproveAll] decide through it and
// [mpsync.dev/mpsync.Engine.Status] lists it; the engine finds it in
// Options.Approver, or among the parts of a combination of approvers.
type Queue interface {
	// Approve approves a queued change. It returns an error wrapping
	// [ErrUnknownChange] when the change was never queued.
	Approve(ctx context.Context, changeID, by string) error
	// ApproveAll approves every waiting change and returns their ids.
	ApproveAll(ctx context.Context, by string) ([]string, error)
	// Preapprove approves a change a person saw in a plan before any run
	// queued it.
	Preapprove(ctx context.Context, c plan.Change, group, by string) error
	// Queue returns the changes the queue holds and where each stands.
	Queue(ctx context.Context) ([]QueuedChange, error)
}

// QueuedChange is one change in a [Queue].
type QueuedChange struct {
	Change plan.Change `json:"change"`
	// Group is the management group the change is for.
	Group string `json:"group,omitempty"`
	// RequestedAt is when the change first asked for approval.
	RequestedAt time.Time `json:"requestedAt"`
	// State is StateWaiting, StateApproved, StateDenied,
	// StateSuperseded or StateDeferred.
	State State `json:"state"`
}

// State is where a pending change stands with the approvers.
type State string

const (
	// StateWaiting: queued, waiting for a person.
	StateWaiting State = "waiting"
	// StateApproved: a person approved it; the next run applies it.
	StateApproved State = "approved"
	// StateDenied: a person denied it.
	StateDenied State = "denied"
	// StateSuperseded: the catalog changed and a newer change replaced
	// it; it needs no decision any more.
	StateSuperseded State = "superseded"
	// StateDeferred: another approver (a change window, a promotion
	// soak) holds it back; no person is asked.
	StateDeferred State = "deferred"
)

// Decision is an approver's answer for one change.
type Decision struct {
	Verdict plan.Verdict `json:"verdict"`
	// Reason says why, in words an operator reads in a report.
	Reason string `json:"reason,omitempty"`
	// NotBefore, for Defer, is the earliest time the change may be approved.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// By names the approver (or person) that decided.
	By string `json:"by,omitempty"`
}

// Request is what an [Approver] decides on.
type Request struct {
	// Change is the change to decide on; Change.ID binds the decision to its
	// exact rule, pack, target version and hash.
	Change plan.Change
	// Group is the management group the change is for.
	Group string
	// WorkspaceID is the workspace the change comes from.
	WorkspaceID string
	// Now is the engine's clock reading; approvers use it, not time.Now.
	Now time.Time
}

// Approver decides whether a change may be applied. This package's
// approvers (Auto, Freeze, Window, Manual, Promotion, Policy and their
// combinations) implement it. Decide must be safe for concurrent use.
type Approver interface {
	Decide(ctx context.Context, req Request) (Decision, error)
}

// Versioner is implemented by an approver whose answers on the
// changes it deferred or denied can change only when ApprovalVersion's
// number changes (a person approved in a queue, a policy was edited) or when
// a deferral's [Decision].NotBefore passes. When the catalog, the store and
// the settings are unchanged too, a run then reuses the previous plan and
// asks the approver nothing; an approver without it (or whose
// ApprovalVersion fails) is asked again about every pending and denied
// change on every run, as a full run would. The number must change for
// decisions taken by any process sharing the approver's state. In this
// package Auto, Freeze, Policy, Window and Manual implement it, and Combined
// when every part does; Promotion does not (its evidence is another group's
// ledger), so a combination holding one is asked on every run.
type Versioner interface {
	ApprovalVersion(ctx context.Context) (uint64, error)
}

// ApproverFunc adapts a function to [Approver].
type ApproverFunc func(ctx context.Context, req Request) (Decision, error)

// Decide calls f.
func (f ApproverFunc) Decide(ctx context.Context, req Request) (Decision, error) {
	return f(ctx, req)
}

// Repairer is implemented by a [Queue] that keeps its queue
// in a record that can be corrupt, as approval.Manual does. Repair sets a
// corrupt queue aside (with [storage.CorruptSuffix]) and starts it empty; it
// returns the name of the record it set aside, "" when the queue decoded.
type Repairer interface {
	Repair(ctx context.Context) (setAside string, err error)
}

// Pruner is implemented by a [Queue] that can drop changes
// no run will ask about again, as approval.Manual does. After each run the
// engine calls Prune with a func that gives the reason a queued change is
// done or overtaken: the store holds the pack at the change's target
// version or later; a removal's pack is gone or at another version; or a
// run of the change's rule from a fresh catalog no longer plans it. The
// queue marks the changes waiting for a person that the func reports
// superseded and returns their ids.
type Pruner interface {
	Prune(ctx context.Context, done func(QueuedChange) (reason string, ok bool)) ([]string, error)
}
