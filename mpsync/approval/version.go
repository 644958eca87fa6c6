package approval

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"mpsync.dev/mpsync/storage"
)

// staticVersion is the ApprovalVersion of an approver whose answers never
// change but by the clock, and then only at a deferral's NotBefore: Auto,
// Freeze, a Policy and a Window. Such an approver combined with a Manual
// makes a [Combined] that is a Versioner too, so a production group behind
// a change window and a person reuses its plan on idle ticks.
const staticVersion = 1

// ApprovalVersion implements [Versioner]: Auto approves everything, always.
func (autoApprover) ApprovalVersion(context.Context) (uint64, error) { return staticVersion, nil }

// ApprovalVersion implements [Versioner]: a freeze answers the same until it
// is replaced.
func (freezeApprover) ApprovalVersion(context.Context) (uint64, error) { return staticVersion, nil }

// ApprovalVersion implements [Versioner]: a Policy's answer depends only on
// the change, which a reused plan keeps.
func (p *Policy) ApprovalVersion(context.Context) (uint64, error) { return staticVersion, nil }

// ApprovalVersion implements [Versioner]: a Window's answer depends only on
// the clock, and its deferral's NotBefore is the next moment it can open
// ([Window.NextOpen]), when the engine asks again.
func (w *Window) ApprovalVersion(context.Context) (uint64, error) { return staticVersion, nil }

// ApprovalVersion implements [Versioner]: a hash of the
// queue's record, so that it moves when a person approves, denies or
// revokes in any process sharing the store, and when a run queues a
// change. The engine then asks the queue again about pending changes only
// when it moved.
func (m *Manual) ApprovalVersion(ctx context.Context) (uint64, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	data, err := m.meta.ReadMeta(ctx, ManualRecord)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("approval: manual: reading %s: %w", ManualRecord, err)
	}
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64() | 1, nil // never 0, the version of no record
}

// ApprovalVersion implements [Versioner] when every part
// does: a hash of the parts' versions. It fails with errors.ErrUnsupported
// when a part cannot tell (the engine then asks again on every run), and
// for [Any] over a part whose answers change with the clock (a [Window]):
// Any's deferral carries no NotBefore when another part waits without a
// time (a person), so nothing would say when the window opens.
func (c *Combined) ApprovalVersion(ctx context.Context) (uint64, error) {
	if c.any && slices.ContainsFunc(c.parts, clockDriven) {
		return 0, fmt.Errorf("approval: %s: its answer may change when a window opens: %w", Name(c), errors.ErrUnsupported)
	}
	h := fnv.New64a()
	for _, p := range c.parts {
		v, ok := p.(Versioner)
		if !ok {
			return 0, fmt.Errorf("approval: %s cannot say when its answers change: %w", Name(p), errors.ErrUnsupported)
		}
		n, err := v.ApprovalVersion(ctx)
		if err != nil {
			return 0, err
		}
		var b [8]byte
		for i := range b {
			b[i] = byte(n >> (8 * i))
		}
		h.Write(b[:])
	}
	return h.Sum64(), nil
}

// clockDriven reports whether a's answers change with the clock alone: a
// [Window], or a combination holding one.
func clockDriven(a Approver) bool {
	switch a := a.(type) {
	case *Window:
		return true
	case *Combined:
		return slices.ContainsFunc(a.parts, clockDriven)
	}
	return false
}
