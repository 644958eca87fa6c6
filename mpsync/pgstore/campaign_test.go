package pgstore_test

import (
	"context"
	"testing"
	"time"

	"mpsync.dev/internal/campaign"
	"mpsync.dev/internal/pgtest"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pgstore"
)

// TestFaultCampaign runs the seeded fault campaign (RELIABILITY.md,
// mpsync.dev/internal/campaign) against the PostgreSQL store, each
// scenario in a schema of its own: 100 scenarios, 10 with -short.
// MPSYNC_CAMPAIGN_SEED and MPSYNC_CAMPAIGN_SCENARIOS replay one.
func TestFaultCampaign(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 10
	}
	dsn := pgtest.DSN(t)
	campaign.Run(t, campaign.Options{
		Scenarios: n,
		Replay:    "go test ./mpsync/pgstore -run TestFaultCampaign",
		OpenStore: func(t *testing.T, _ int) mpsync.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := pgstore.Open(ctx, dsn, &pgstore.Options{Schema: pgtest.Schema()})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return st
		},
	})
}
