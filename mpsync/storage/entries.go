package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// The steps of an import [Receive] names when it fails.
const (
	// StepReceive: reading the bytes failed.
	StepReceive = "receive"
	// StepCheck: the bytes are not what the request expects (size, hash,
	// the size limit).
	StepCheck = "check"
	// StepValidate: the document is not a valid pack of the identity the
	// request expects ([ReceivePack]).
	StepValidate = "validate"
)

// CheckImportRequest refuses a request that cannot be imported whatever the
// bytes: an unusable id ([pack.CheckID]), a malformed hash, a negative size
// or an unknown owner.
func CheckImportRequest(req ImportRequest) error {
	if err := pack.CheckID(req.ID); err != nil {
		return err
	}
	if req.SHA256 != "" && !IsSHA256(req.SHA256) {
		return fmt.Errorf("ImportRequest.SHA256 %q is not 64 lower-case hex digits", req.SHA256)
	}
	if req.Size < 0 {
		return fmt.Errorf("ImportRequest.Size is negative (%d)", req.Size)
	}
	switch req.Provenance.Owner {
	case "", OwnerWorkspace, OwnerCustom:
	default:
		return fmt.Errorf("ImportRequest.Provenance.Owner %q is neither %q nor %q", req.Provenance.Owner, OwnerWorkspace, OwnerCustom)
	}
	return nil
}

// IsSHA256 reports whether s is a SHA-256 as stores write it: 64
// lower-case hex digits.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Receive copies r to w while hashing and counting, stops past the expected
// size or maxBytes, and checks the size and the hash against req. It
// returns the hex SHA-256, the count and, on error, the step that failed
// ([StepReceive] or [StepCheck]). Reads stop promptly once ctx ends.
func Receive(ctx context.Context, req ImportRequest, r io.Reader, w io.Writer, maxBytes int64) (sum string, n int64, step string, err error) {
	limit := maxBytes
	if req.Size > 0 && req.Size < limit {
		limit = req.Size
	}
	h := sha256.New()
	buf := make([]byte, 64<<10)
	n, err = io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(ctxReader{ctx, r}, limit+1), buf)
	if err != nil {
		return "", n, StepReceive, err
	}
	if n > limit {
		if req.Size > 0 && n > req.Size {
			return "", n, StepCheck, fmt.Errorf("%w: more than the expected %d bytes", ErrMismatch, req.Size)
		}
		return "", n, StepCheck, fmt.Errorf("%w: document is larger than %d bytes (pack.Limits.MaxBytes)", pack.ErrMalformed, maxBytes)
	}
	if req.Size > 0 && n != req.Size {
		return "", n, StepCheck, fmt.Errorf("%w: %d bytes, expected %d", ErrMismatch, n, req.Size)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if req.SHA256 != "" && sum != req.SHA256 {
		return sum, n, StepCheck, fmt.Errorf("%w: sha256 %s, expected %s", ErrMismatch, sum, req.SHA256)
	}
	return sum, n, "", nil
}

// ctxReader fails reads once ctx is done, so a long copy stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ValidatePack validates the whole pack in r ([pack.Validate], either form)
// against the identity req expects; a document of another identity is
// refused with an error wrapping [ErrMismatch] and [pack.ErrIdentity].
func ValidatePack(r io.Reader, req ImportRequest, lim pack.Limits) (pack.Manifest, error) {
	m, err := pack.Validate(r, pack.Expect{ID: req.ID, Version: req.Version}, lim)
	return m, checkValidated(m, err, req)
}

// checkValidated is ValidatePack's verdict on what pack.Validate returned.
func checkValidated(m pack.Manifest, err error, req ImportRequest) error {
	if err != nil {
		if errors.Is(err, pack.ErrIdentity) {
			return fmt.Errorf("%w: %w", ErrMismatch, err)
		}
		return err
	}
	if m.ID != req.ID {
		// Validate checks a non-empty expected id; this guards the contract.
		return fmt.Errorf("%w: %w: document declares %s, expected %s", ErrMismatch, pack.ErrIdentity, m.ID, req.ID)
	}
	return nil
}

// ReceivePack is [Receive] and [ValidatePack] in one pass over r: the bytes
// are copied to w, hashed, counted and validated as they stream (the
// validation runs on its own goroutine, fed by a [pack.Validator]), so a
// store reads what it receives once instead of writing it and reading it
// back. The errors are those of Receive then ValidatePack, in that order
// (a body of the wrong size or hash is refused as a mismatch even when it
// is also not a valid pack), with [StepValidate] for the second.
func ReceivePack(ctx context.Context, req ImportRequest, r io.Reader, w io.Writer, maxBytes int64, lim pack.Limits) (m pack.Manifest, sum string, n int64, step string, err error) {
	v := pack.NewValidator(pack.Expect{ID: req.ID, Version: req.Version}, lim)
	sum, n, step, err = Receive(ctx, req, r, io.MultiWriter(w, v), maxBytes)
	m, verr := v.Close()
	if err != nil {
		return pack.Manifest{}, sum, n, step, err
	}
	if err := checkValidated(m, verr, req); err != nil {
		return m, sum, n, StepValidate, err
	}
	return m, sum, n, "", nil
}
