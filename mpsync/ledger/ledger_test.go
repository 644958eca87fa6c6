package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/ledger/ledgertest"
)

func TestMemoryConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) ledger.Ledger { return ledger.NewMemory() })
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func rec(reason string) ledger.Record {
	return ledger.Record{Time: t0, Kind: ledger.KindRun, Reason: reason}
}

func TestAppendRefusesIncompleteRecords(t *testing.T) {
	for _, l := range []ledger.Ledger{ledger.NewMemory(), ledger.NewJSONL(newMetaMap())} {
		for _, r := range []ledger.Record{{Time: t0}, {Kind: ledger.KindRun}} {
			err := l.Append(context.Background(), r)
			if !errors.Is(err, ledger.ErrInvalidRecord) {
				t.Errorf("%T.Append(%+v) = %v, want ErrInvalidRecord", l, r, err)
			}
		}
	}
}

func TestAppendHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, l := range []ledger.Ledger{ledger.NewMemory(), ledger.NewJSONL(newMetaMap())} {
		if err := l.Append(ctx, rec("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("%T.Append on a cancelled context = %v", l, err)
		}
		if _, err := l.Query(ctx, ledger.Query{}); !errors.Is(err, context.Canceled) {
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
