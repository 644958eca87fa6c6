package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
)

// Probe asks the service once and records nothing.
func TestProbe(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	h, err := r.engine.Probe(ctx)
	require.NoError(t, err)
	assert.True(t, h.Reachable)
	assert.NotZero(t, h.LastCatalogSerial)
	st, err := r.engine.Status(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Workspace.CheckedAt, "a probe records nothing")

	r.srv.Fail("catalog", mpsynctest.Fault{Status: 503})
	h, err = r.engine.Probe(ctx)
	require.NoError(t, err)
	assert.False(t, h.Reachable)
	assert.NotEmpty(t, h.LastError)
}
