package event

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Event kinds are the strings embedding programs match on (metrics labels,
// audit logs): each is distinct and non-empty.
func TestEventKindsDistinct(t *testing.T) {
	kinds := []Kind{SchedulerStarted, SchedulerStopped, RunStarted, RunFinished, PlanReady, ChangeApplied,
		ChangeFailed, ChangeBlocked, ChangeDenied, ApprovalNeeded,
		CatalogStale, ScheduleChanged, Connected, Disconnected}
	seen := map[Kind]bool{}
	for _, k := range kinds {
		assert.NotEmpty(t, k)
		assert.False(t, seen[k], "kind %q used twice", k)
		seen[k] = true
	}
}
