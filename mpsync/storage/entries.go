package storage

import (
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/pack"
)

// What every store does with entries the same way, so that the stores
// (mpsync/store's Dir and Memory, mpsync/pgstore) keep one set of rules:
// what an import records, what a rollback swaps, how names are checked.

// NewEntry is the entry a successful import of the pack m (with the
// hex SHA-256 sum and size bytes) records at time at, over old, the entry
// it replaces (nil when the id is new). An empty owner is recorded as
// OwnerCustom. Importing the bytes that are already current keeps the
// previous version as it was, so that a rollback still has somewhere to go;
// other bytes make old the previous version.
func NewEntry(req ImportRequest, m pack.Manifest, sum string, size int64, at time.Time, old *Entry) Entry {
	prov := req.Provenance
	if prov.Owner == "" {
		prov.Owner = OwnerCustom
	}
	e := Entry{
		ID: m.ID, Version: m.Version, Name: m.Name, References: slices.Clone(m.References),
		SHA256: sum, Size: size, Sealed: m.Sealed, PublicKeyToken: m.PublicKeyToken,
		ImportedAt: at.Round(0).UTC(), Provenance: prov,
	}
	if old != nil {
		if old.SHA256 == sum {
			e.Previous = old.Previous.Clone()
		} else {
			e.Previous = old.AsPrevious()
		}
	}
	return e
}

// RolledBack returns e with its current and previous versions swapped, or
// an error wrapping ErrNotFound when no previous version is kept.
func (e Entry) RolledBack() (Entry, error) {
	p := e.Previous
	if p == nil {
		return Entry{}, fmt.Errorf("%w: no previous version of %s is kept", ErrNotFound, e.ID)
	}
	return Entry{
		ID: e.ID, Version: p.Version, Name: p.Name, References: slices.Clone(p.References),
		SHA256: p.SHA256, Size: p.Size, Sealed: p.Sealed, PublicKeyToken: p.PublicKeyToken,
		ImportedAt: p.ImportedAt, Provenance: p.Provenance, Previous: e.AsPrevious(),
	}, nil
}

// AsPrevious returns e's current version as a previous version.
func (e Entry) AsPrevious() *Previous {
	return &Previous{
		Version: e.Version, Name: e.Name, SHA256: e.SHA256, Size: e.Size, ImportedAt: e.ImportedAt,
		References: slices.Clone(e.References), Sealed: e.Sealed, PublicKeyToken: e.PublicKeyToken,
		Provenance: e.Provenance,
	}
}

// Clone returns a copy of e sharing no memory with it, so that callers
// cannot change what a store holds.
func (e Entry) Clone() Entry {
	e.References = slices.Clone(e.References)
	e.Previous = e.Previous.Clone()
	return e
}

// Clone returns a copy of p sharing no memory with it; nil for nil.
func (p *Previous) Clone() *Previous {
	if p == nil {
		return nil
	}
	c := *p
	c.References = slices.Clone(p.References)
	return &c
}

// MaxMetaNameLength is the longest meta record name a store accepts, in
// bytes.
const MaxMetaNameLength = 128

// CheckMetaName reports whether name may name a meta record: 1 to
// [MaxMetaNameLength] characters from A-Z a-z 0-9 . _ -, not starting with a
// dot, in every store, so that records move between stores unchanged (and
// stay plain file names, with no separators, hidden files or ".."). Errors
// wrap [ErrInvalidName].
func CheckMetaName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxMetaNameLength:
		return fmt.Errorf("%w: %.40q... is %d bytes long, at most %d allowed", ErrInvalidName, name, len(name), MaxMetaNameLength)
	case name[0] == '.':
		return fmt.Errorf("%w: %q starts with a dot", ErrInvalidName, name)
	}
	for i, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q has %q at byte %d (allowed: A-Z a-z 0-9 . _ -)", ErrInvalidName, name, r, i)
		}
	}
	return nil
}
