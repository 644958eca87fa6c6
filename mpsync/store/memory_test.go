package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

var _ mpsync.Store = (*store.Memory)(nil)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return store.NewMemory() })
}

func TestMemoryOptions(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	m := store.NewMemory(store.WithNow(func() time.Time { return at }), store.WithLimits(pack.Limits{MaxBytes: 4 << 10}))
	ctx := context.Background()
	small := storetest.Pack("Contoso.Small", "1.0.0.0")
	e, err := m.Import(ctx, storetest.Request("Contoso.Small", "1.0.0.0", small), bytes.NewReader(small))
	require.NoError(t, err)
	assert.True(t, at.Equal(e.ImportedAt), "ImportedAt comes from WithNow")
	assert.Equal(t, time.UTC, e.ImportedAt.Location(), "ImportedAt is recorded in UTC")

	big := storetest.PaddedPack("Contoso.Big", "1.0.0.0", 8<<10)
	_, err = m.Import(ctx, storetest.Request("Contoso.Big", "1.0.0.0", big), bytes.NewReader(big))
	assert.ErrorIs(t, err, pack.ErrMalformed, "WithLimits is enforced")
	assert.Contains(t, m.String(), "1 packs")
}
