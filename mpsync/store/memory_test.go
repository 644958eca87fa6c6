package store_test

import (
	"testing"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

var _ mpsync.Store = (*store.Memory)(nil)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return store.NewMemory() })
}
