package mpsync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// Regression: with GetIntelligencePacks disabled (a change freeze), Validate
// failed the integration over packs the disabled rule cannot import.
func TestRegressionValidateDisabledRule(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	frozen := false
	set := rules.SettingsFunc(func(ctx context.Context, r rules.Rule) (rules.Settings, error) {
		st, err := rules.DefaultSettings().Settings(ctx, r)
		if r == rules.GetIntelligencePacks && frozen {
			st.Enabled = false
		}
		return st, err
	})
	e := newFakeEngine(t, ws, store.NewMemory(), &mpsync.Options{Settings: set})
	_, err := e.Connect(ctx)
	require.NoError(t, err)
	_, err = e.Sync(ctx)
	require.NoError(t, err)
	frozen = true
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	v, err := e.Validate(ctx)
	require.NoError(t, err)
	for _, c := range v.Checks {
		t.Logf("%v %s: %s", c.OK, c.Name, c.Detail)
	}
	require.True(t, v.OK(), "failed: %v", v.Failed())
}
