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
//	path/lock                     the lock file (holds the pid of the holder)
//	path/index.json               the index: every Entry, sorted by id
//	path/packs/<id>/<sha256>.xml  the pack files, named by content hash
//	path/packs/<id>/<sha256>.json the sidecar of each pack file
//	path/meta/<name>              meta records
//	path/quarantine/              files set aside by OpenDir, never deleted
//
// Pack files are content-addressed: a new version is written under a new
// name beside the current one, so importing never overwrites a file the
// index refers to, and a rollback rewrites only the restored file's sidecar
// and the index. Ids name
// directories, which is why they are restricted to A-Z a-z 0-9 . _ - and,
// in a Dir, to 255 bytes.
//
// Each pack file's sidecar is one line of JSON holding what only the index
// would otherwise know about that file, so that a rebuild can restore it:
//
//	{"format":1,"id":"Contoso.Example","version":"1.1.0.0","name":"Contoso Example",
//	 "sha256":"9f2c…","size":48213,"importedAt":"2026-11-24T09:00:00Z",
//	 "owner":"workspace","workspaceId":"…","rule":"…","solution":"…",
//	 "generation":2}
//
// (on one line on disk). The id, version, name, hash and size repeat what
// the file says, so a sidecar can be checked against the file beside it.
// The generation records when the file became its pack's current version:
// each pack counts the files that became current, by an import of new bytes
// (or of the previous version's bytes) or by a rollback, and the file that
// became current gets the next count. The current file's generation is
// therefore always above the previous file's, whatever their versions,
// which is how a rebuild tells which of the two is current after a rollback
// or after an operator imported a lower version. Sidecars written before
// generations existed have none; OpenDir adds them from the index.
// The index stays the commit point: [Dir.List] and [Dir.Get] answer from the
// index held in memory; they never read pack files or sidecars. OpenDir
// rewrites a sidecar that is missing (a store written before sidecars
// existed) or disagrees with the index.
//
// # Atomicity and crashes
//
// An import runs in this order:
//
//  1. stream the bytes into packs/.tmp-import-* while hashing and counting;
//  2. check size and hash, validate the document, fsync the file;
//  3. rename it to packs/<id>/<sha256>.xml and fsync the directory;
//  4. write its sidecar packs/<id>/<sha256>.json, recording the pack's next
//     generation (the same one when the bytes are already current): a
//     temporary file in the same directory, fsync, rename, fsync of the
//     directory (an import of bytes the store holds already rewrites that
//     file's sidecar);
//  5. write the new index to .tmp-index-*, fsync it, rename it over
//     index.json and fsync the directory: the commit point;
//  6. delete the pack file no entry refers to any more (the version two
//     imports old) and its sidecar.
//
// A crash before the rename in step 5 leaves the old index, which does not
// refer to the new file; a crash after it leaves the new index, whose files
// and sidecars were all synced before. Either way the index and the pack
// files agree, and no entry can point at half a pack. [OpenDir] deletes what
// an interrupted change leaves behind: temporary files, pack files the index
// does not refer to, and their sidecars; a sidecar rewritten in step 4 of an
// import (or a rollback) that did not commit is rewritten from the index,
// and if its generation is then above the current file's, the current
// file's sidecar is rewritten with a higher one: generations never go down,
// and a rebuild after any crash point finds the index that was committed.
// An error (rather
// than a crash) at any step before the commit undoes steps 1 to 4, so the
// store is exactly as it was, on disk and in memory. If the index was
// renamed into place but its directory could not be synced, the old index is
// put back; if even that fails, the Dir refuses further use until it is
// reopened. Remove commits the same way (step 5), then deletes the pack's
// files and their sidecars. Rollback first rewrites the sidecar of the file
// it restores, recording the pack's next generation, as in step 4 (with the
// same undo on error), then commits as in step 5; the other file's sidecar
// stays as it is (each describes its own file).
//
// [Dir.WriteMeta] replaces a record atomically (temporary file, fsync,
// rename, fsync of the directory). [Dir.AppendMeta] opens the record with
// O_APPEND, writes and fsyncs: a crash may leave the last append incomplete,
// never an earlier one. An append that fails (rather than crashes) after
// some of its bytes may have reached the record cuts the record back to its
// former length (or deletes the record it created), so an error means
// nothing was appended; if even that fails the error wraps
// [storage.ErrPartialAppend], and the record may end with part of the data. Record
// names follow [CheckMetaName].
//
// # Locking and a second process
//
// A management group has several management servers, and any of them may
// run the rules; only one process may change a store directory at a time.
// [OpenDir] takes an exclusive flock(2) on path/lock without waiting and
// keeps it until [Dir.Close]. A second OpenDir of the same directory, from
// another process or from this one, fails at once with an error wrapping
// [ErrLocked] that names the lock file and the pid that holds it; retry
// later or stop the other process. The kernel releases the lock when the
// holder exits, even when it crashes, so there is no stale lock to clean up.
// flock is advisory and works on local file systems; on NFS its behaviour
// depends on the server. On platforms without flock (Windows, Solaris)
// OpenDir takes no lock and logs a warning. Within one process a Dir is safe
// for concurrent use: imports stream and validate in parallel and commit one
// at a time.
//
// # Rebuild and quarantine
//
// When index.json is missing, or cannot be decoded, or holds impossible
// entries, OpenDir rebuilds it from the pack files, reading only their
// manifests ([mpsync.dev/mpsync/pack.ReadManifest]) and sidecars, and
// checking each file's hash against its name. For each id the file whose
// sidecar records the highest generation becomes current and the next one
// previous, so a rolled-back pack, or a lower version an operator imported,
// stays current. When a file of the id has no usable sidecar or its sidecar
// no generation (a store written before generations existed), nothing says
// which file is current: the highest version becomes current, the newest
// file (modification time) on a tie, and a rolled-back pack comes back at
// its higher version, each version with its own provenance.
// Each kept file takes its provenance (owner, workspace id, rule, solution)
// and import time from its sidecar, which must name the same id, hash, size
// and version as the file; workspace packs stay workspace packs, custom packs
// stay custom. A file without a usable sidecar (none, as in a store written
// before sidecars existed, or one that cannot be read or does not match) is
// recorded as [storage.OwnerCustom], imported at its modification time: the engine
// will not upgrade or remove it until an operator re-adopts it. An unusable
// sidecar is quarantined, and a new one recording what the rebuilt index
// says is written. A corrupt index.json is moved to the quarantine first.
// OpenDir logs the rebuild at Warn level, and each file recorded as custom
// with the reason, and reports it in [Dir.Report] ([OpenReport.Rebuilt],
// [OpenReport.Adopted], [OpenReport.Restored] for the packs whose provenance
// came back, [OpenReport.Unrestored] for each file recorded as custom, and
// why). An index written by a newer format is refused, not rebuilt, so that
// it is never overwritten.
//
// A file that does not belong to the layout, a pack file whose content does
// not match its name or whose manifest cannot be read or declares another
// id, and the file of an index entry whose size is wrong, are moved to
// path/quarantine/ together with their sidecars, with the reason written
// beside each in a ".reason" file and logged. OpenDir never deletes a file
// it did not write; it deletes only its own temporary files, pack files no
// index entry refers to, and sidecars without such a pack file. A pack file
// without a sidecar is not an error; OpenDir writes the sidecar from the
// index.
package store
