package mpsync

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/rules"
)

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
// per id that could not be, each naming it. It needs an [approval.Queue] in
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
		case !errors.Is(err, approval.ErrUnknownChange):
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
			errs = append(errs, fmt.Errorf("change %s is neither pending nor in the current plan (the catalog or the store changed since it was planned; plan again): %w", id, approval.ErrUnknownChange))
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
func (e *Engine) queue() (approval.Queue, error) {
	if e.queueOpt != nil {
		return e.queueOpt, nil
	}
	var found approval.Queue
	var visit func(approval.Approver)
	visit = func(a approval.Approver) {
		if q, ok := a.(approval.Queue); ok && found == nil {
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
func pendingApprovals(pending []Change, queued []approval.QueuedChange) []status.PendingApproval {
	state := map[string]approval.State{}
	for _, q := range queued {
		state[q.Change.ID] = q.State
	}
	out := []status.PendingApproval{}
	seen := map[string]bool{}
	add := func(c Change, s approval.State) {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, status.PendingApproval{Change: c, Approval: s})
		}
	}
	for _, c := range pending {
		s, ok := state[c.ID]
		if !ok {
			s = approval.StateDeferred
		}
		add(c, s)
	}
	for _, q := range queued {
		if q.State == approval.StateWaiting {
			add(q.Change, approval.StateWaiting)
		}
	}
	return out
}
