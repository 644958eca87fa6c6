// Package ledger provides the two built-in implementations of
// [mpsync.Ledger], the audit trail that records every approval decision,
// every applied or failed change and every run, and that answers the
// question promotion between management groups asks: "was this exact pack
// version imported in QA, and when?".
//
// # Choosing an implementation
//
// [Memory] keeps records in memory. Use it in tests, in a staging pipeline
// that simulates several groups in one process, or where the audit trail
// does not need to survive a restart.
//
// [Store] is the embedded default: it keeps records as JSON lines in one
// metadata record ([StoreRecord], "ledger.jsonl") of the management group's
// store, through the small [Appender] interface that [mpsync.Store] (and so
// the directory and memory stores) satisfies. Each [Store.Append] is one
// AppendMeta of one line, so records survive a restart and a crash loses at
// most the record being written.
//
//	st, _ := store.OpenDir("/var/lib/mpsync", nil) // or any mpsync.Store
//	l := ledger.NewStore(st)
//	_ = l.Append(ctx, mpsync.Record{Time: now, Kind: mpsync.RecordRun, Result: "ok"})
//	recs, _ := l.Query(ctx, mpsync.LedgerQuery{Kind: mpsync.RecordResult, Group: "QA"})
//
// Several management groups share promotion evidence by sharing one ledger
// value (in one process) or one store.
//
// # Contract
//
// Both implementations, and any other, follow the [mpsync.Ledger] contract
// that [mpsync.dev/mpsync/ledger/ledgertest.Run] checks: Append stores a
// record (its Kind and Time must be set, otherwise [ErrInvalidRecord]);
// Query returns the records a [mpsync.LedgerQuery] selects, oldest first by
// Time, records with equal times in the order they were appended; records
// come back exactly as appended, as a JSON round trip would return them
// (times compare equal with [time.Time.Equal]); every method is safe for
// concurrent use.
//
// # Crashes and corruption
//
// A crash in the middle of an append can leave the last line of
// "ledger.jsonl" cut short. Query skips such a cut-short line, and the first
// Append of a [Store] value finishes the torn line with a newline before it
// writes, so the next record is not glued to it. Any other damage (a line
// that is not a JSON record) is reported as a [*CorruptError] naming the
// record and the line number; errors.Is(err, ErrCorrupt) reports it too.
// Query reads the whole record each time (one ReadMeta) but decodes only
// the lines appended since the previous Query of the same Store value;
// decoding 10,000 records from scratch, as the first Query after a start
// does, takes about 0.2 s.
package ledger
