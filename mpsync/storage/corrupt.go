package storage

import (
	"errors"
	"fmt"
)

// CorruptSuffix is appended to a metadata record's name for the copy of a
// corrupt record set aside (connection.json.corrupt): the bytes as they
// were, for a person to look at. A later copy replaces an earlier one.
const CorruptSuffix = ".corrupt"

// ErrCorruptRecord is matched by a [*CorruptRecordError].
var ErrCorruptRecord = errors.New("metadata record is corrupt")

// CorruptRecordError is a metadata record in the store that does not
// decode: the connection (connection.json), the run history (runs.json),
// the changes the last runs left pending (pending.json), or an approval
// queue (approval.ManualRecord). It names the record and says how to
// recover; it matches [ErrCorruptRecord] and unwraps to the decoding
// error.
//
// Regression (issue 15, point 5): a corrupt connection record made every
// command fail until the file was deleted by hand; a corrupt run or
// pending record made Status fail while a sync silently replaced it.
type CorruptRecordError struct {
	// Record is the record's name in the store.
	Record string
	// Recovery says what to do, in words an operator reads.
	Recovery string
	// Err is why it does not decode.
	Err error
}

// Error names the record, why it does not decode and the recovery.
func (e *CorruptRecordError) Error() string {
	return fmt.Sprintf("metadata record %s in the store is corrupt (%v); %s", e.Record, e.Err, e.Recovery)
}

// Unwrap returns the decoding error.
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrCorruptRecord].
func (e *CorruptRecordError) Is(target error) bool { return target == ErrCorruptRecord }
