package approval_test

import (
	"context"
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // the window tests need Europe/Berlin on any machine

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/clock"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

// memMeta is a minimal in-memory Meta.
type memMeta struct {
	mu      sync.Mutex
	records map[string][]byte
	writes  int
	readErr error
}

func newMemMeta() *memMeta { return &memMeta{records: map[string][]byte{}} }

func (m *memMeta) ReadMeta(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.readErr != nil {
		return nil, m.readErr
	}
	b, ok := m.records[name]
	if !ok {
		return nil, fmt.Errorf("meta %s: %w", name, storage.ErrNotFound)
	}
	return append([]byte(nil), b...), nil
}

func (m *memMeta) WriteMeta(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	m.records[name] = append([]byte(nil), data...)
	return nil
}

func (m *memMeta) writeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// fixedClock is a Clock that always reads the same time.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                     { return c.t }
func (c fixedClock) NewTimer(time.Duration) clock.Timer { panic("not used") }

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// change builds a change the way the engine would (ids are opaque here).
func change(id string, action plan.Action, packID, to, sha string) mpsync.Change {
	c := mpsync.Change{ID: id, Rule: rules.GetIntelligencePacks, Action: action, Pack: packID, SHA256: sha}
	if to != "" {
		c.To = pack.MustParseVersion(to)
	}
	return c
}

func req(c mpsync.Change, now time.Time) approval.Request {
	return approval.Request{Change: c, Group: "PROD", WorkspaceID: "ws1", Now: now}
}
