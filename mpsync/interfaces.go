package mpsync

import (
	"context"
	"io"
	"time"

	"mpsync.dev/mpsync/plan"

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
	// file.
	Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error)
}

// Decision is an approver's answer for one change.
type Decision struct {
	Verdict plan.Verdict `json:"verdict"`
	// Reason says why, in words an operator reads in a report.
	Reason string `json:"reason,omitempty"`
	// NotBefore, for Defer, is the earliest time the change may be approved.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// By names the approver (or person) that decided.
	By string `json:"by,omitempty"`
}

// ApprovalRequest is what an [Approver] decides on.
type ApprovalRequest struct {
	// Change is the change to decide on; Change.ID binds the decision to its
	// exact rule, pack, target version and hash.
	Change Change
	// Group is the management group the change is for.
	Group string
	// WorkspaceID is the workspace the change comes from.
	WorkspaceID string
	// Now is the engine's clock reading; approvers use it, not time.Now.
	Now time.Time
}

// Approver decides whether a change may be applied. Implementations are in
// [mpsync.dev/mpsync/approval]. Decide must be safe for concurrent use.
type Approver interface {
	Decide(ctx context.Context, req ApprovalRequest) (Decision, error)
}

// ApprovalVersioner is implemented by an approver whose answers on the
// changes it deferred or denied can change only when ApprovalVersion's
// number changes (a person approved in a queue, a policy was edited) or when
// a deferral's [Decision].NotBefore passes. When the catalog, the store and
// the settings are unchanged too, a run then reuses the previous plan and
// asks the approver nothing; an approver without it (or whose
// ApprovalVersion fails) is asked again about every pending and denied
// change on every run, as a full run would. The number must change for
// decisions taken by any process sharing the approver's state.
type ApprovalVersioner interface {
	ApprovalVersion(ctx context.Context) (uint64, error)
}

// ApproverFunc adapts a function to [Approver].
type ApproverFunc func(ctx context.Context, req ApprovalRequest) (Decision, error)

// Decide calls f.
func (f ApproverFunc) Decide(ctx context.Context, req ApprovalRequest) (Decision, error) {
	return f(ctx, req)
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
