package ledger

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"mpsync.dev/mpsync"
)

// Memory is an [mpsync.Ledger] that keeps records in memory. The zero value
// is not ready for use; call [NewMemory]. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	records []mpsync.Record
}

// NewMemory returns an empty in-memory ledger.
func NewMemory() *Memory { return &Memory{} }

// Append records r. It returns an error wrapping [ErrInvalidRecord] when
// r.Kind or r.Time is not set, and ctx.Err() when ctx is done.
func (m *Memory) Append(ctx context.Context, r mpsync.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRecord(r); err != nil {
		return err
	}
	m.mu.Lock()
	m.records = append(m.records, r)
	m.mu.Unlock()
	return nil
}

// Query returns the records q selects, oldest first; records with equal
// times come in the order they were appended.
func (m *Memory) Query(ctx context.Context, q mpsync.LedgerQuery) ([]mpsync.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	out := filter(m.records, q)
	m.mu.Unlock()
	return out, nil
}

// Len returns the number of records held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// checkRecord refuses records the ledger cannot order or classify.
func checkRecord(r mpsync.Record) error {
	switch {
	case r.Kind == "":
		return fmt.Errorf("ledger: append: %w: field kind is empty", ErrInvalidRecord)
	case r.Time.IsZero():
		return fmt.Errorf("ledger: append %s record: %w: field time is zero", r.Kind, ErrInvalidRecord)
	}
	return nil
}

// filter returns a new slice with the records q selects, stably sorted by
// time.
func filter(records []mpsync.Record, q mpsync.LedgerQuery) []mpsync.Record {
	var out []mpsync.Record
	for _, r := range records {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b mpsync.Record) int { return a.Time.Compare(b.Time) })
	return out
}
