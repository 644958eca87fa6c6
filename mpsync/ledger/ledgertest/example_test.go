package ledgertest_test

import (
	"context"
	"fmt"

	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/ledger/ledgertest"
)

// Sample is a record with every field set, for checking that a ledger
// returns records exactly as appended. A ledger's own tests call
// ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return newLedger() }).
func ExampleSample() {
	ctx := context.Background()
	l := ledger.NewMemory()
	rec := ledgertest.Sample()
	if err := l.Append(ctx, rec); err != nil {
		fmt.Println(err)
		return
	}
	got, err := l.Query(ctx, ledger.Query{Group: rec.Group, Pack: rec.Pack})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(got), got[0].Kind, got[0].Pack, got[0].Version, got[0].Time.Equal(rec.Time))
	// Output:
	// 1 result Microsoft.IntelligencePacks.Updates 7.1.10226.1239 true
}
