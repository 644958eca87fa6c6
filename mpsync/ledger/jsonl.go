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

	"mpsync.dev/mpsync/storage"
)

// MetaStore is the part of a store a [JSONL] needs; every
// mpsync.Store satisfies it. ReadMeta reports a record that does not exist yet with an
// error matching [storage.ErrNotFound]; AppendMeta creates the record when
// needed, and a crash may leave only its last append incomplete.
type MetaStore interface {
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	AppendMeta(ctx context.Context, name string, data []byte) error
}

// JSONL is a [Ledger] that keeps records as JSON lines in the
// "ledger.jsonl" metadata record of a store: the embedded default. It is safe
// for concurrent use within one process; several processes must not append
// through one store at once (the directory store allows one process only).
type JSONL struct {
	meta MetaStore

	mu      sync.Mutex // serialises appends and guards the cache
	checked bool       // the tail was checked for a torn line
	cache   decodeCache
}

// NewJSONL returns a ledger that keeps its records in s; it is the
// engine's default ledger (Options.Ledger nil), kept in the store beside the
// packs.
func NewJSONL(s MetaStore) *JSONL { return &JSONL{meta: s} }

// Append encodes r as one JSON line and appends it to the "ledger.jsonl" record. The
// first Append of a JSONL value finishes a line a crash left cut short, so
// the new record starts on a line of its own. It returns an error wrapping
// [ErrInvalidRecord] when r.Kind or r.Time is not set.
func (l *JSONL) Append(ctx context.Context, r Record) error {
	return l.AppendBatch(ctx, []Record{r})
}

// AppendBatch encodes rs as JSON lines and appends them to the
// "ledger.jsonl" record with one AppendMeta: one database transaction for
// the directory store, however many records. Every record is checked
// before anything is written.
func (l *JSONL) AppendBatch(ctx context.Context, rs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	var line []byte
	for _, r := range rs {
		if err := r.Check(); err != nil {
			return err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("ledger: encoding %s record for %s: %w", r.Kind, JSONLRecordName, err)
		}
		line = append(append(line, b...), '\n')
	}
	what := string(rs[0].Kind) + " record"
	if len(rs) > 1 {
		what = fmt.Sprintf("%d records", len(rs))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.checked {
		data, err := l.meta.ReadMeta(ctx, JSONLRecordName)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			return fmt.Errorf("ledger: reading %s before the first append: %w", JSONLRecordName, err)
		case len(data) > 0 && data[len(data)-1] != '\n':
			line = append([]byte{'\n'}, line...)
		}
		l.checked = true
	}
	if err := l.meta.AppendMeta(ctx, JSONLRecordName, line); err != nil {
		// Part of the line may have been written: check the tail again
		// before the next append, so it starts on a line of its own.
		l.checked = false
		return fmt.Errorf("ledger: appending %s to %s: %w", what, JSONLRecordName, err)
	}
	return nil
}

// Query reads the "ledger.jsonl" record and returns the records q selects, oldest
// first; records with equal times come in the order they were appended. A
// missing record is an empty ledger. A line a crash cut short is skipped;
// any other bad line is reported as a [*CorruptError].
//
// A JSONL keeps the records it has decoded and, as long as the bytes it
// decoded are still the record's prefix, decodes only the lines appended
// since; otherwise it decodes the whole record again.
func (l *JSONL) Query(ctx context.Context, q Query) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := l.meta.ReadMeta(ctx, JSONLRecordName)
	if errors.Is(err, storage.ErrNotFound) {
		data, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: reading %s: %w", JSONLRecordName, err)
	}
	if !l.cache.valid(data) {
		l.cache = decodeCache{}
	}
	tail, err := l.cache.decode(data)
	if err != nil {
		return nil, err
	}
	out := q.Filter(l.cache.records)
	for _, r := range tail {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.Time.Compare(b.Time) })
	return out, nil
}

var (
	// ErrInvalidRecord is wrapped by Append when a record lacks a field every
	// record needs (Kind, Time).
	ErrInvalidRecord = errors.New("invalid ledger record")
	// ErrCorrupt is matched (with errors.Is) by every [*CorruptError].
	ErrCorrupt = errors.New("ledger record is corrupt")
)

// CorruptError reports a line of a [JSONL]'s record that is not a JSON
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

// JSONLRecordName is the store metadata record in which a [JSONL]
// keeps its records, one JSON object per line.
const JSONLRecordName = "ledger.jsonl"

// decodeCache holds the records decoded from the complete lines of a
// record's prefix.
type decodeCache struct {
	records []Record
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
func (c *decodeCache) decode(data []byte) ([]Record, error) {
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
	return []Record{r}, nil
}

// decodeLine decodes one line; ok is false for a blank or torn line.
func decodeLine(line []byte, lineNo int) (r Record, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return r, false, nil
	}
	if err := json.Unmarshal(line, &r); err != nil {
		if isTruncated(line) {
			return r, false, nil
		}
		return r, false, &CorruptError{Name: JSONLRecordName, Line: lineNo, Err: err}
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
