package plan

// Verdict is change control's answer for one change: what an approver
// (package mpsync.dev/mpsync/approval) decided, and what the ledger records.
// It lives with the plan's other values so that the ledger and the approvers
// can name it without importing each other or the engine.
type Verdict string

const (
	// Approve lets the change be applied now.
	Approve Verdict = "approve"
	// Deny refuses the change; Decision.Reason says why.
	Deny Verdict = "deny"
	// Defer leaves the change pending, until Decision.NotBefore if set.
	Defer Verdict = "defer"
)
