package storetest_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

// The suite runs here against the in-memory store; store's own tests run it
// against both implementations.
func TestRunMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) mpsync.Store { return store.NewMemory() })
}

func TestPacksValidate(t *testing.T) {
	for _, size := range []int{0, 1 << 10, 1 << 20} {
		data := storetest.PaddedPack("Contoso.Sized", "2.0.0.1", size)
		require.GreaterOrEqual(t, len(data), size)
		m, err := pack.Validate(bytes.NewReader(data), pack.Expect{ID: "Contoso.Sized", Version: pack.MustParseVersion("2.0.0.1")}, pack.Limits{})
		require.NoError(t, err, "size %d", size)
		require.Equal(t, "Contoso.Sized", m.ID)
	}
	// Text that needs escaping stays well-formed.
	_, err := pack.ReadManifest(bytes.NewReader(storetest.Pack("a<b&c", "1.0")))
	require.NoError(t, err)
}
