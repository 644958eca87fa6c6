package ledger

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidRecord is wrapped by Append when a record lacks a field every
	// record needs (Kind, Time).
	ErrInvalidRecord = errors.New("invalid ledger record")
	// ErrCorrupt is matched (with errors.Is) by every [*CorruptError].
	ErrCorrupt = errors.New("ledger record is corrupt")
)

// CorruptError reports a line of a [Store]'s record that is not a JSON
// ledger record (other than a cut-short last line, which is skipped).
type CorruptError struct {
	// Name is the metadata record read, such as "ledger.jsonl".
	Name string
	// Line is the 1-based line number of the bad line.
	Line int
	// Err is the decoding error.
	Err error
}

// Error names the record, the line and the cause.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("ledger: %s line %d: %v", e.Name, e.Line, e.Err)
}

// Unwrap returns the decoding error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrCorrupt].
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
