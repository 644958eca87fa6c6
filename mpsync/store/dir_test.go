package store_test

import (
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

var _ mpsync.Store = (*store.Dir)(nil)

func openTemp(t *testing.T) *store.Dir {
	t.Helper()
	d, err := store.OpenDir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDirConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return openTemp(t) })
}
