package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
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

	mu      sync.Mutex // serialises appends and guards the cache
	checked bool       // the tail was checked for a torn line
	cache   decodeCache
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
//
// The Store keeps the records it has decoded and, as long as the bytes it
// decoded are still the record's prefix, decodes only the lines appended
// since; otherwise it decodes the whole record again.
func (l *Store) Query(ctx context.Context, q mpsync.LedgerQuery) ([]mpsync.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := l.meta.ReadMeta(ctx, StoreRecord)
	if errors.Is(err, store.ErrNotFound) {
		data, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: reading %s: %w", StoreRecord, err)
	}
	if !l.cache.valid(data) {
		l.cache = decodeCache{}
	}
	tail, err := l.cache.decode(data)
	if err != nil {
		return nil, err
	}
	out := filter(l.cache.records, q)
	for _, r := range tail {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b mpsync.Record) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// decodeCache holds the records decoded from the complete lines of a
// record's prefix.
type decodeCache struct {
	records []mpsync.Record
	offset  int    // bytes of complete lines decoded
	lines   int    // number of those lines
	check   []byte // the last bytes before offset, to notice a rewrite
}

const cacheCheckLen = 256

// valid reports whether data still starts with the bytes the cache decoded.
func (c *decodeCache) valid(data []byte) bool {
	return len(data) >= c.offset && bytes.Equal(data[c.offset-len(c.check):c.offset], c.check)
}

// decode decodes the complete lines of data after the cache's offset into
// the cache, and returns the records of a last line without a newline
// (which may still grow, so it is not cached). Blank lines are ignored. A
// line that ends before its JSON value does is a torn append and skipped;
// any other bad line is a *CorruptError.
func (c *decodeCache) decode(data []byte) ([]mpsync.Record, error) {
	rest := data[c.offset:]
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		r, ok, err := decodeLine(rest[:i], c.lines+1)
		if err != nil {
			return nil, err
		}
		if ok {
			c.records = append(c.records, r)
		}
		c.lines++
		c.offset += i + 1
		rest = rest[i+1:]
	}
	c.check = append(c.check[:0], data[max(0, c.offset-cacheCheckLen):c.offset]...)
	if len(rest) == 0 {
		return nil, nil
	}
	r, ok, err := decodeLine(rest, c.lines+1)
	if err != nil || !ok {
		return nil, err
	}
	return []mpsync.Record{r}, nil
}

// decodeLine decodes one line; ok is false for a blank or torn line.
func decodeLine(line []byte, lineNo int) (r mpsync.Record, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return r, false, nil
	}
	if err := json.Unmarshal(line, &r); err != nil {
		if isTruncated(line) {
			return r, false, nil
		}
		return r, false, &CorruptError{Name: StoreRecord, Line: lineNo, Err: err}
	}
	return r, true, nil
}

// isTruncated reports whether line is a cut-short prefix of a JSON value:
// decoding it fails only because the input ended.
func isTruncated(line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	var v any
	err := dec.Decode(&v)
	return errors.Is(err, io.ErrUnexpectedEOF)
}
