package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/ledger/ledgertest"
	"mpsync.dev/mpsync/store"
)

// The store ledger on the two stores the library ships.

func TestStoreLedgerOnMemoryStore(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) mpsync.Ledger { return mpsync.NewStoreLedger(store.NewMemory()) })
}

func TestStoreLedgerOnDirStore(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) mpsync.Ledger {
		d, err := store.OpenDir(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return mpsync.NewStoreLedger(d)
	})
}

// A crash mid-append leaves a cut-short line in the directory store; a new
// process reads past it and its first append starts a fresh line.
func TestStoreLedgerSurvivesTornAppendOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mpsync.NewStoreLedger(d).Append(ctx, rec("before")); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendMeta(ctx, ledgerRecord, []byte(`{"time":"2026-05-01T12:00:00Z","ki`)); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l := mpsync.NewStoreLedger(d)
	if got, err := l.Query(ctx, mpsync.LedgerQuery{}); err != nil || len(got) != 1 {
		t.Fatalf("Query after a torn append = %d records, %v; want 1", len(got), err)
	}
	if err := l.Append(ctx, rec("after")); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(ctx, mpsync.LedgerQuery{})
	if err != nil || len(got) != 2 || got[1].Reason != "after" {
		t.Fatalf("Query = %+v, %v; want before, after", got, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", ledgerRecord))
	if len(matches) != 1 {
		t.Fatalf("found %v, want one %s in the store directory", matches, ledgerRecord)
	}
	if b, err := os.ReadFile(matches[0]); err != nil || b[len(b)-1] != '\n' {
		t.Errorf("record does not end with a newline: %q, %v", b, err)
	}
}
