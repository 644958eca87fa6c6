package approval

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"mpsync.dev/mpsync/clock"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/storage"
)

// ManualRecord is the name of the metadata record a [Manual] keeps its
// queue in.
const ManualRecord = "approvals.json"

// manualFormat is the version of the ManualRecord layout written.
const manualFormat = 1

// Meta is the part of a store a [Manual] needs to keep its queue.
// [mpsync.dev/mpsync.Store] satisfies it. ReadMeta reports a record that does not exist
// yet with an error matching [storage.ErrNotFound]; WriteMeta replaces a
// record atomically (readers see the old or the new bytes, never a mix).
type Meta interface {
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	WriteMeta(ctx context.Context, name string, data []byte) error
}

// The states of a queued change.
const (
	statePending    = "pending"
	stateApproved   = "approved"
	stateDenied     = "denied"
	stateSuperseded = "superseded"
)

// PendingChange is a change that asked for approval and has not been
// decided: what the command lists for an operator to approve.
type PendingChange struct {
	// Change is the change as the engine planned it; Change.ID is what
	// [Manual.Approve] takes.
	Change plan.Change `json:"change"`
	// Group is the management group the change is for.
	Group string `json:"group,omitempty"`
	// RequestedAt is the engine's clock reading when the change first asked.
	RequestedAt time.Time `json:"requestedAt"`
}

// manualEntry is one change in the queue.
type manualEntry struct {
	PendingChange
	State string `json:"state"`
	// By and DecidedAt record the last decision (approve, deny, revoke).
	By        string    `json:"by,omitempty"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	Note      string    `json:"note,omitempty"`
	// SupersededBy is the id of the change that replaced this one.
	SupersededBy string `json:"supersededBy,omitempty"`
}

type manualFile struct {
	Format  int           `json:"format"`
	Changes []manualEntry `json:"changes"`
}

// ManualOption configures a [Manual].
type ManualOption func(*Manual)

// ManualClock sets the clock that stamps Approve, Deny and Revoke; the
// default is the system clock. Decide always uses the request's Now.
func ManualClock(c clock.Clock) ManualOption {
	return func(m *Manual) {
		if c != nil {
			m.clock = c
		}
	}
}

// Manual is an approver that defers every change until an operator approves
// it through [Manual.Approve] (or the command's approve). Decide queues a
// change it has not seen as pending, with the details [Manual.Pending]
// lists; once approved, Decide approves it; once denied, Decide denies it.
// Entries are kept per management group (Request.Group): in a queue
// several groups share, a change one group asked about is decided for that
// group only, while Approve and Deny, which name a change id, decide it for
// every group that asked about that id.
//
// An approval binds to the change id, which the engine derives from the
// rule, pack, action, target version and hash. When the catalog changes, the
// change gets a new id and needs a new approval: the first Decide of the new
// id marks every other queued change for the same rule, pack and group as
// superseded (approved or not), and Approve of a superseded id fails with
// [ErrSuperseded]. Superseded entries are dropped at the next supersession,
// so the queue holds at most two entries per pack.
//
// The queue lives in the [ManualRecord] metadata record of a store. Every
// change to it is a read-modify-write under a mutex, so a Manual is safe for
// concurrent use, and each write is atomic, so a crash never leaves a
// half-written queue. Two processes sharing one store are not serialised
// against each other: if both modify the queue at the same moment, the last
// write wins and the other's change is lost (a lost approval shows up again
// as pending; a lost pending entry is queued again by the next Decide). The
// directory store admits one process at a time, which avoids that.
type Manual struct {
	meta  Meta
	clock clock.Clock
	mu    sync.Mutex
}

// NewManual returns a manual approver that keeps its queue in meta. A nil
// meta makes every method return an error wrapping [ErrInvalid].
func NewManual(meta Meta, opts ...ManualOption) *Manual {
	m := &Manual{meta: meta, clock: clock.System{}}
	for _, o := range opts {
		if o != nil {
			o(m)
		}
	}
	return m
}

// String returns "manual".
func (m *Manual) String() string { return "manual" }

// Decide answers from the queue as [Manual] describes, queueing a change it
// has not seen.
func (m *Manual) Decide(ctx context.Context, req Request) (Decision, error) {
	c := req.Change
	if c.ID == "" {
		return Decision{}, fmt.Errorf("approval: manual: change for pack %s has no id", c.Pack)
	}
	var d Decision
	err := m.update(ctx, "decide on "+c.ID, func(f *manualFile) (bool, error) {
		// The change id does not name the group: in a queue several groups
		// share, one group's approval must not approve another's change.
		i := f.findFor(c.ID, req.Group)
		if i >= 0 {
			e := f.Changes[i]
			switch e.State {
			case stateApproved:
				d = Decision{Verdict: plan.Approve, By: e.By, Reason: decidedReason("approved", e)}
				return false, nil
			case stateDenied:
				d = Decision{Verdict: plan.Deny, By: e.By, Reason: decidedReason("denied", e)}
				return false, nil
			case statePending:
				d = waiting(c.ID)
				return false, nil
			}
		}
		// New, or superseded and now wanted again: queue it afresh.
		f.queue(manualEntry{PendingChange: PendingChange{Change: c, Group: req.Group, RequestedAt: req.Now}, State: statePending})
		d = waiting(c.ID)
		return true, nil
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

func waiting(id string) Decision {
	return Decision{Verdict: plan.Defer, By: "manual", Reason: "waiting for manual approval of change " + id}
}

func decidedReason(verb string, e manualEntry) string {
	s := fmt.Sprintf("%s by %s at %s", verb, e.By, e.DecidedAt.Format(time.RFC3339))
	if e.Note != "" {
		s += ": " + e.Note
	}
	return s
}

// Approve approves the queued change with the given id on behalf of by (a
// person's name; required). Approving a denied change overrides the denial.
// It returns an error wrapping [ErrUnknownChange] when no such change was
// queued, and [ErrSuperseded] when a newer change replaced it.
func (m *Manual) Approve(ctx context.Context, changeID, by string) error {
	return m.decide(ctx, changeID, by, stateApproved, "")
}

// Deny denies the queued change with the given id on behalf of by, with a
// reason the engine reports. Errors are as for [Manual.Approve].
func (m *Manual) Deny(ctx context.Context, changeID, by, reason string) error {
	return m.decide(ctx, changeID, by, stateDenied, reason)
}

// Revoke returns an approved or denied change to pending, on behalf of by.
// Revoking a pending change does nothing. Errors are as for
// [Manual.Approve].
func (m *Manual) Revoke(ctx context.Context, changeID, by string) error {
	return m.decide(ctx, changeID, by, statePending, "revoked by "+by)
}

func (m *Manual) decide(ctx context.Context, id, by, state, note string) error {
	if by == "" {
		return fmt.Errorf("approval: manual: change %s: %w: empty by", id, ErrInvalid)
	}
	now := m.clock.Now()
	return m.update(ctx, state+" "+id, func(f *manualFile) (bool, error) {
		// Every group that asked about this change id gets the decision:
		// the operator decided on the change the id names.
		var live []int
		var superseded *manualEntry
		for i := range f.Changes {
			if f.Changes[i].Change.ID != id {
				continue
			}
			if f.Changes[i].State == stateSuperseded {
				superseded = &f.Changes[i]
				continue
			}
			live = append(live, i)
		}
		switch {
		case len(live) == 0 && superseded != nil:
			e := superseded
			return false, fmt.Errorf("approval: manual: change %s (%s %s): %w by %s", id, e.Change.Action, e.Change.Pack, ErrSuperseded, e.SupersededBy)
		case len(live) == 0:
			return false, fmt.Errorf("approval: manual: change %s: %w", id, ErrUnknownChange)
		}
		changed := false
		for _, i := range live {
			e := &f.Changes[i]
			if state == statePending && e.State == statePending {
				continue
			}
			e.State, e.By, e.DecidedAt, e.Note = state, by, now, note
			changed = true
		}
		return changed, nil
	})
}

// ApproveAll approves every pending change on behalf of by and returns their
// ids, sorted.
func (m *Manual) ApproveAll(ctx context.Context, by string) ([]string, error) {
	if by == "" {
		return nil, fmt.Errorf("approval: manual: approve all: %w: empty by", ErrInvalid)
	}
	now := m.clock.Now()
	var ids []string
	err := m.update(ctx, "approve all", func(f *manualFile) (bool, error) {
		for i := range f.Changes {
			e := &f.Changes[i]
			if e.State == statePending {
				e.State, e.By, e.DecidedAt, e.Note = stateApproved, by, now, ""
				ids = append(ids, e.Change.ID)
			}
		}
		return len(ids) > 0, nil
	})
	slices.Sort(ids)
	return ids, err
}

// Preapprove queues c as already approved by by, for a change an operator
// saw in a plan before any run asked for it. It supersedes other queued
// changes for the same rule, pack and group, as Decide would.
func (m *Manual) Preapprove(ctx context.Context, c plan.Change, group, by string) error {
	if c.ID == "" || by == "" {
		return fmt.Errorf("approval: manual: preapprove change %q for pack %s: %w: change id and by are required", c.ID, c.Pack, ErrInvalid)
	}
	now := m.clock.Now()
	return m.update(ctx, "preapprove "+c.ID, func(f *manualFile) (bool, error) {
		if i := f.findFor(c.ID, group); i >= 0 && f.Changes[i].State != stateSuperseded {
			e := &f.Changes[i]
			e.State, e.By, e.DecidedAt, e.Note = stateApproved, by, now, ""
			return true, nil
		}
		f.queue(manualEntry{PendingChange: PendingChange{Change: c, Group: group, RequestedAt: now},
			State: stateApproved, By: by, DecidedAt: now})
		return true, nil
	})
}

// Pending returns the changes waiting for a decision, oldest request first.
func (m *Manual) Pending(ctx context.Context) ([]PendingChange, error) {
	f, err := m.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var out []PendingChange
	for _, e := range f.Changes {
		if e.State == statePending {
			out = append(out, e.PendingChange)
		}
	}
	slices.SortFunc(out, func(a, b PendingChange) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.Change.ID, b.Change.ID))
	})
	return out, nil
}

var _ Queue = (*Manual)(nil)

// Queue returns every change the queue holds and where it stands, oldest
// request first: the engine's view of the queue ([Queue]),
// which Status lists.
func (m *Manual) Queue(ctx context.Context) ([]QueuedChange, error) {
	f, err := m.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]QueuedChange, 0, len(f.Changes))
	for _, e := range f.Changes {
		st := State(e.State)
		if e.State == statePending {
			st = StateWaiting
		}
		out = append(out, QueuedChange{Change: e.Change, Group: e.Group, RequestedAt: e.RequestedAt, State: st})
	}
	slices.SortFunc(out, func(a, b QueuedChange) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.Change.ID, b.Change.ID))
	})
	return out, nil
}

// QueueState is where a change stands in a [Manual] queue.
type QueueState string

const (
	// QueueUnknown: the change never asked this queue for approval.
	QueueUnknown QueueState = "unknown"
	// QueuePending: the change waits for an operator.
	QueuePending QueueState = statePending
	// QueueApproved: an operator approved it; the next run applies it.
	QueueApproved QueueState = stateApproved
	// QueueDenied: an operator denied it.
	QueueDenied QueueState = stateDenied
	// QueueSuperseded: the catalog changed and a newer change replaced it.
	QueueSuperseded QueueState = stateSuperseded
)

// State returns where the change with the given id stands in the queue.
func (m *Manual) State(ctx context.Context, changeID string) (QueueState, error) {
	f, err := m.snapshot(ctx)
	if err != nil {
		return "", err
	}
	if i := f.find(changeID); i >= 0 {
		return QueueState(f.Changes[i].State), nil
	}
	return QueueUnknown, nil
}

// snapshot reads the queue as it is now, under the lock.
func (m *Manual) snapshot(ctx context.Context) (manualFile, error) {
	if err := m.check(); err != nil {
		return manualFile{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load(ctx)
}

func (m *Manual) check() error {
	if m.meta == nil {
		return fmt.Errorf("approval: manual: %w: no store for the approval queue", ErrInvalid)
	}
	return nil
}

// update runs fn on the queue under the lock and writes it when fn reports
// a change.
func (m *Manual) update(ctx context.Context, step string, fn func(*manualFile) (bool, error)) error {
	if err := m.check(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := m.load(ctx)
	if err != nil {
		return err
	}
	changed, err := fn(&f)
	if err != nil || !changed {
		return err
	}
	f.Format = manualFormat
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("approval: manual: %s: encoding %s: %w", step, ManualRecord, err)
	}
	if err := m.meta.WriteMeta(ctx, ManualRecord, append(data, '\n')); err != nil {
		return fmt.Errorf("approval: manual: %s: writing %s: %w", step, ManualRecord, err)
	}
	return nil
}

func (m *Manual) load(ctx context.Context) (manualFile, error) {
	var f manualFile
	data, err := m.meta.ReadMeta(ctx, ManualRecord)
	if errors.Is(err, storage.ErrNotFound) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("approval: manual: reading %s: %w", ManualRecord, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		// Regression (issue 15, point 5): a corrupt queue was a bare
		// decoding error. It names the record and the recovery.
		return manualFile{}, fmt.Errorf("approval: manual: %w", &storage.CorruptRecordError{Record: ManualRecord, Err: err,
			Recovery: "Manual.Repair (Engine.Repair, mpsync repair) sets it aside as " + ManualRecord + storage.CorruptSuffix +
				" and starts the queue empty; the changes ask again at the next run, and approvals given in it must be given again"})
	}
	if f.Format > manualFormat {
		return f, fmt.Errorf("approval: manual: %s has format %d; this version reads up to %d", ManualRecord, f.Format, manualFormat)
	}
	return f, nil
}

func (f *manualFile) find(id string) int {
	return slices.IndexFunc(f.Changes, func(e manualEntry) bool { return e.Change.ID == id })
}

// findFor is find for the entry a given group queued.
func (f *manualFile) findFor(id, group string) int {
	return slices.IndexFunc(f.Changes, func(e manualEntry) bool { return e.Change.ID == id && e.Group == group })
}

// queue adds e (replacing an entry with the same id), drops entries already
// superseded for the same rule, pack and group, and supersedes the others.
func (f *manualFile) queue(e manualEntry) {
	same := func(o manualEntry) bool {
		return o.Change.Rule == e.Change.Rule && o.Change.Pack == e.Change.Pack && o.Group == e.Group
	}
	kept := f.Changes[:0]
	for _, o := range f.Changes {
		switch {
		case o.Change.ID == e.Change.ID && o.Group == e.Group:
			continue
		case same(o) && o.State == stateSuperseded:
			continue
		case same(o):
			o.State, o.SupersededBy = stateSuperseded, e.Change.ID
		}
		kept = append(kept, o)
	}
	f.Changes = append(kept, e)
}

var _ Repairer = (*Manual)(nil)

// Repair sets a corrupt queue aside and starts it empty: the record's
// bytes are kept as [ManualRecord] with [storage.CorruptSuffix] (for a
// person to read the approvals it held) before the empty queue is
// written. It returns ManualRecord when it did, "" when the queue decoded
// (or does not exist yet) and nothing changed. The changes ask again at
// their next run; approvals given in the corrupt queue must be given
// again.
func (m *Manual) Repair(ctx context.Context) (string, error) {
	if err := m.check(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.load(ctx)
	if err == nil || !errors.Is(err, storage.ErrCorruptRecord) {
		return "", err
	}
	raw, err := m.meta.ReadMeta(ctx, ManualRecord)
	if err != nil {
		return "", fmt.Errorf("approval: manual: repair: reading %s: %w", ManualRecord, err)
	}
	if err := m.meta.WriteMeta(ctx, ManualRecord+storage.CorruptSuffix, raw); err != nil {
		return "", fmt.Errorf("approval: manual: repair: setting %s aside: %w", ManualRecord, err)
	}
	data, err := json.MarshalIndent(manualFile{Format: manualFormat, Changes: []manualEntry{}}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("approval: manual: repair: encoding %s: %w", ManualRecord, err)
	}
	if err := m.meta.WriteMeta(ctx, ManualRecord, append(data, '\n')); err != nil {
		return "", fmt.Errorf("approval: manual: repair: writing %s: %w", ManualRecord, err)
	}
	return ManualRecord, nil
}

var _ Pruner = (*Manual)(nil)

// Prune marks superseded every change still waiting for a person for
// which done reports a reason (the engine's: the store already holds the
// pack at the change's target version or a later one, no longer holds what
// a removal would remove, or a fresh plan no longer holds the change),
// with the reason as its note. Such a change
// would otherwise stay listed forever, since no run asks about it again.
// It returns the ids marked. Approved, denied and superseded changes are
// left as they are.
func (m *Manual) Prune(ctx context.Context, done func(QueuedChange) (reason string, ok bool)) ([]string, error) {
	var ids []string
	err := m.update(ctx, "prune", func(f *manualFile) (bool, error) {
		for i := range f.Changes {
			e := &f.Changes[i]
			if e.State != statePending {
				continue
			}
			qc := QueuedChange{Change: e.Change, Group: e.Group, RequestedAt: e.RequestedAt, State: StateWaiting}
			if why, ok := done(qc); ok {
				e.State, e.Note = stateSuperseded, why
				ids = append(ids, e.Change.ID)
			}
		}
		return len(ids) > 0, nil
	})
	slices.Sort(ids)
	return ids, err
}
