// Package pgledger keeps the [ledger.Ledger] and the [mpsync.Lease] in
// PostgreSQL, so that several management groups share promotion evidence
// and several management servers of one group agree on which of them runs
// the rules.
//
// The embedded default keeps the ledger in the store directory of one
// management group and needs no lease, because one process at a time opens
// a directory store; that is enough for a single server. Use this package
// when evidence must cross groups (a production group that imports a pack
// only after it soaked in QA) or when a group has several management
// servers, any of which may take over when the one running the rules is
// down.
//
// # Opening
//
// [Open] takes a DSN in either form pgx accepts and an optional
// [Options]. It creates a connection pool, checks that it can connect and
// runs [DB.Migrate]. Close the [DB] when the engines using it have stopped:
//
//	db, err := pgledger.Open(ctx, "postgres://mpsync@db.example.com/mpsync?sslmode=verify-full", &pgledger.Options{Logger: log})
//	if err != nil { ... }
//	defer db.Close()
//	e, err := mpsync.New(st, &mpsync.Options{
//		Group:  scom.ManagementGroup{Name: "PROD"},
//		Ledger: db.Ledger(),
//		Lease:  db.Lease("PROD"),
//		Holder: hostname,
//	})
//
// Pool settings go in the DSN (pool_max_conns=8 and the like). Errors and
// logs never show the DSN's password: database errors are [*Error] values
// naming the operation and table, with the password scrubbed from their
// text; a DSN that does not parse is reported as [ErrInvalid] with the
// reason but without the DSN.
//
// # Schema
//
// Everything lives in one PostgreSQL schema, "mpsync" unless
// Options.Schema says otherwise, which Migrate creates if it is missing:
//
//	ledger  id bigint identity primary key,
//	        at timestamptz, at_ns smallint,      -- the record's Time
//	        kind, grp, pack, version, sha256 text -- the fields a query selects on
//	        record jsonb                          -- the whole ledger.Record
//	lease   name text primary key, holder text,
//	        acquired_at timestamptz, expires_at timestamptz
//
// The ledger keeps the whole record as JSON, so a field added to
// [ledger.Record] later round-trips without a migration; the other
// columns exist to be indexed. at holds the time to the microsecond, which
// is all timestamptz keeps, and at_ns the nanoseconds below it, so that
// queries order and filter by Time exactly as [ledger.Query.Match]
// does. Migrate uses CREATE ... IF NOT EXISTS under an advisory lock: it is
// idempotent and several servers may run it at once.
//
// # Sharing evidence between groups
//
// Every management group's engine appends to the same ledger table; a
// record's Group says which group it came from. A promotion approver in
// production asks the ledger which results QA recorded for a pack, version
// and hash:
//
//	promo, err := approval.NewPromotion(db.Ledger(), "QA", 72*time.Hour)
//
// Query turns a [ledger.Query] into a parameterised WHERE clause —
// values travel as query arguments, never in the SQL text — and returns
// records oldest first, records with equal times in the order they were
// appended (the identity column). The index on (grp, pack, at) serves the
// promotion approver's question. PostgreSQL cannot store a NUL byte in text
// or jsonb, so Append refuses a record with one ([ledger.ErrInvalidRecord],
// naming the field); invalid UTF-8 is stored as encoding/json encodes it,
// with each bad byte replaced by U+FFFD.
//
// # The lease
//
// [DB.Lease] returns the lease of one name; use the management group's
// name, and give each management server its own Options.Holder. Before each
// scheduled run the engine calls Acquire, a single statement:
//
//	INSERT INTO lease ... VALUES (name, holder, now, now + ttl)
//	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, ...
//	WHERE lease.holder = excluded.holder OR lease.expires_at <= now
//	RETURNING holder
//
// A row comes back only when the caller now holds the lease: it was free,
// it had expired, or the caller already held it and has just renewed it.
// PostgreSQL serialises concurrent statements on the row, so of several
// servers asking at once exactly one wins. A holder that stops renewing
// (its server is down) loses the lease when ttl has passed, and the next
// server to ask takes it. Release deletes the row if the caller holds it.
// [Lease.State] tells who holds a lease and since when, for status pages.
//
// # Fencing
//
// A holder paused past its lease (GC, SIGSTOP, a frozen VM) may resume
// believing it still holds it. [DB.FencedLedger] returns a ledger whose
// appends carry a fencing token and are made, in the same statement, only
// while it is the lease's current one ([ErrFenced] otherwise, nothing
// appended). The token column and the trigger that moves it are
// mpsync/pgstore's; pgstore.Store.Ledger returns such a ledger, fenced by
// the store's lease.
//
// # Clock
//
// By default lease times come from the database server's clock (now()), so
// management servers whose clocks disagree still agree on when a lease
// expires. Options.Now replaces it, for tests and staging pipelines that
// drive engines with a manual clock; every server sharing a lease must then
// use the same clock. Ledger times are the records' own Time fields, set
// by the engines from their clocks.
//
// # Concurrency
//
// A [DB], its [Ledger] and its [Lease] values are safe for concurrent use.
// Every call takes a context and stops when it is done. After [DB.Close]
// calls fail with [ErrClosed].
package pgledger
