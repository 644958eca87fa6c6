package pgledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/pack"
)

const benchRecords = 10_000

// benchRecord is record i of a ledger spread over 10 groups and 100 packs.
func benchRecord(i int) ledger.Record {
	return ledger.Record{
		Time:    leaseT0.Add(time.Duration(i) * time.Second),
		Kind:    ledger.KindResult,
		Group:   fmt.Sprintf("G%d", i%10),
		Pack:    fmt.Sprintf("Microsoft.IntelligencePacks.P%03d", i%100),
		Version: pack.Version{Major: 7, Minor: 2, Build: uint32(i % 7), Revision: 1},
		SHA256:  fmt.Sprintf("%064x", i),
		Action:  plan.ActionImport,
		Result:  "applied",
		By:      "engine",
	}
}

// BenchmarkAppend measures one Append into a ledger that grows to about
// 10,000 records and more.
func BenchmarkAppend(b *testing.B) {
	l := openDB(b, nil).Ledger()
	ctx := context.Background()
	for i := range benchRecords {
		if err := l.Append(ctx, benchRecord(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	i := benchRecords
	for b.Loop() {
		if err := l.Append(ctx, benchRecord(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkQueryGroupPack measures the promotion approver's question (one
// group's results for one pack) on a ledger of 10,000 records; each answer
// holds 100 records.
func BenchmarkQueryGroupPack(b *testing.B) {
	l := openDB(b, nil).Ledger()
	ctx := context.Background()
	for i := range benchRecords {
		if err := l.Append(ctx, benchRecord(i)); err != nil {
			b.Fatal(err)
		}
	}
	q := ledger.Query{Kind: ledger.KindResult, Group: "G3", Pack: "Microsoft.IntelligencePacks.P013"}
	got, err := l.Query(ctx, q)
	if err != nil || len(got) != benchRecords/100 {
		b.Fatalf("Query returned %d records, %v; want %d", len(got), err, benchRecords/100)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaseAcquire measures a renewal by the holder.
func BenchmarkLeaseAcquire(b *testing.B) {
	l := openDB(b, nil).Lease("PROD")
	ctx := context.Background()
	for b.Loop() {
		if ok, err := l.Acquire(ctx, "MS01", time.Minute); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
