package approval

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mpsync.dev/mpsync/plan"
)

// Combined is an approver built from others by [All] or [Any]. It is
// immutable and safe for concurrent use when its parts are.
type Combined struct {
	any   bool
	parts []Approver
}

// All returns an approver that approves a change only when every part
// approves it. The parts are asked in order:
//
//   - the first Deny stops the evaluation and is the answer (later parts are
//     not asked);
//   - a Defer does not stop it, so that later parts still see the change (a
//     [Manual] queues it for approval while a [Window] is closed) and a later
//     Deny still wins; the answer is Defer, with NotBefore the latest
//     NotBefore of the deferring parts (those without one are ignored);
//   - when all approve, the answer is Approve.
//
// An error from a part stops the evaluation and is returned, wrapped with
// the part's name. By joins the names of the deciding parts, Reason their
// reasons, with "; ". All returns an error wrapping [ErrInvalid] when given
// no approvers or a nil one.
func All(approvers ...Approver) (*Combined, error) {
	return combine("all", false, approvers)
}

// Any returns an approver that approves a change when at least one part
// approves it. The parts are asked in order and the first Approve stops the
// evaluation and is the answer. Otherwise the answer is Defer when any part
// deferred, with NotBefore the earliest NotBefore of the deferring parts
// (zero when one of them has none, since it may approve at any time), and
// Deny when all denied. An error from a part stops the evaluation. Any
// returns an error wrapping [ErrInvalid] when given no approvers or a nil
// one.
func Any(approvers ...Approver) (*Combined, error) {
	return combine("any", true, approvers)
}

func combine(kind string, anyOf bool, approvers []Approver) (*Combined, error) {
	if len(approvers) == 0 {
		return nil, fmt.Errorf("approval: %s: %w: no approvers", kind, ErrInvalid)
	}
	for i, a := range approvers {
		if a == nil {
			return nil, fmt.Errorf("approval: %s: %w: approver %d is nil", kind, ErrInvalid, i+1)
		}
	}
	return &Combined{any: anyOf, parts: append([]Approver(nil), approvers...)}, nil
}

// Parts returns the approvers combined, in order.
func (c *Combined) Parts() []Approver { return append([]Approver(nil), c.parts...) }

// String returns "all(a, b)" or "any(a, b)" with the parts' names.
func (c *Combined) String() string {
	names := make([]string, len(c.parts))
	for i, p := range c.parts {
		names[i] = Name(p)
	}
	kind := "all"
	if c.any {
		kind = "any"
	}
	return kind + "(" + strings.Join(names, ", ") + ")"
}

// Decide asks the parts in order as [All] or [Any] describes.
func (c *Combined) Decide(ctx context.Context, req Request) (Decision, error) {
	var (
		approved, deferred, denied []Decision
		notBefore                  time.Time
		unknownTime                bool
	)
	for _, p := range c.parts {
		d, err := p.Decide(ctx, req)
		if err != nil {
			return Decision{}, fmt.Errorf("approval: %s: change %s (%s): %w", Name(p), req.Change.ID, req.Change.Pack, err)
		}
		if d.By == "" {
			d.By = Name(p)
		}
		switch d.Verdict {
		case plan.Approve:
			if c.any {
				return d, nil
			}
			approved = append(approved, d)
		case plan.Deny:
			if !c.any {
				return d, nil
			}
			denied = append(denied, d)
		case plan.Defer:
			deferred = append(deferred, d)
			switch {
			case d.NotBefore.IsZero():
				unknownTime = true
			case notBefore.IsZero(),
				!c.any && d.NotBefore.After(notBefore),
				c.any && d.NotBefore.Before(notBefore):
				notBefore = d.NotBefore
			}
		default:
			return Decision{}, fmt.Errorf("approval: %s: change %s (%s): unknown verdict %q", Name(p), req.Change.ID, req.Change.Pack, d.Verdict)
		}
	}
	switch {
	case len(deferred) > 0:
		if c.any && unknownTime {
			notBefore = time.Time{}
		}
		out := join(plan.Defer, deferred)
		out.NotBefore = notBefore
		return out, nil
	case c.any:
		return join(plan.Deny, denied), nil
	default:
		return join(plan.Approve, approved), nil
	}
}

func join(v plan.Verdict, ds []Decision) Decision {
	by := make([]string, 0, len(ds))
	reasons := make([]string, 0, len(ds))
	for _, d := range ds {
		by = append(by, d.By)
		if d.Reason != "" {
			reasons = append(reasons, d.Reason)
		}
	}
	return Decision{Verdict: v, By: strings.Join(by, "; "), Reason: strings.Join(reasons, "; ")}
}
