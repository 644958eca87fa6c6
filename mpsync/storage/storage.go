// Package storage is the contract between the engine and a store of
// imported management packs: the values a store records for each pack
// ([Entry], [Previous], [Provenance], [Owner]), the request an import is
// checked against ([ImportRequest]), and the sentinel errors callers branch
// on ([ErrNotFound], [ErrMismatch], ...). The engine's Store interface
// (mpsync.Store) is written in these types.
//
// It holds no store, only the rules every store shares (NewEntry, RolledBack,
// CheckMetaName), and imports only [mpsync.dev/mpsync/pack], so
// that a third-party store (a database, a test double) depends on the
// contract alone, not on the directory store's files and locks.
// mpsync.dev/mpsync/store implements it (a directory on disk, in memory);
// mpsync.dev/mpsync/store/storetest checks any implementation against it.
//
// A store may also implement [Batcher]: its [Batch] stages a run's changes,
// each checked when staged, and makes them durable together at Commit with
// a bounded number of syncs, so that the first sync of a management group
// does not pay several fsyncs per pack. The engine uses a Batch when the
// store offers one.
package storage

import (
	"context"
	"errors"
	"io"
	"time"

	"mpsync.dev/mpsync/pack"
)

// Owner says who put a pack into the store, and so who may change it.
type Owner string

const (
	// OwnerWorkspace marks a pack imported by a rule for a workspace; sync may
	// upgrade and remove it.
	OwnerWorkspace Owner = "workspace"
	// OwnerCustom marks a pack an operator imported by hand; sync never
	// upgrades or removes it, whatever its name.
	OwnerCustom Owner = "custom"
)

// Provenance records where an imported pack came from.
type Provenance struct {
	Owner Owner `json:"owner"`
	// WorkspaceID is the workspace that wanted the pack (OwnerWorkspace only).
	WorkspaceID string `json:"workspaceId,omitempty"`
	// Rule is the full id of the rule that imported the pack.
	Rule string `json:"rule,omitempty"`
	// Solution is the solution a solution pack belongs to.
	Solution string `json:"solution,omitempty"`
}

// Entry is one imported pack as a store records it.
type Entry struct {
	ID         string           `json:"id"`
	Version    pack.Version     `json:"version"`
	Name       string           `json:"name,omitempty"`
	References []pack.Reference `json:"references,omitempty"`
	SHA256     string           `json:"sha256"`
	Size       int64            `json:"size"`
	// Sealed says whether the pack was read from a sealed .mp (SealedYes)
	// or from XML (SealedUnknown: an XML file does not say).
	Sealed pack.Sealed `json:"sealed,omitempty"`
	// PublicKeyToken is the key token a sealed pack was signed with, which
	// other packs' references name.
	PublicKeyToken string `json:"publicKeyToken,omitempty"`
	// ImportedAt is when the version was imported, in UTC.
	ImportedAt time.Time `json:"importedAt"`
	Provenance
	// Previous is the version this import replaced, kept for a rollback; nil
	// when there is none.
	Previous *Previous `json:"previous,omitempty"`
}

// Previous is the replaced version of a pack that a store keeps so that
// Rollback can restore it.
type Previous struct {
	Version pack.Version `json:"version"`
	// Name is the display name the previous version's manifest declared.
	Name       string           `json:"name,omitempty"`
	SHA256     string           `json:"sha256"`
	Size       int64            `json:"size"`
	ImportedAt time.Time        `json:"importedAt"`
	References []pack.Reference `json:"references,omitempty"`
	// Sealed and PublicKeyToken are as in [Entry].
	Sealed         pack.Sealed `json:"sealed,omitempty"`
	PublicKeyToken string      `json:"publicKeyToken,omitempty"`
	Provenance
}

// Manifest returns the identity and references recorded for the entry.
func (e Entry) Manifest() pack.Manifest {
	return pack.Manifest{ID: e.ID, Version: e.Version, Name: e.Name, References: e.References,
		Sealed: e.Sealed, PublicKeyToken: e.PublicKeyToken}
}

// ImportRequest describes a pack to import. The pack's bytes are read from
// the reader given with it; the store checks them against what is expected
// here before anything replaces what is imported.
type ImportRequest struct {
	// ID is the pack id the document must declare.
	ID string
	// Version, when not zero, is the version the document must declare.
	Version pack.Version
	// SHA256, when set, is the lower-case hex digest the bytes must have.
	SHA256 string
	// Size, when positive, is the exact byte length expected.
	Size int64
	// Provenance is recorded with the entry; an empty Owner is recorded as
	// OwnerCustom, so that sync never changes a pack nobody claimed.
	Provenance Provenance
	// Time is the import time recorded; zero means the store's clock.
	Time time.Time
	// Rewrite asks the store to write the bytes it receives (once checked
	// and validated, as always) even when it already holds bytes under the
	// same SHA-256, replacing them in the same commit: the repair of a
	// stored copy that no longer matches its recorded hash, in one atomic
	// step (the engine's Import sets it when it finds a tampered copy). A
	// store that keeps a file or blob per hash replaces it atomically, so
	// that the pack is never missing, after a crash too; a store that
	// always writes what it receives has nothing more to do. A store that
	// ignores it keeps its copy, which the engine then finds still
	// tampered.
	Rewrite bool
}

// Batcher is implemented by a store that can stage several changes and make
// them durable together, with a bounded number of syncs however many packs
// they touch. The engine stages a run's approved imports and removals, in
// dependency order, in one [Batch] and commits it once at the end of the
// run; a store without Batcher is changed one call at a time.
type Batcher interface {
	// Batch starts an empty batch. Nothing it stages is visible through
	// the store until Commit.
	Batch(ctx context.Context) (Batch, error)
}

// Batch is a set of staged changes to a store that becomes durable at once.
//
// Semantics, which every implementation keeps:
//
//   - Each change is checked when it is staged. Import reads the whole
//     document, checks it against the request (id, version, size, hash) and
//     validates it exactly as the store's Import does; Remove checks that
//     the pack is there (in the store, or staged by this batch). A change
//     that fails is refused with the error the store's method would return
//     and left out; the changes staged before it stay staged, and the batch
//     stays usable.
//   - Staged changes apply in the order they were staged. [Batch.List] and
//     [Batch.Get] answer as the store will after Commit (the store as it is
//     now with the staged changes applied), so a caller can check
//     dependencies between the changes it stages.
//   - Commit makes every staged change durable together, with a number of
//     syncs that does not grow with the number of changes (the directory
//     store: one database commit and one file-system sync on Linux). When it
//     returns nil, all of them are in the store; when it returns an error,
//     none of them is, and the store is as it was. A crash before Commit
//     returns leaves the store exactly as before the batch, or, once the
//     commit point is passed, exactly as after it; never a mix, and never
//     half a pack.
//   - Discard drops every staged change; the store is as it was. Discard
//     after Commit does nothing, so `defer b.Discard()` is the idiom. Any
//     other method called after Commit or Discard returns an error wrapping
//     [ErrBatchDone].
//
// A Batch is safe for concurrent use: the engine stages the imports of
// different packs from several goroutines at once (receiving, hashing and
// validating is CPU work), and stages a removal only once every import
// staged before it in plan order has returned. Changes made through the
// store itself while a batch is open are seen by Commit, which applies the
// staged changes on top of them.
type Batch interface {
	// List returns every pack as the store will hold them after Commit,
	// sorted by id.
	List(ctx context.Context) ([]Entry, error)
	// Get returns the pack with the given id as the store will hold it
	// after Commit, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Entry, error)
	// Import reads, checks and validates a pack from r and stages it. The
	// entry returned is the one Commit will record.
	Import(ctx context.Context, req ImportRequest, r io.Reader) (Entry, error)
	// Remove stages the removal of the pack with the given id and of any
	// previous version kept for it.
	Remove(ctx context.Context, id string) error
	// Commit makes the staged changes durable together, or none of them.
	Commit(ctx context.Context) error
	// Discard drops the staged changes.
	Discard()
}

var (
	// ErrBatchDone is returned by a [Batch] used after Commit or Discard.
	ErrBatchDone = errors.New("batch already committed or discarded")
	// ErrNotFound is returned for a pack, previous version or meta record the
	// store does not hold.
	ErrNotFound = errors.New("not found in store")
	// ErrMismatch is wrapped when a pack's bytes differ from what the
	// ImportRequest expected (id, version, size or hash).
	ErrMismatch = errors.New("pack does not match what was expected")
	// ErrClosed is returned by a store used after it was closed.
	ErrClosed = errors.New("store is closed")
	// ErrInvalidName is wrapped when a meta record name is empty, too long,
	// starts with a dot or holds characters outside A-Z a-z 0-9 . _ -.
	ErrInvalidName = errors.New("invalid meta record name")
	// ErrPartialAppend is wrapped when AppendMeta failed after data may have
	// reached the record and the record could not be put back as it was: it
	// may end with part or all of the data. Any other AppendMeta error leaves
	// the record as it was.
	ErrPartialAppend = errors.New("meta record may hold part of the failed append")
)

// Generationer is implemented by a store that can say cheaply whether its
// packs changed: Generation returns a number that differs from every
// earlier answer once a pack was imported, removed or rolled back (through
// the store, a [Batch], or another process sharing it), so that equal
// numbers mean List would answer the same. Writes of metadata records need
// not change it. The engine reuses its last plan while the catalog, the
// settings, the approvals and the generation are unchanged; a store without
// Generationer is listed on every run and its listing compared with the
// last one.
type Generationer interface {
	Generation(ctx context.Context) (uint64, error)
}
