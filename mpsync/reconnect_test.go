package mpsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
)

const resourcesENU = "Microsoft.SystemCenter.Advisor.Resources.ENU"

// disconnected returns an engine over a store that was connected to a fake
// workspace (which serves the ENU Resources pack, which must not count) and
// then disconnected, for a group at version groupVersion.
func disconnected(t *testing.T, groupVersion string) (*mpsync.Engine, *store.Memory, *fakeWS) {
	t.Helper()
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "7.1.10226.1239", "")
	ws.put(resourcesENU, "7.1.10226.1239", "")
	s := store.NewMemory()
	var g mpsync.ManagementGroup
	if groupVersion != "" {
		g.Version = pack.MustParseVersion(groupVersion)
	}
	e := newFakeEngine(t, ws, s, &mpsync.Options{Group: g})
	_, err := e.Connect(ctx)
	require.NoError(t, err)
	_, err = e.Disconnect(ctx)
	require.NoError(t, err)
	require.NotContains(t, storeVersions(t, s), resourcesENU, "disconnect removes the workspace's Resources pack")
	return e, s, ws
}

func operatorImport(t *testing.T, e *mpsync.Engine, id, version string) {
	t.Helper()
	_, err := e.Import(context.Background(), bytes.NewReader(mpsynctest.Pack(id, version, scLib)), mpsync.ImportOptions{Source: id + ".xml"})
	require.NoError(t, err)
}

// The connection guide: to reconnect, "re-import the
// Microsoft.SystemCenter.Advisor.Resources.<Language>.mpb management pack
// file from the most recent update rollup applied to your management
// group". The catalog serving one used to be enough.
func TestReconnectNeedsOperatorsResourcesPack(t *testing.T) {
	tests := []struct {
		name         string
		groupVersion string
		before       func(t *testing.T, e *mpsync.Engine, s *store.Memory)
		ok           bool
		inErr        []string
	}{
		{name: "nothing imported, catalog serves it", groupVersion: "7.1.10226.1239",
			inErr: []string{resourcesENU + " is not imported", resourcesENU + ".mpb", scom.ResourcesFolder2012R2, "Operations Manager 2012 R2"}},
		{name: "2012 SP1 folder", groupVersion: "7.0.9538.1117",
			inErr: []string{scom.ResourcesFolder2012SP1, "Operations Manager 2012 SP1"}},
		{name: "2019 installation media", groupVersion: "10.19.10050.0",
			inErr: []string{`the \ManagementPacks folder of the Operations Manager 2019 installation media`}},
		{name: "version unknown names every folder", groupVersion: "",
			inErr: []string{scom.ResourcesFolder2012SP1, scom.ResourcesFolder2012R2, `\ManagementPacks`, "version is not known"}},
		{name: "wrong language", groupVersion: "7.1.10226.1239",
			before: func(t *testing.T, e *mpsync.Engine, _ *store.Memory) {
				operatorImport(t, e, "Microsoft.SystemCenter.Advisor.Resources.DEU", "7.1.10226.1239")
			},
			inErr: []string{resourcesENU + " is not imported", "Microsoft.SystemCenter.Advisor.Resources.DEU 7.1.10226.1239", "not for the group's language ENU"}},
		{name: "an earlier release's pack", groupVersion: "7.1.10226.1239",
			before: func(t *testing.T, e *mpsync.Engine, _ *store.Memory) {
				operatorImport(t, e, resourcesENU, "7.0.9538.1117")
			},
			inErr: []string{"imported at 7.0.9538.1117, below 7.1.10226.0", "first build of Operations Manager 2012 R2"}},
		{name: "the workspace's copy kept in the store", groupVersion: "7.1.10226.1239",
			before: func(t *testing.T, _ *mpsync.Engine, s *store.Memory) {
				_, err := s.Import(context.Background(), storage.ImportRequest{ID: resourcesENU,
					Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "ws1"}},
					bytes.NewReader(mpsynctest.Pack(resourcesENU, "7.1.10226.1239", scLib)))
				require.NoError(t, err)
			},
			inErr: []string{"copy workspace ws1 imported", "--force"}},
		{name: "the release's pack", groupVersion: "7.1.10226.1239", ok: true,
			before: func(t *testing.T, e *mpsync.Engine, _ *store.Memory) {
				operatorImport(t, e, resourcesENU, "7.1.10226.1239")
			}},
		{name: "the release's first build", groupVersion: "7.1.10226.1239", ok: true,
			before: func(t *testing.T, e *mpsync.Engine, _ *store.Memory) {
				operatorImport(t, e, resourcesENU, "7.1.10226.0")
			}},
		{name: "version unknown: presence is enough", groupVersion: "", ok: true,
			before: func(t *testing.T, e *mpsync.Engine, _ *store.Memory) { operatorImport(t, e, resourcesENU, "1.0.0.0") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e, s, _ := disconnected(t, tc.groupVersion)
			if tc.before != nil {
				tc.before(t, e, s)
			}
			before := storeVersions(t, s)
			_, err := e.Connect(ctx)
			conn, cerr := e.Connection(ctx)
			require.NoError(t, cerr)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, mpsync.StateConnected, conn.State)
				return
			}
			require.ErrorIs(t, err, mpsync.ErrResourcesMissing)
			var re *mpsync.ResourcesError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, resourcesENU, re.Need.ID)
			for _, want := range tc.inErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, mpsync.StateDisconnected, conn.State, "a refused reconnect records nothing")
			assert.Equal(t, before, storeVersions(t, s), "a refused reconnect changes no pack")
		})
	}
}

// A downgrade of the Resources pack is refused at import, and the store
// keeps the newer one.
func TestResourcesPackDowngradeRefused(t *testing.T) {
	ctx := context.Background()
	e, s, _ := disconnected(t, "7.1.10226.1239")
	operatorImport(t, e, resourcesENU, "7.1.10226.1239")
	_, err := e.Import(ctx, bytes.NewReader(mpsynctest.Pack(resourcesENU, "7.1.10226.1015", scLib)), mpsync.ImportOptions{Source: "old.xml"})
	require.ErrorIs(t, err, mpsync.ErrImportRefused)
	assert.Contains(t, err.Error(), "downgrade")
	assert.Equal(t, "7.1.10226.1239", storeVersions(t, s)[resourcesENU])
	_, err = e.Connect(ctx)
	require.NoError(t, err)
}

// Connect without the group's version used to skip the requirement
// without a word.
func TestConnectSaysWhetherTheRequirementWasChecked(t *testing.T) {
	tests := []struct {
		name, version string
		checked       bool
		detail        string
	}{
		{"version unknown", "", false, "not checked"},
		{"2012 R2 UR14", "7.1.10226.1239", true, "Operations Manager 2012 R2, at or above Update Rollup 2 (7.1.10226.1015)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ws := newFakeWS("ws1")
			ws.put(advisor, "7.1.10226.1239", "")
			var g mpsync.ManagementGroup
			if tc.version != "" {
				g.Version = pack.MustParseVersion(tc.version)
			}
			e := newFakeEngine(t, ws, store.NewMemory(), &mpsync.Options{Group: g})
			_, err := e.Connect(ctx)
			require.NoError(t, err)
			conn, err := e.Connection(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.checked, conn.RequirementChecked)
			assert.Contains(t, conn.Requirement, tc.detail)
		})
	}
}

// proxyWS is a fake workspace that reports a proxy.
type proxyWS struct {
	*fakeWS
	proxy mpsync.ProxyInfo
	known bool
}

func (w proxyWS) ProxyInfo() (mpsync.ProxyInfo, bool) { return w.proxy, w.known }

// The proxy minimum (2012 SP1 UR7, 2012 R2 UR3) applies whenever the
// workspace client goes through a proxy, with no second setting to forget.
func TestProxyMinimumFollowsTheWorkspace(t *testing.T) {
	corp := mpsync.ProxyInfo{URL: "http://corpproxy:80", User: "svc"}
	ur2 := pack.MustParseVersion("7.1.10226.1015") // 2012 R2 UR2: no proxy support
	tests := []struct {
		name      string
		ws        func(*fakeWS) mpsync.Workspace
		opt       mpsync.ProxyInfo
		newErr    string // New refuses
		refused   bool   // Connect refuses for the proxy minimum
		wantProxy mpsync.ProxyInfo
	}{
		{name: "workspace without proxy", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, mpsync.ProxyInfo{}, true} }},
		{name: "workspace with proxy", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} },
			refused: true},
		{name: "Options.Proxy agrees", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} }, opt: corp,
			refused: true},
		{name: "Options.Proxy disagrees", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} },
			opt: mpsync.ProxyInfo{URL: "http://other:3128"}, newErr: "disagrees"},
		{name: "Options.Proxy set, workspace has none", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, mpsync.ProxyInfo{}, true} },
			opt: corp, newErr: "disagrees"},
		{name: "workspace cannot tell: Options.Proxy decides", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, mpsync.ProxyInfo{}, false} },
			opt: corp, refused: true},
		{name: "no reporter: Options.Proxy decides", ws: func(f *fakeWS) mpsync.Workspace { return f }, opt: corp, refused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFakeWS("ws1")
			f.put(advisor, "7.1.10226.1239", "")
			s := store.NewMemory()
			e, err := mpsync.New(s, &mpsync.Options{Workspace: tc.ws(f), Proxy: tc.opt,
				Group: mpsync.ManagementGroup{Version: ur2}, Clock: mpsynctest.NewManualClock(t0)})
			if tc.newErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.newErr)
				return
			}
			require.NoError(t, err)
			defer e.Close()
			_, err = e.Connect(ctx)
			conn, cerr := e.Connection(ctx)
			require.NoError(t, cerr)
			if tc.refused {
				var re *scom.RequirementError
				require.ErrorAs(t, err, &re)
				assert.True(t, re.Proxy)
				assert.Contains(t, err.Error(), "Update Rollup 3")
				assert.Equal(t, mpsync.StateNever, conn.State)
				assert.Empty(t, storeVersions(t, s))
				return
			}
			require.NoError(t, err)
			assert.True(t, conn.RequirementChecked)
			assert.False(t, conn.Proxy.Configured())
		})
	}
}

// workspace.Client reports its proxy: a 2012 R2 UR2 group is refused
// through a proxy before any request is sent.
func TestWorkspaceClientProxyRefusedBeforeAnyRequest(t *testing.T) {
	srv := mpsynctest.NewServer()
	t.Cleanup(srv.Close)
	cfg := srv.ClientConfig()
	cfg.Proxy, cfg.ProxyUser, cfg.ProxyPassword = "http://127.0.0.1:1", "svc", "secret"
	cl, err := newClientFrom(cfg)
	require.NoError(t, err)
	p, ok := cl.ProxyInfo()
	require.True(t, ok)
	assert.Equal(t, mpsync.ProxyInfo{URL: "http://127.0.0.1:1", User: "svc"}, p)
	e := newFakeEngine(t, cl, store.NewMemory(), &mpsync.Options{Group: mpsync.ManagementGroup{Version: pack.MustParseVersion("7.1.10226.1015")}})
	_, err = e.Connect(context.Background())
	require.ErrorIs(t, err, mpsync.ErrRequirement)
	assert.Contains(t, err.Error(), "through a proxy")
	assert.Zero(t, srv.Stats().Requests, "refused before the service was asked")

	cfg = srv.ClientConfig()
	cfg.Transport = srv.Transport()
	cl, err = newClientFrom(cfg)
	require.NoError(t, err)
	_, ok = cl.ProxyInfo()
	assert.False(t, ok, "a client with its own transport cannot tell")
}

// unauthorizedWS answers like a service refusing the key.
type unauthorizedWS struct{ *fakeWS }

func (unauthorizedWS) Catalog(context.Context) (mpsync.CatalogResult, error) {
	return mpsync.CatalogResult{}, fmt.Errorf("workspace catalog: GET x: 403 Forbidden: %w", mpsync.ErrUnauthorized)
}

// downWS answers like a service that cannot be reached, holding nothing.
type downWS struct{ *fakeWS }

func (downWS) Catalog(context.Context) (mpsync.CatalogResult, error) {
	return mpsync.CatalogResult{}, fmt.Errorf("workspace catalog: GET x: connection refused: %w", mpsync.ErrUnavailable)
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
