package mpsync

import (
	"context"
	"io"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// Store holds the management packs imported into a management group, with
// the provenance of each, and small named metadata records (the connection,
// pending approvals, run history) that the engine keeps beside them.
//
// [store.Dir] (a directory on disk, the embedded default) and [store.Memory]
// implement it; [mpsync.dev/mpsync/store/storetest.Run] checks any
// implementation against the contract below.
//
// Contract: every method is safe for concurrent use. Import is atomic: it
// reads the whole document, checks it against the request (id, version, size,
// hash) and validates it before anything changes, and on any error the store
// is exactly as it was. A successful Import of an id that is present replaces
// it and keeps the replaced version for Rollback. List returns entries sorted
// by id. Missing packs and records are reported with [storage.ErrNotFound].
type Store interface {
	// List returns every imported pack, sorted by id.
	List(ctx context.Context) ([]storage.Entry, error)
	// Get returns the imported pack with the given id.
	Get(ctx context.Context, id string) (storage.Entry, error)
	// Open returns the bytes of the imported pack with the given id.
	Open(ctx context.Context, id string) (io.ReadCloser, error)
	// Import reads a pack from r, checks it against req and imports it.
	Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error)
	// Remove deletes the pack with the given id and any previous version kept
	// for it.
	Remove(ctx context.Context, id string) error
	// Rollback restores the previous version kept for id; the current version
	// becomes the previous one.
	Rollback(ctx context.Context, id string) (storage.Entry, error)
	// ReadMeta returns the metadata record with the given name.
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	// WriteMeta replaces the metadata record with the given name atomically.
	WriteMeta(ctx context.Context, name string, data []byte) error
	// AppendMeta appends data to the metadata record with the given name,
	// creating it if needed. A crash may leave the last append incomplete,
	// never an earlier one; an error means nothing was appended, unless it
	// wraps storage.ErrPartialAppend.
	AppendMeta(ctx context.Context, name string, data []byte) error
}

// CatalogResult is what a [Workspace] returns for a catalog request.
type CatalogResult struct {
	// Catalog is the catalog to plan from; nil only with an error.
	Catalog *catalog.Catalog
	// ETag is the entity tag the catalog was served with.
	ETag string
	// NotModified is true when the service answered 304 and Catalog is the
	// one held from before.
	NotModified bool
	// Stale is true when the service could not be reached and Catalog is the
	// last-known one; the engine never removes packs on a stale catalog.
	Stale bool
	// FetchedAt is when Catalog was last confirmed by the service.
	FetchedAt time.Time
	// Err is why the service could not be reached, when Stale.
	Err error
}

// Workspace is the service that says which packs a management group should
// have. [mpsync.dev/mpsync/workspace.Client] implements it over docs/protocol.md.
type Workspace interface {
	// ID returns the workspace id.
	ID() string
	// Catalog returns the workspace's catalog. When the service cannot be
	// reached and a last-known catalog is held, it returns that catalog with
	// Stale set and a nil error.
	Catalog(ctx context.Context) (CatalogResult, error)
	// Fetch downloads a pack the catalog lists and verifies its size, hash and
	// manifest identity. Closing the returned reader releases any temporary
	// file. An error matching [ErrUnavailable] says the service could not
	// be reached. After a Stale catalog the engine does not fetch packs
	// whose Href names no host (they resolve against the service's URL, as
	// docs/protocol.md has it), and of each other host it tries one pack
	// before the rest.
	Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error)
}

// Lease decides which of several processes may run the rules now. A
// management group has several management servers; when the one running the
// rules is down, another takes over (connection guide). Each engine names itself with
// Options.Holder and, before every scheduled run, asks the lease to let it
// hold the lease for a while longer; only the holder runs.
//
// With a directory store, one process at a time opens the store, so a
// single process needs no Lease (Options.Lease nil). Engines on several
// servers that share a database-backed store and ledger share a Lease, such
// as the PostgreSQL one in [mpsync.dev/mpsync/pgledger].
type Lease interface {
	// Acquire makes holder the holder until ttl from now, if the lease is
	// free, expired, or already held by holder, and reports whether holder
	// holds it.
	Acquire(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// Release gives the lease up if holder holds it.
	Release(ctx context.Context, holder string) error
}

// SettingsSource supplies each rule's effective settings ([rules.Settings]:
// Enabled and Frequency, each with the override that set it). The engine
// asks before every run and every scheduling decision, so a source whose
// inputs change (an override pack edited on disk) is followed without a
// restart; make Settings cheap when nothing changed. Implementations must
// be safe for concurrent use.
type SettingsSource interface {
	Settings(ctx context.Context, r rules.Rule) (rules.Settings, error)
}
