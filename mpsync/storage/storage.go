// Package storage is the contract between the engine and a store of
// imported management packs: the values a store records for each pack
// ([Entry], [Previous], [Provenance], [Owner]), the request an import is
// checked against ([ImportRequest]), and the sentinel errors callers branch
// on ([ErrNotFound], [ErrMismatch], ...). The engine's Store interface
// (mpsync.Store) is written in these types.
//
// It holds no implementation and imports only [mpsync.dev/mpsync/pack], so
// that a third-party store (a database, a test double) depends on the
// contract alone, not on the directory store's files and locks.
// mpsync.dev/mpsync/store implements it (a directory on disk, in memory);
// mpsync.dev/mpsync/store/storetest checks any implementation against it.
package storage

import (
	"errors"
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
}

var (
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
