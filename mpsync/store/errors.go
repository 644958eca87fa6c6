package store

import "strings"

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
