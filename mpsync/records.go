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
// read and write of a record goes through here, so the name, the encoding
// and the "not there yet" case live in one place.
type record[T any] struct{ name string }

// The engine's records. The ledger's append-only record is
// [ledgerRecordName], kept by [StoreLedger].
var (
	connectionRecord = record[Connection]{name: "connection.json"}
	runsRecord       = record[runHistory]{name: "runs.json"}
	pendingRecord    = record[[]Change]{name: "pending.json"}
)

// read returns the record's value; found is false, with a zero value and no
// error, when the store holds no such record.
func (r record[T]) read(ctx context.Context, s Store) (v T, found bool, err error) {
	b, err := s.ReadMeta(ctx, r.name)
	if errors.Is(err, storage.ErrNotFound) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("read %s: %w", r.name, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		var zero T
		return zero, false, fmt.Errorf("read %s: %w", r.name, err)
	}
	return v, true, nil
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
