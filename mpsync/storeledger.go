package mpsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"mpsync.dev/mpsync/store"
)

// LedgerRecordName is the store metadata record in which [NewStoreLedger]
// keeps its records, one JSON object per line.
const LedgerRecordName = "ledger.jsonl"

// metaAppender is the part of a [Store] a store ledger needs.
type metaAppender interface {
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	AppendMeta(ctx context.Context, name string, data []byte) error
}

// StoreLedger keeps ledger records in a store's metadata, as JSON lines in
// [LedgerRecordName]. It is the default ledger: with [store.Dir] the records
// live in the store directory beside the packs. Query reads the whole record,
// so it suits the records of one group or a few groups sharing a directory;
// use a database-backed [Ledger] for long histories across many groups.
type StoreLedger struct {
	meta metaAppender
}

// NewStoreLedger returns a ledger that keeps its records in s.
func NewStoreLedger(s interface {
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	AppendMeta(ctx context.Context, name string, data []byte) error
}) *StoreLedger {
	return &StoreLedger{meta: s}
}

// Append records r as one JSON line.
func (l *StoreLedger) Append(ctx context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ledger: encode record: %w", err)
	}
	return l.meta.AppendMeta(ctx, LedgerRecordName, append(b, '\n'))
}

// Query returns the records q selects, oldest first. A last line cut short
// by a crash during an append is ignored; any other undecodable line is an
// error naming its line number.
func (l *StoreLedger) Query(ctx context.Context, q LedgerQuery) ([]Record, error) {
	data, err := l.meta.ReadMeta(ctx, LedgerRecordName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read %s: %w", LedgerRecordName, err)
	}
	var out []Record
	lines := bytes.Split(data, []byte{'\n'})
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			if i == len(lines)-1 {
				break // an append cut short by a crash: no newline yet
			}
			return nil, fmt.Errorf("ledger: %s line %d: %w", LedgerRecordName, i+1, err)
		}
		if q.Match(r) {
			out = append(out, r)
		}
	}
	return out, nil
}
