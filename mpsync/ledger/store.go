package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
)

// StoreRecord is the name of the metadata record a [Store] keeps its lines
// in.
const StoreRecord = "ledger.jsonl"

// Appender is the part of a store a [Store] ledger needs. [mpsync.Store]
// satisfies it. ReadMeta reports a record that does not exist yet with an
// error matching [store.ErrNotFound]; AppendMeta creates the record when
// needed, and a crash may leave only its last append incomplete.
type Appender interface {
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	AppendMeta(ctx context.Context, name string, data []byte) error
}

// Store is an [mpsync.Ledger] that keeps records as JSON lines in the
// [StoreRecord] metadata record of a store: the embedded default. It is safe
// for concurrent use within one process; several processes must not append
// through one store at once (the directory store allows one process only).
type Store struct {
	meta Appender

	mu      sync.Mutex // serialises appends
	checked bool       // the tail was checked for a torn line
}

// NewStore returns a ledger that keeps its records in s.
func NewStore(s Appender) *Store { return &Store{meta: s} }

// Append encodes r as one JSON line and appends it to [StoreRecord]. The
// first Append of a Store value finishes a line a crash left cut short, so
// the new record starts on a line of its own. It returns an error wrapping
// [ErrInvalidRecord] when r.Kind or r.Time is not set.
func (l *Store) Append(ctx context.Context, r mpsync.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRecord(r); err != nil {
		return err
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ledger: encoding %s record for %s: %w", r.Kind, StoreRecord, err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.checked {
		data, err := l.meta.ReadMeta(ctx, StoreRecord)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("ledger: reading %s before the first append: %w", StoreRecord, err)
		case len(data) > 0 && data[len(data)-1] != '\n':
			line = append([]byte{'\n'}, line...)
		}
		l.checked = true
	}
	if err := l.meta.AppendMeta(ctx, StoreRecord, line); err != nil {
		return fmt.Errorf("ledger: appending %s record to %s: %w", r.Kind, StoreRecord, err)
	}
	return nil
}

// Query reads [StoreRecord] and returns the records q selects, oldest
// first; records with equal times come in the order they were appended. A
// missing record is an empty ledger. A line a crash cut short is skipped;
// any other bad line is reported as a [*CorruptError].
func (l *Store) Query(ctx context.Context, q mpsync.LedgerQuery) ([]mpsync.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := l.meta.ReadMeta(ctx, StoreRecord)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: reading %s: %w", StoreRecord, err)
	}
	var out []mpsync.Record
	err = decodeLines(data, func(r mpsync.Record) {
		if q.Match(r) {
			out = append(out, r)
		}
	})
	if err != nil {
		return nil, err
	}
	return filter(out, mpsync.LedgerQuery{}), nil
}

// decodeLines calls fn for every record in data. Blank lines are ignored. A
// line that ends before its JSON value does is a torn append and skipped
// when it is the last line, or when a later append finished it with a
// newline; any other bad line is a *CorruptError.
func decodeLines(data []byte, fn func(mpsync.Record)) error {
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r mpsync.Record
		if err := json.Unmarshal(line, &r); err != nil {
			if isTruncated(line) {
				continue
			}
			return &CorruptError{Name: StoreRecord, Line: lineNo, Err: err}
		}
		fn(r)
	}
	return nil
}

// isTruncated reports whether line is a cut-short prefix of a JSON value:
// decoding it fails only because the input ended.
func isTruncated(line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	var v any
	err := dec.Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
}
