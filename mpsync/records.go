package mpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"mpsync.dev/mpsync/storage"
)

// record is one JSON metadata record the engine keeps in the store beside
// the packs. Its name is part of the store's layout, not of the API: every
// read and write of a record goes through here, so the name, the encoding,
// the "not there yet" case and the "corrupt" case live in one place.
type record[T any] struct {
	name string
	// recovery says what an operator does about a corrupt copy, for
	// [CorruptRecordError.Recovery].
	recovery string
}

// The engine's records. The ledger's append-only record is
// [ledgerRecordName], kept by [StoreLedger].
var (
	connectionRecord = record[Connection]{name: "connection.json",
		recovery: "connect again (Engine.Connect, mpsync connect): it sets the corrupt record aside as connection.json" + CorruptSuffix +
			" and binds the store to the configured workspace"}
	runsRecord = record[runHistory]{name: "runs.json",
		recovery: "the next run sets it aside as runs.json" + CorruptSuffix + " and starts the run history afresh, " +
			"or Engine.Repair (mpsync repair) does so now"}
	pendingRecord = record[[]Change]{name: "pending.json",
		recovery: "the next run sets it aside as pending.json" + CorruptSuffix + " and lists the changes that wait afresh, " +
			"or Engine.Repair (mpsync repair) does so now; approvals an operator gave are in the approval queue, not here"}
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

// read returns the record's value; found is false, with a zero value and no
// error, when the store holds no such record. A record that does not
// decode is a [*CorruptRecordError].
func (r record[T]) read(ctx context.Context, s Store) (v T, found bool, err error) {
	v, _, found, err = r.readRaw(ctx, s)
	return v, found, err
}

// readRaw is read that also returns the record's bytes, so that a corrupt
// record can be set aside.
func (r record[T]) readRaw(ctx context.Context, s Store) (v T, raw []byte, found bool, err error) {
	b, err := s.ReadMeta(ctx, r.name)
	if errors.Is(err, storage.ErrNotFound) {
		return v, nil, false, nil
	}
	if err != nil {
		return v, nil, false, fmt.Errorf("read %s: %w", r.name, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, b, false, &CorruptRecordError{Record: r.name, Recovery: r.recovery, Err: err}
	}
	return v, b, true, nil
}

// write replaces the record with v atomically.
func (r record[T]) write(ctx context.Context, s Store, v T) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", r.name, err)
	}
	if err := s.WriteMeta(ctx, r.name, b); err != nil {
		return fmt.Errorf("write %s: %w", r.name, err)
	}
	return nil
}

// setAside copies the bytes of a corrupt record to its name with
// [CorruptSuffix], so that nothing in it is lost when the record is
// written afresh.
func (r record[T]) setAside(ctx context.Context, s Store, raw []byte) error {
	if err := s.WriteMeta(ctx, r.name+CorruptSuffix, raw); err != nil {
		return fmt.Errorf("set the corrupt %s aside as %s: %w", r.name, r.name+CorruptSuffix, err)
	}
	return nil
}

// setAsider is a record, whatever its type, as setAsideCorrupt sees it.
type setAsider interface {
	recordName() string
	setAsideRaw(ctx context.Context, s Store, raw []byte) error
}

func (r record[T]) recordName() string { return r.name }

func (r record[T]) setAsideRaw(ctx context.Context, s Store, raw []byte) error {
	return r.setAside(ctx, s, raw)
}
