package ledger_test

import (
	"context"
	"fmt"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/pack"
)

// A QA group and a production group share one ledger; production asks
// whether a pack version was applied in QA.
func Example() {
	ctx := context.Background()
	l := ledger.NewMemory()
	at := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	v := pack.MustParseVersion("7.1.10226.1239")

	_ = l.Append(ctx, ledger.Record{Time: at, Kind: ledger.KindResult, Group: "QA",
		Action: plan.ActionImport, Pack: "Microsoft.IntelligencePacks.Updates", Version: v,
		SHA256: "ab12", Result: "applied", By: "engine"})
	_ = l.Append(ctx, ledger.Record{Time: at.Add(time.Hour), Kind: ledger.KindRun, Group: "QA", Result: "ok"})

	recs, err := l.Query(ctx, ledger.Query{Kind: ledger.KindResult, Group: "QA",
		Pack: "Microsoft.IntelligencePacks.Updates", Version: v})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Println(r.Group, r.Action, r.Pack, r.Version, r.Result, r.Time.Format(time.RFC3339))
	}
	// Output:
	// QA import Microsoft.IntelligencePacks.Updates 7.1.10226.1239 applied 2026-06-01T02:00:00Z
}
