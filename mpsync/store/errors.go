package store

import (
	"errors"
	"strings"
)

// OpError is the error every store operation returns: it names the
// operation, the pack id or meta record name, the step that failed and, for
// [Dir], the file involved. Match causes with errors.Is ([storage.ErrNotFound],
// [storage.ErrMismatch], [pack.ErrIdentity], [pack.ErrMalformed], [pack.ErrInvalidID],
// [storage.ErrInvalidName], [storage.ErrClosed], context.Canceled, ...) and read the fields
// with errors.As.
type OpError struct {
	// Op is the operation: "open", "list", "get", "import", "remove",
	// "rollback", "read meta", "write meta", "append meta".
	Op string
	// ID is the pack id or meta record name the operation was for, if any.
	ID string
	// Step is the step that failed, e.g. "receive", "check", "validate",
	// "sync", "rename", "index".
	Step string
	// Path is the file involved, if any.
	Path string
	// Err is the cause.
	Err error
}

// Error returns "store: <op> <id>: <step>: <path>: <cause>", leaving out
// empty parts.
func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString("store: ")
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	if e.Step != "" {
		b.WriteString(": ")
		b.WriteString(e.Step)
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

func opErr(op, id, step, path string, err error) error {
	return &OpError{Op: op, ID: id, Step: step, Path: path, Err: err}
}

// ErrLocked is returned by OpenDir and Rebuild when another process holds
// the store directory and did not let go within the lock timeout.
var ErrLocked = errors.New("store directory is in use by another process")

// ErrShared is returned by the pack changes of a Dir opened with
// [DirOptions.Shared].
var ErrShared = errors.New("store is open beside its holder (DirOptions.Shared): packs cannot be changed")

// ErrDamaged is wrapped when the store's database cannot be read or a pack
// file it names is missing; [Rebuild] recovers from it.
var ErrDamaged = errors.New("store is damaged")

// ErrOldFormat is returned by OpenDir for a directory written by the
// earlier index.json layout.
var ErrOldFormat = errors.New("store directory uses the earlier index.json layout")
