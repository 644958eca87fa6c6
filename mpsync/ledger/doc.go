// Package ledger is the audit trail of a management group: the [Record]
// values the engine writes for every approval decision, every applied or
// failed change and every run, the [Query] that selects them, the [Ledger]
// interface, and two ledgers. It answers the question promotion between
// management groups asks: "was this exact pack version imported in QA, and
// when?". The conformance suite for ledgers is
// [mpsync.dev/mpsync/ledger/ledgertest].
//
// The package imports neither the engine nor the approvers, so both name its
// types without importing each other: the engine writes records, and
// approval.Promotion reads them.
//
// # Choosing an implementation
//
// [Memory] keeps records in memory. Use it in tests, in a staging pipeline
// that simulates several groups in one process (share one Memory between
// the groups' engines), or where the audit trail does not need to survive a
// restart.
//
// The embedded default is [JSONL] (from [NewJSONL]), which the engine uses when Options.Ledger is nil:
// it keeps records as JSON lines in the "ledger.jsonl" metadata record of
// the management group's store, so records survive a restart and a crash
// loses at most the record being written. A ledger shared between
// machines is mpsync.dev/mpsync/pgledger.
//
//	st, _ := store.OpenDir("/var/lib/mpsync", nil) // or any mpsync.Store
//	l := ledger.NewJSONL(st)
//	_ = l.Append(ctx, ledger.Record{Time: now, Kind: ledger.KindRun, Result: "ok"})
//	recs, _ := l.Query(ctx, ledger.Query{Kind: ledger.KindResult, Group: "QA"})
//
// # Contract
//
// Every ledger follows the [Ledger] contract that
// [mpsync.dev/mpsync/ledger/ledgertest.Run] checks: Append stores a record
// (its Kind and Time must be set, otherwise [ErrInvalidRecord]);
// Query returns the records a [Query] selects, oldest first by
// Time, records with equal times in the order they were appended; records
// come back exactly as appended, as a JSON round trip would return them
// (times compare equal with [time.Time.Equal]); every method is safe for
// concurrent use.
package ledger
