// Package pgstore keeps a management group's store in PostgreSQL: the
// imported packs with their provenance and previous versions, and the
// metadata records beside them (the connection, the manual approval
// queue, the pending changes, the run history), in the same database and
// schema as pgledger's ledger and lease.
//
// Why: in Operations Manager every management server of a group works on
// one shared database, and when the server running the rules is down
// another takes over. The directory store (mpsync/store) is one machine's
// and one process's, so a second server has nothing to take over. With
// this store every server sees the same packs, approvals and history, and
// pgledger's lease decides which one runs the rules.
//
// # Opening
//
//	st, err := pgstore.Open(ctx, dsn, &pgstore.Options{Group: "PROD"})
//	if err != nil { ... }
//	defer st.Close()
//	eng, err := mpsync.New(st, &mpsync.Options{
//		Group:  scom.ManagementGroup{Name: "PROD"},
//		Ledger: st.Ledger(),
//		Lease:  st.Lease("PROD"), // binds the store to the lease: fenced writes
//		Holder: hostname,
//	})
//
// Open creates and migrates the schema ([Store.Migrate]: versioned,
// idempotent, one transaction under an advisory lock, so servers starting
// at once on an empty database all come up and the migration runs once).
// Errors and logs never contain the DSN's password.
//
// # Tables
//
// In the schema (default "mpsync", shared with pgledger): store_packs (one
// row per group and pack id: the entry as JSON, the SHA-256 of the current
// and of the previous bytes), store_blobs and store_chunks (the bytes,
// content-addressed and shared by every group, in bytea rows of
// [ChunkSize]; a blob is deleted with its last reference), store_meta (one
// row per group and record name), store_migrations; and pgledger's ledger
// and lease, the latter with a fencing token column.
//
// # Streaming
//
// An import is received into a spool (memory up to 4 MiB a pack within a
// store-wide budget, a temporary file beyond), checked and validated
// there, then streamed into store_chunks with COPY, one chunk in memory at
// a time. Open streams the chunks back with one query, copying one chunk at
// a time into the reader. So a 100 MB pack is never held whole in memory
// (BENCHMARKS.md has the measurement, and why bytea chunks rather than
// large objects).
//
// # Batches
//
// The store implements [storage.Batcher]: a run's changes are staged into
// spools and committed in one transaction.
//
// # Cache
//
// The store answers List, Get, [Store.Generation] and ReadMeta from what it
// last validated against the database, for Options.CacheFor (one second by
// default) after the validation: one query returns the group's pack
// generation (a row moved by a trigger on every pack change) and every meta
// record's version (moved by a trigger on every write), with the bytes of
// the records whose version changed, and [Lease.Acquire] sends that query in
// the same round trip as the lease statement. Its own writes are seen at
// once; another server's within CacheFor, and at the latest at this
// server's next Acquire, which starts every scheduled run. So an idle
// scheduler tick of the lease holder costs three round trips: one
// validation, the lease renewal, the write of the run history.
//
// # Fencing
//
// [Store.Lease] binds the store to a lease: every write, and every append
// to the ledger [Store.Ledger] returns, carries the token
// the last successful Acquire returned, and the database checks it in the
// same transaction or statement (a FOR SHARE lock on the lease row, so a
// takeover waits for a write in flight, and a write after a takeover is
// refused with [ErrFenced]). The token is kept by the database: a trigger
// moves it forward from a sequence whenever the lease changes hands.
package pgstore
