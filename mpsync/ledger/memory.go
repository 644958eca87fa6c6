package ledger

import (
	"context"
	"sync"
)

// Memory is a [Ledger] that keeps records in memory. The zero value
// is not ready for use; call [NewMemory]. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	records []Record
}

// NewMemory returns an empty in-memory ledger.
func NewMemory() *Memory { return &Memory{} }

// Append records r. It returns an error wrapping [ErrInvalidRecord] when
// r.Kind or r.Time is not set, and ctx.Err() when ctx is done.
func (m *Memory) Append(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.Check(); err != nil {
		return err
	}
	m.mu.Lock()
	m.records = append(m.records, r)
	m.mu.Unlock()
	return nil
}

// AppendBatch records rs in order, or none of them when one fails
// [Record.Check].
func (m *Memory) AppendBatch(ctx context.Context, rs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range rs {
		if err := r.Check(); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.records = append(m.records, rs...)
	m.mu.Unlock()
	return nil
}

// Query returns the records q selects, oldest first; records with equal
// times come in the order they were appended.
func (m *Memory) Query(ctx context.Context, q Query) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	out := q.Filter(m.records)
	m.mu.Unlock()
	return out, nil
}

// Len returns the number of records held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// filter returns a new slice with the records q selects, stably sorted by
// time.
