package mpsync_test

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/store"
)

type panicFetchWS struct{ *fakeWS }

func (w panicFetchWS) Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error) {
	panic("bug in a Workspace implementation")
}

// A panic in a Workspace's Fetch happens on a download worker goroutine; it
// must fail that pack, not end the process.
func TestRegressionPanicInFetchIsRecovered(t *testing.T) {
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, panicFetchWS{ws}, store.NewMemory(), nil)
	rep, err := e.RunDue(context.Background())
	require.NoError(t, err)
	require.NotNil(t, rep)
	require.Len(t, rep.Failed(), 1, "the pack whose download panicked fails")
	require.ErrorContains(t, rep.Failed()[0].Err, "panicked")
}

var _ = mpsync.ActionImport
