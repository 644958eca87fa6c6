// Package ledger holds ledgers for [mpsync.Ledger], the audit trail that
// records every approval decision, every applied or failed change and every
// run, and that answers the question promotion between management groups
// asks: "was this exact pack version imported in QA, and when?", and the
// conformance suite for ledgers in [mpsync.dev/mpsync/ledger/ledgertest].
//
// # Choosing an implementation
//
// [Memory] keeps records in memory. Use it in tests, in a staging pipeline
// that simulates several groups in one process (share one Memory between
// the groups' engines), or where the audit trail does not need to survive a
// restart.
//
// The embedded default is [mpsync.StoreLedger] (from
// [mpsync.NewStoreLedger]), which the engine uses when Options.Ledger is nil:
// it keeps records as JSON lines in the "ledger.jsonl" metadata record of
// the management group's store, so records survive a restart and a crash
// loses at most the record being written. It lives in package mpsync so that
// the engine can default to it without an import cycle.
//
//	st, _ := store.OpenDir("/var/lib/mpsync", nil) // or any mpsync.Store
//	l := mpsync.NewStoreLedger(st)
//	_ = l.Append(ctx, mpsync.Record{Time: now, Kind: mpsync.RecordRun, Result: "ok"})
//	recs, _ := l.Query(ctx, mpsync.LedgerQuery{Kind: mpsync.RecordResult, Group: "QA"})
//
// # Contract
//
// Every ledger follows the [mpsync.Ledger] contract that
// [mpsync.dev/mpsync/ledger/ledgertest.Run] checks: Append stores a record
// (its Kind and Time must be set, otherwise [mpsync.ErrInvalidRecord]);
// Query returns the records a [mpsync.LedgerQuery] selects, oldest first by
// Time, records with equal times in the order they were appended; records
// come back exactly as appended, as a JSON round trip would return them
// (times compare equal with [time.Time.Equal]); every method is safe for
// concurrent use.
package ledger
