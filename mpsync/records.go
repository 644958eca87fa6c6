package mpsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/storage"
)

// record is one JSON metadata record the engine keeps in the store beside
// the packs. Its name is part of the store's layout, not of the API: every
// read and write of a record goes through here, so the name, the encoding,
// the "not there yet" case and the "corrupt" case live in one place.
type record[T any] struct {
	name string
	// recovery says what an operator does about a corrupt copy, for
	// [storage.CorruptRecordError.Recovery].
	recovery string
}

// The engine's records. The ledger's append-only record is
// [ledger.JSONLRecordName], kept by [ledger.JSONL].
var (
	connectionRecord = record[status.Connection]{name: "connection.json",
		recovery: "connect again (Engine.Connect, mpsync connect): it sets the corrupt record aside as connection.json" + storage.CorruptSuffix +
			" and binds the store to the configured workspace"}
	runsRecord = record[runHistory]{name: "runs.json",
		recovery: "the next run sets it aside as runs.json" + storage.CorruptSuffix + " and starts the run history afresh, " +
			"or Engine.Repair (mpsync repair) does so now"}
	pendingRecord = record[[]Change]{name: "pending.json",
		recovery: "the next run sets it aside as pending.json" + storage.CorruptSuffix + " and lists the changes that wait afresh, " +
			"or Engine.Repair (mpsync repair) does so now; approvals an operator gave are in the approval queue, not here"}
)

// read returns the record's value; found is false, with a zero value and no
// error, when the store holds no such record. A record that does not
// decode is a [*storage.CorruptRecordError].
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
		return zero, b, false, &storage.CorruptRecordError{Record: r.name, Recovery: r.recovery, Err: err}
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
// [storage.CorruptSuffix], so that nothing in it is lost when the record is
// written afresh.
func (r record[T]) setAside(ctx context.Context, s Store, raw []byte) error {
	if err := s.WriteMeta(ctx, r.name+storage.CorruptSuffix, raw); err != nil {
		return fmt.Errorf("set the corrupt %s aside as %s: %w", r.name, r.name+storage.CorruptSuffix, err)
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
