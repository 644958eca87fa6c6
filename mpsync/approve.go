package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/rules"
)

// ApprovalQueue is an approver's queue of changes waiting for a person
// (approval.Manual keeps one). [Engine.Approve] and [Engine.ApproveAll]
// decide through it and [Engine.Status] lists it; the engine finds it in
// Options.Approver, or among the parts of a combination of approvers.
type ApprovalQueue interface {
	// Approve approves a queued change. It returns an error wrapping
	// [ErrUnknownChange] when the change was never queued.
	Approve(ctx context.Context, changeID, by string) error
	// ApproveAll approves every waiting change and returns their ids.
	ApproveAll(ctx context.Context, by string) ([]string, error)
	// Preapprove approves a change a person saw in a plan before any run
	// queued it.
	Preapprove(ctx context.Context, c Change, group, by string) error
	// Queue returns the changes the queue holds and where each stands.
	Queue(ctx context.Context) ([]QueuedChange, error)
}

// QueuedChange is one change in an [ApprovalQueue].
type QueuedChange struct {
	Change Change `json:"change"`
	// Group is the management group the change is for.
	Group string `json:"group,omitempty"`
	// RequestedAt is when the change first asked for approval.
	RequestedAt time.Time `json:"requestedAt"`
	// State is ApprovalWaiting, ApprovalApproved, ApprovalDenied or
	// ApprovalSuperseded.
	State ApprovalState `json:"state"`
}

// ApprovalState is where a pending change stands with the approvers.
type ApprovalState string

const (
	// ApprovalWaiting: queued, waiting for a person.
	ApprovalWaiting ApprovalState = "waiting"
	// ApprovalApproved: a person approved it; the next run applies it.
	ApprovalApproved ApprovalState = "approved"
	// ApprovalDenied: a person denied it.
	ApprovalDenied ApprovalState = "denied"
	// ApprovalSuperseded: the catalog changed and a newer change replaced
	// it; it needs no decision any more.
	ApprovalSuperseded ApprovalState = "superseded"
	// ApprovalDeferred: another approver (a change window, a promotion
	// soak) holds it back; no person is asked.
	ApprovalDeferred ApprovalState = "deferred"
)

// PendingApproval is a change waiting for approval, as [Status] lists it.
type PendingApproval struct {
	Change
	Approval ApprovalState `json:"approval"`
}

// ApproveResult says what [Engine.Approve] did.
type ApproveResult struct {
	// Approved are the ids of queued changes now approved.
	Approved []string `json:"approved"`
	// Preapproved are the ids found in a fresh plan (never queued) and
	// approved there: the next run applies them if nothing changed.
	Preapproved []string `json:"preapproved"`
}

// Approve approves changes by id, as by. A change a run queued is approved
// in the queue; an id no run queued yet is looked for in a fresh plan (it
// may come from an earlier Plan) and approved ahead. Ids that can be
// approved are, whatever happens to the others; the error joins one error
// per id that could not be, each naming it. It needs an [ApprovalQueue] in
// the engine's approver ([ErrNoApprovalQueue] otherwise), and a workspace
// only for ids never queued.
func (e *Engine) Approve(ctx context.Context, by string, ids ...string) (*ApproveResult, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	q, err := e.queue()
	if err != nil {
		return nil, err
	}
	res := &ApproveResult{Approved: []string{}, Preapproved: []string{}}
	var plan *Plan // made once, for ids that came from a plan
	var errs []error
	for _, id := range ids {
		err := q.Approve(ctx, id, by)
		switch {
		case err == nil:
			res.Approved = append(res.Approved, id)
			continue
		case !errors.Is(err, ErrUnknownChange):
			errs = append(errs, fmt.Errorf("change %s: %w", id, err))
			continue
		}
		if plan == nil {
			if plan, err = e.planForApproval(ctx); err != nil {
				errs = append(errs, fmt.Errorf("change %s is not pending, and the current plan could not be made to look for it: %w", id, err))
				continue
			}
		}
		i := slices.IndexFunc(plan.Actionable(), func(c Change) bool { return c.ID == id })
		if i < 0 {
			errs = append(errs, fmt.Errorf("change %s is neither pending nor in the current plan (the catalog or the store changed since it was planned; plan again): %w", id, ErrUnknownChange))
			continue
		}
		if err := q.Preapprove(ctx, plan.Actionable()[i], e.group.Name, by); err != nil {
			errs = append(errs, fmt.Errorf("change %s: %w", id, err))
			continue
		}
		res.Preapproved = append(res.Preapproved, id)
	}
	return res, errors.Join(errs...)
}

// ApproveAll approves every change waiting in the approval queue, as by,
// and returns their ids.
func (e *Engine) ApproveAll(ctx context.Context, by string) ([]string, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	q, err := e.queue()
	if err != nil {
		return nil, err
	}
	return q.ApproveAll(ctx, by)
}

// planForApproval makes the plan an id from an earlier Plan is looked for in.
func (e *Engine) planForApproval(ctx context.Context) (*Plan, error) {
	if err := e.needWorkspace("approve"); err != nil {
		return nil, err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	run := e.newRun(false)
	defer run.close()
	return e.plan(ctx, run, rules.All())
}

// queue returns Options.Queue, or finds the approval queue in the engine's
// approver.
func (e *Engine) queue() (ApprovalQueue, error) {
	if e.queueOpt != nil {
		return e.queueOpt, nil
	}
	var found ApprovalQueue
	var visit func(Approver)
	visit = func(a Approver) {
		if q, ok := a.(ApprovalQueue); ok && found == nil {
			found = q
		}
		if c, ok := a.(composite); ok {
			for _, p := range c.Parts() {
				visit(p)
			}
		}
	}
	visit(e.approver)
	if found == nil {
		return nil, ErrNoApprovalQueue
	}
	return found, nil
}

// pendingApprovals merges the changes the last runs left pending with the
// approval queue: queued changes still undecided are waiting, changes the
// queue has decided carry its state, and the others are deferred by
// another approver.
func pendingApprovals(pending []Change, queued []QueuedChange) []PendingApproval {
	state := map[string]ApprovalState{}
	for _, q := range queued {
		state[q.Change.ID] = q.State
	}
	out := []PendingApproval{}
	seen := map[string]bool{}
	add := func(c Change, s ApprovalState) {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, PendingApproval{Change: c, Approval: s})
		}
	}
	for _, c := range pending {
		s, ok := state[c.ID]
		if !ok {
			s = ApprovalDeferred
		}
		add(c, s)
	}
	for _, q := range queued {
		if q.State == ApprovalWaiting {
			add(q.Change, ApprovalWaiting)
		}
	}
	return out
}
