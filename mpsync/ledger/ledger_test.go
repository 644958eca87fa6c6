package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/ledger/ledgertest"
	"mpsync.dev/mpsync/storage"
)

// metaMap is a minimal in-memory mpsync.LedgerAppender, for the tests that
// hold ledger.Memory and mpsync.StoreLedger to the same rule side by side
// (the StoreLedger's own tests are in mpsync/storeledger_test.go).
type metaMap struct {
	mu      sync.Mutex
	records map[string][]byte
}

func newMetaMap() *metaMap { return &metaMap{records: map[string][]byte{}} }

func (m *metaMap) ReadMeta(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.records[name]
	if !ok {
		return nil, fmt.Errorf("meta %s: %w", name, storage.ErrNotFound)
	}
	return append([]byte(nil), b...), nil
}

func (m *metaMap) AppendMeta(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[name] = append(m.records[name], data...)
	return nil
}

func TestMemoryConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) mpsync.Ledger { return ledger.NewMemory() })
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func rec(reason string) mpsync.Record {
	return mpsync.Record{Time: t0, Kind: mpsync.RecordRun, Reason: reason}
}

func TestAppendRefusesIncompleteRecords(t *testing.T) {
	for _, l := range []mpsync.Ledger{ledger.NewMemory(), mpsync.NewStoreLedger(newMetaMap())} {
		for _, r := range []mpsync.Record{{Time: t0}, {Kind: mpsync.RecordRun}} {
			err := l.Append(context.Background(), r)
			if !errors.Is(err, mpsync.ErrInvalidRecord) {
				t.Errorf("%T.Append(%+v) = %v, want ErrInvalidRecord", l, r, err)
			}
		}
	}
}

func TestAppendHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, l := range []mpsync.Ledger{ledger.NewMemory(), mpsync.NewStoreLedger(newMetaMap())} {
		if err := l.Append(ctx, rec("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("%T.Append on a cancelled context = %v", l, err)
		}
		if _, err := l.Query(ctx, mpsync.LedgerQuery{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%T.Query on a cancelled context = %v", l, err)
		}
	}
}

func TestMemoryLen(t *testing.T) {
	m := ledger.NewMemory()
	for i := range 3 {
		if err := m.Append(context.Background(), rec(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
}
