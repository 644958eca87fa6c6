package mpsync

import (
	"context"
)

// DefaultLeaseTTL is how long a scheduled run holds the lease when
// Options.LeaseTTL is zero: long enough to cover the wait until the next
// wake-up, so a live holder keeps the lease and a dead one loses it soon.
const DefaultLeaseTTL = 3 * DefaultSettingsPoll

// holdsLease reports whether this engine may run now.
func (e *Engine) holdsLease(ctx context.Context) (bool, error) {
	if e.lease == nil {
		return true, nil
	}
	return e.lease.Acquire(ctx, e.holder, e.leaseTTL)
}
