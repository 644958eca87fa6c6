package mpsync_test

import (
	"testing"

	"mpsync.dev/internal/campaign"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
)

// TestFaultCampaign runs the seeded fault campaign (RELIABILITY.md,
// mpsync.dev/internal/campaign) against the Memory store and, every fourth
// scenario, the directory store on disk: 200 scenarios, 25 with -short.
// MPSYNC_CAMPAIGN_SEED and MPSYNC_CAMPAIGN_SCENARIOS replay one.
func TestFaultCampaign(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 25
	}
	campaign.Run(t, campaign.Options{
		Scenarios: n,
		Replay:    "go test ./mpsync -run TestFaultCampaign",
		OpenStore: func(t *testing.T, i int) mpsync.Store {
			if i%4 != 3 {
				return store.NewMemory()
			}
			d, err := store.OpenDir(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	})
}
