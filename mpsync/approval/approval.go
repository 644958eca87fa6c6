package approval

import (
	"context"
	"errors"
	"fmt"

	"mpsync.dev/mpsync/plan"
)

var (
	// ErrInvalid is wrapped by every constructor and parser error: a bad cron
	// expression, duration, time zone, pattern, constraint or mode.
	ErrInvalid = errors.New("invalid approval configuration")
	// ErrUnknownChange is wrapped by [Manual] methods given a change id that
	// was never queued, and by the engine's Approve given an id that is
	// neither queued for approval nor in the current plan.
	ErrUnknownChange = errors.New("no such change awaits approval")
	// ErrSuperseded is wrapped by [Manual] methods given a change id that a
	// newer change for the same rule and pack replaced.
	ErrSuperseded = errors.New("change was superseded by a newer one")
)

// Name returns the name an approver reports in [Decision.By]: its
// String method when it has one, otherwise its Go type.
func Name(a Approver) string {
	if s, ok := a.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", a)
}

// Auto returns an approver that approves every change. It is the default
// mode of the command.
func Auto() Approver { return autoApprover{} }

type autoApprover struct{}

func (autoApprover) String() string { return "auto" }

func (autoApprover) Decide(context.Context, Request) (Decision, error) {
	return Decision{Verdict: plan.Approve, By: "auto", Reason: "automatic approval"}, nil
}

// Freeze returns an approver that denies every change with the given
// reason; an empty reason reads "changes are frozen". Use it to stop all
// imports during an incident without disabling the rules.
func Freeze(reason string) Approver {
	if reason == "" {
		reason = "changes are frozen"
	}
	return freezeApprover{reason: reason}
}

type freezeApprover struct{ reason string }

func (f freezeApprover) String() string { return "freeze" }

func (f freezeApprover) Decide(context.Context, Request) (Decision, error) {
	return Decision{Verdict: plan.Deny, By: "freeze", Reason: f.reason}, nil
}

// isRemoval reports whether c removes a pack.
func isRemoval(c plan.Change) bool { return c.Action == plan.ActionRemove }
