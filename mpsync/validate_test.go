package mpsync_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
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

// Validate used to compare two local values; it now asks the service.
func TestValidateAsksTheService(t *testing.T) {
	checks := func(v *mpsync.Validation) map[string]mpsync.Check {
		out := map[string]mpsync.Check{}
		for _, c := range v.Checks {
			out[c.Name] = c
		}
		return out
	}
	tests := []struct {
		name   string
		ws     func(f *fakeWS) mpsync.Workspace
		failed map[string]string // check name -> detail substring
		passed []string
	}{
		{name: "service answers", ws: func(f *fakeWS) mpsync.Workspace { return f },
			passed: []string{"service reachable", "service key", "pack " + advisor}},
		{name: "wrong key", ws: func(f *fakeWS) mpsync.Workspace { return unauthorizedWS{f} },
			failed: map[string]string{"service key": "refused the key for workspace ws1"}, passed: []string{"service reachable"}},
		{name: "unreachable", ws: func(f *fakeWS) mpsync.Workspace { return downWS{f} },
			failed: map[string]string{"service reachable": "could not be reached"}},
		{name: "unreachable, last-known catalog", ws: func(f *fakeWS) mpsync.Workspace { f.stale = true; return f },
			failed: map[string]string{"service reachable": "last-known catalog"}, passed: []string{"pack " + advisor}},
		{name: "other error", ws: func(f *fakeWS) mpsync.Workspace { return errWS{f} },
			failed: map[string]string{"service catalog": "401 unauthorized"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFakeWS("ws1")
			f.put(advisor, "7.1.10226.1239", "")
			s := store.NewMemory()
			e := newFakeEngine(t, f, s, nil)
			_, err := e.Sync(ctx)
			require.NoError(t, err)
			before := storeVersions(t, s)
			e2 := newFakeEngine(t, tc.ws(f), s, nil)
			v, err := e2.Validate(ctx)
			require.NoError(t, err)
			got := checks(v)
			for name, detail := range tc.failed {
				require.Contains(t, got, name)
				assert.False(t, got[name].OK, name)
				assert.Contains(t, got[name].Detail, detail)
			}
			for _, name := range tc.passed {
				require.Contains(t, got, name)
				assert.True(t, got[name].OK, "%s: %s", name, got[name].Detail)
			}
			if len(tc.failed) == 0 {
				assert.True(t, v.OK(), "%v", v.Failed())
			}
			if tc.name == "wrong key" {
				assert.NotContains(t, got, "service catalog", "a wrong key is its own check")
			}
			assert.Equal(t, before, storeVersions(t, s), "validate changes nothing")
		})
	}
}

// A wrong key against the real client and server is the "service key"
// check, not a generic failure.
func TestValidateWrongKeyThroughTheClient(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	cfg := r.srv.ClientConfig()
	cfg.Key = "d3Jvbmcga2V5"
	bad, err := newClientFrom(cfg)
	require.NoError(t, err)
	e2, err := mpsync.New(r.store, &mpsync.Options{Workspace: bad, Clock: r.clock})
	require.NoError(t, err)
	defer e2.Close()
	v, err := e2.Validate(ctx)
	require.NoError(t, err)
	var key *mpsync.Check
	for i, c := range v.Checks {
		if c.Name == "service key" {
			key = &v.Checks[i]
		}
	}
	require.NotNil(t, key, "%+v", v.Checks)
	assert.False(t, key.OK)
	assert.Contains(t, key.Detail, "refused the key")
	assert.True(t, errors.Is(workspace.ErrUnauthorized, mpsync.ErrUnauthorized))
}

// Packs a previous workspace imported are flagged unless the connected one
// wants them at the same version.
func TestValidateFlagsPacksOfAPreviousWorkspace(t *testing.T) {
	ctx := context.Background()
	ws1, ws2 := newFakeWS("ws1"), newFakeWS("ws2")
	ws1.put(advisor, "1.0.0.0", "")
	ws1.put("Old.Pack", "1.0.0.0", "")
	ws2.put(advisor, "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws1, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	// The old pack stays: the store is rebound by hand, as a failed or
	// denied removal would leave it.
	e2 := newFakeEngine(t, ws2, s, &mpsync.Options{Approver: approval.ApproverFunc(func(_ context.Context, r approval.Request) (approval.Decision, error) {
		if r.Change.Action == plan.ActionRemove {
			return approval.Decision{Verdict: plan.Deny, Reason: "change freeze"}, nil
		}
		return approval.Decision{Verdict: plan.Approve}, nil
	})})
	_, err = e2.SwitchWorkspace(ctx, ws2)
	require.NoError(t, err)
	v, err := e2.Validate(ctx)
	require.NoError(t, err)
	got := map[string]mpsync.Check{}
	for _, c := range v.Checks {
		got[c.Name] = c
	}
	old := got["previous workspace Old.Pack"]
	assert.False(t, old.OK)
	assert.Contains(t, old.Detail, "imported for workspace ws1, not the connected ws2")
	shared := got["previous workspace "+advisor]
	assert.True(t, shared.OK, shared.Detail)
	assert.Contains(t, shared.Detail, "wants it at the same version")
}
