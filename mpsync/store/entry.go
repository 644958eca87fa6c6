package store

import "mpsync.dev/mpsync/storage"

// The store contract lives in [mpsync.dev/mpsync/storage]; these names are
// kept so that programs written against earlier releases still build.
type (
	// Owner is [storage.Owner].
	//
	// Deprecated: use storage.Owner.
	Owner = storage.Owner
	// Provenance is [storage.Provenance].
	//
	// Deprecated: use storage.Provenance.
	Provenance = storage.Provenance
	// Entry is [storage.Entry].
	//
	// Deprecated: use storage.Entry.
	Entry = storage.Entry
	// Previous is [storage.Previous].
	//
	// Deprecated: use storage.Previous.
	Previous = storage.Previous
	// ImportRequest is [storage.ImportRequest].
	//
	// Deprecated: use storage.ImportRequest.
	ImportRequest = storage.ImportRequest
)

const (
	// OwnerWorkspace is [storage.OwnerWorkspace].
	//
	// Deprecated: use storage.OwnerWorkspace.
	OwnerWorkspace = storage.OwnerWorkspace
	// OwnerCustom is [storage.OwnerCustom].
	//
	// Deprecated: use storage.OwnerCustom.
	OwnerCustom = storage.OwnerCustom
)

var (
	// ErrNotFound is [storage.ErrNotFound].
	//
	// Deprecated: use storage.ErrNotFound.
	ErrNotFound = storage.ErrNotFound
	// ErrMismatch is [storage.ErrMismatch].
	//
	// Deprecated: use storage.ErrMismatch.
	ErrMismatch = storage.ErrMismatch
	// ErrClosed is [storage.ErrClosed].
	//
	// Deprecated: use storage.ErrClosed.
	ErrClosed = storage.ErrClosed
	// ErrInvalidName is [storage.ErrInvalidName].
	//
	// Deprecated: use storage.ErrInvalidName.
	ErrInvalidName = storage.ErrInvalidName
	// ErrPartialAppend is [storage.ErrPartialAppend].
	//
	// Deprecated: use storage.ErrPartialAppend.
	ErrPartialAppend = storage.ErrPartialAppend
)
