// Package store keeps the management packs imported into a management group,
// with what the engine needs to know about each (identity, references, hash,
// provenance) and the version each import replaced, plus small named meta
// records the engine keeps beside them (the connection, approvals, run
// history).
//
// Two implementations satisfy [mpsync.dev/mpsync.Store]:
//
//   - [Dir], a directory on disk: the embedded default. Open it with
//     [OpenDir], Close it when done.
//   - [Memory], the same semantics in memory, for tests and dry runs:
//     [NewMemory].
//
// Any other implementation can be checked against the same contract with
// [mpsync.dev/mpsync/store/storetest.Run].
//
// # Importing
//
// [Dir.Import] and [Memory.Import] read the whole document before anything
// changes. The bytes are hashed (SHA-256) and counted as they arrive, then
// checked against the [storage.ImportRequest]: a size or hash other than the one
// expected fails with an error wrapping [storage.ErrMismatch]. The document is then
// validated whole with [mpsync.dev/mpsync/pack.Validate] within the
// configured [mpsync.dev/mpsync/pack.Limits]; a manifest declaring another
// id or version wraps both [storage.ErrMismatch] and pack.ErrIdentity, a malformed
// document pack.ErrMalformed. Only then is the pack committed. A pack id
// that fails [mpsync.dev/mpsync/pack.CheckID] is refused before any file is
// touched.
//
// Importing an id the store holds replaces it and keeps the replaced version
// as [Entry.Previous]; [Dir.Rollback] swaps the two back. Only one previous
// version is kept. Importing the bytes that are already current keeps the
// previous version as it was.
//
// Every error is an [*OpError] naming the operation, the pack id or record
// name, the step that failed and the file involved; match its cause with
// errors.Is.
//
// # Layout on disk
//
// A [Dir] at path holds:
//
//	path/store.db (-wal, -shm)  the SQLite database, in WAL mode, full syncs
//	path/lock                   the lock file; path/holder names the holder
//	path/packs/<sha256>         the pack files, named by content hash
//	path/incoming/              files staged by an import or a batch
//	path/quarantine/            what Rebuild set aside, never deleted
//
// The database holds the index (one row per pack: its [storage.Entry] with
// provenance, import time and previous version), the files the entries
// name, the files a commit replaced and has yet to delete, the meta records
// ([Dir.WriteMeta] replaces a row, [Dir.AppendMeta] appends one, so an
// append is whole or absent, never torn), and the report of the last
// [Rebuild]. Pack files are content-addressed: a new version is written
// under a new name, so a change never overwrites a file an entry names.
//
// # Why SQLite
//
// The store used to keep index.json, one JSON sidecar per pack file and
// hand-written crash recovery; every import rewrote and fsynced the whole
// index, so a cold sync cost more per pack the larger the store (36 ms per
// pack at 1,000 packs), and opening read every sidecar (70 ms at 1,000
// packs). Measured on the project's 2-core machine before choosing, for
// 1,000 records of 1 KB: one transaction, bbolt 16.6 ms, SQLite
// (modernc.org/sqlite) 10.1 ms; one transaction per record, bbolt 353 ms,
// SQLite 272 ms; opening a 10,000-record database and reading a record,
// bbolt 0.05 ms, SQLite 0.46 ms. Both are fast enough; SQLite was chosen
// because in WAL mode a second process reads while the first writes (bbolt's
// file lock keeps even a read-only opener out), which lets status, plan and
// approve run beside a scheduler ([DirOptions.Shared]). modernc.org/sqlite
// is pure Go, so the module cross-builds for Windows and macOS without a C
// toolchain.
//
// # Atomicity and crashes
//
// Every change to packs is a commit of one or more staged changes ([Dir.Import]
// and [Dir.Remove] are batches of one; [Dir.Batch] stages many):
//
//  1. an import streams its bytes into incoming/.tmp-* while hashing and
//     counting them, checks size and hash, validates the document and
//     renames the file to incoming/<sha256>-<n>: it is staged;
//  2. Commit syncs the staged files (one syncfs(2) of the file system on
//     Linux, one fsync per file elsewhere) and incoming/;
//  3. one database transaction records the new entries, the files they name
//     and, as garbage, the files no entry names any more; its commit is the
//     commit point;
//  4. the staged files move to packs/<sha256>, and packs/ is synced;
//  5. the garbage files are deleted, then forgotten.
//
// A crash before step 3 commits leaves the database as it was, and OpenDir
// deletes the staged files no entry names; a crash after it leaves the new
// database, whose files were synced before, and OpenDir moves the staged
// files the entries name into place (steps 4 and 5 are finished). No entry
// can point at half a pack. An error (rather than a crash) before the commit
// point deletes the staged files, so the store is exactly as it was; an
// error after it is logged and OpenDir finishes the work. [Dir.Rollback]
// swaps the current and previous versions in one transaction.
//
// OpenDir reads no entry and no pack file: what it checks costs what an
// interrupted change left, not the size of the store. [Dir.List] and
// [Dir.Get] read the index once and answer from memory until another
// process changes the database (PRAGMA data_version says when).
//
// # Locking and a second process
//
// A management group has several management servers, and any of them may
// run the rules; only one process may change a store directory at a time.
// [OpenDir] takes an exclusive lock on path/lock (flock on Unix, LockFileEx
// on Windows, through github.com/gofrs/flock) and keeps it until
// [Dir.Close]. A second OpenDir, from another process or this one, retries
// for up to [DirOptions.LockTimeout] ([DefaultLockTimeout]), then fails
// with an error wrapping [ErrLocked] naming the lock file and the holder
// recorded in path/holder (pid, host, since). The operating system releases
// the lock when the holder exits, even when it crashes. A Dir opened with
// [DirOptions.Shared] takes no lock: it reads beside the holder and writes
// meta records (SQLite serialises the writes), and refuses pack changes
// with [ErrShared]. Within one process a Dir is safe for concurrent use:
// imports stream and validate in parallel and commit one at a time.
//
// # Damage and recovery
//
// A database SQLite cannot read is an error wrapping [ErrDamaged] that names
// the file and says how to recover; so is a pack file an entry names that is
// missing. [Rebuild] is the recovery: it moves the old database to
// quarantine/, keeps what it can still read of it (entries whose files are
// there, with their provenance; the meta records), and records every other
// pack file from its manifest, as [storage.OwnerCustom], listing it in
// [OpenReport.Unrestored] — no owner or workspace is lost silently. A
// directory in the earlier index.json layout is refused with
// [ErrOldFormat]: start afresh (move it aside and sync again).
package store
