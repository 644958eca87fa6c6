package mpsync_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"mpsync.dev/mpsync/status"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// Regression: Plan read the workspace without a lock while SwitchWorkspace
// wrote it.
func TestRegressionRacePlanSwitch(t *testing.T) {
	ctx := context.Background()
	ws1, ws2 := newFakeWS("ws1"), newFakeWS("ws2")
	ws1.put("X", "1.0.0.0", "")
	ws2.put("X", "1.0.0.0", "")
	s := store.NewMemory()
	e := newFakeEngine(t, ws1, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	var switchErr, planErr error
	var plan *mpsync.Plan
	wg.Add(2)
	go func() { defer wg.Done(); _, switchErr = e.SwitchWorkspace(ctx, ws2) }()
	go func() { defer wg.Done(); plan, planErr = e.Plan(ctx) }()
	wg.Wait()
	require.NoError(t, switchErr)
	require.NoError(t, planErr)
	require.Contains(t, []string{"ws1", "ws2"}, plan.WorkspaceID, "a plan comes from one workspace, whole")
	conn, err := e.Connection(ctx)
	require.NoError(t, err)
	require.Equal(t, "ws2", conn.WorkspaceID)
}

type errWS struct{ *fakeWS }

func (w errWS) Catalog(ctx context.Context) (mpsync.CatalogResult, error) {
	return mpsync.CatalogResult{}, errors.New("401 unauthorized: wrong key")
}

// Regression: the first Sync bound the store to the workspace before the
// catalog was fetched, so a wrong workspace id bound the store.
func TestRegressionFirstSyncBindsOnlyAfterAFreshCatalog(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	bad := newFakeEngine(t, errWS{newFakeWS("typo-ws")}, s, nil)
	_, err := bad.Sync(ctx)
	require.Error(t, err)
	c, _ := bad.Connection(ctx)
	t.Logf("after failed first sync: state=%s workspace=%s", c.State, c.WorkspaceID)
	good := newFakeWS("ws1")
	good.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, good, s, nil)
	_, err = e.Sync(ctx)
	require.NoError(t, err, "the correct workspace is refused because a failed sync bound the store")
}

// Regression: Disconnect of a never-connected store marked it disconnected,
// so Sync refused and Connect demanded the Resources pack of a reconnect.
func TestRegressionDisconnectNeverConnected(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	e0, err := mpsync.New(s, nil)
	require.NoError(t, err)
	_, err = e0.Disconnect(ctx)
	t.Logf("disconnect never-connected: err=%v", err)
	c, _ := e0.Connection(ctx)
	t.Logf("state=%s ws=%q", c.State, c.WorkspaceID)
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	e := newFakeEngine(t, ws, s, nil)
	_, err = e.Connect(ctx)
	require.NoError(t, err, "first Connect of a store that was never connected")
}

func TestConnectionLifecycle(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, &mpsync.Options{Group: scom.ManagementGroup{Name: "MG1", Version: pack.MustParseVersion("7.2.11719.0"), Language: "ENU"}})
	rep, err := r.engine.Connect(ctx)
	require.NoError(t, err)
	assert.Equal(t, []rules.Rule{rules.MPUpdate}, rep.Plan.Rules, "connect runs MPUpdate once")
	assert.Contains(t, r.versions(t), advisorID)
	assert.NotContains(t, r.versions(t), alertID)
	conn, err := r.engine.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, status.Connected, conn.State)
	assert.Len(t, conn.Parts, 5)

	r.sync(t)
	assert.Contains(t, r.versions(t), alertID)

	drep, err := r.engine.Disconnect(ctx)
	require.NoError(t, err)
	assert.Equal(t, scom.PartSubscription, drep.PartsRemoved[0].Kind, "subscriptions first")
	assert.Equal(t, scom.PartConnector, drep.PartsRemoved[1].Kind)
	before := r.versions(t)

	_, err = r.engine.Sync(ctx)
	var nc *mpsync.NotConnectedError
	require.ErrorAs(t, err, &nc)
	assert.ErrorIs(t, err, mpsync.ErrNotConnected)
	assert.Equal(t, r.srv.WorkspaceID(), nc.WorkspaceID)
	assert.Equal(t, before, r.versions(t), "refused sync changes nothing")
	st, err := r.engine.Status(ctx)
	require.NoError(t, err, "status works while disconnected")
	assert.Equal(t, status.Disconnected, st.Connection.State)
	val, err := r.engine.Validate(ctx)
	require.NoError(t, err)
	failed := map[string]string{}
	for _, c := range val.Failed() {
		failed[c.Name] = c.Detail
	}
	assert.Equal(t, "missing", failed["part connector Advisor Connector"], "Validate reports each part: %v", failed)
	assert.Equal(t, "missing", failed["part connector-subscription "+scom.AlertSubscription])
	assert.Contains(t, failed, "connection")
	assert.Contains(t, failed, "pack "+alertID, "wanted packs are gone")

	_, err = r.engine.Connect(ctx)
	require.ErrorIs(t, err, mpsync.ErrResourcesMissing)
	assert.Contains(t, err.Error(), "Microsoft.SystemCenter.Advisor.Resources.ENU")
	assert.Contains(t, err.Error(), `\ManagementPacks folder of the Operations Manager 2016 installation media`, "a 2016 group's file is on the media")

	res := mpsynctest.Pack("Microsoft.SystemCenter.Advisor.Resources.ENU", "7.2.11719.0", scLib)
	_, err = r.store.Import(ctx, storage.ImportRequest{ID: "Microsoft.SystemCenter.Advisor.Resources.ENU", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}, strings.NewReader(string(res)))
	require.NoError(t, err)
	_, err = r.engine.Connect(ctx)
	require.NoError(t, err)
	rep = r.sync(t)
	require.NoError(t, rep.Err())
	assert.Contains(t, r.versions(t), alertID, "solutions come back after reconnect")

	v, err := r.engine.Validate(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK(), "failed checks: %+v", v.Failed())
}

func TestConnectRequirement(t *testing.T) {
	r := newRig(t, &mpsync.Options{Group: scom.ManagementGroup{Name: "Old", Version: pack.MustParseVersion("7.1.10226.0")}})
	_, err := r.engine.Connect(context.Background())
	require.ErrorIs(t, err, mpsync.ErrRequirement)
	var re *scom.RequirementError
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "Operations Manager 2012 R2", re.Release)
	assert.Contains(t, err.Error(), "7.1.10226.0")
	assert.Contains(t, err.Error(), "7.1.10226.1015")
	assert.Empty(t, r.versions(t))
	conn, err := r.engine.Connection(context.Background())
	require.NoError(t, err)
	assert.Equal(t, status.Never, conn.State, "a refused connect records nothing")
}

// The switch removes three of the four packs: the removal guard
// (Options.MaxRemovalShare) does not hold a switch the operator chose.
func TestSwitchWorkspaceRemovesOldPacksThroughApprover(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	other := mpsynctest.NewWorkspace(
		mpsynctest.WithWorkspaceID("ws-new"),
		mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib)),
	)
	rep, err := r.engine.SwitchWorkspace(ctx, newClient(t, other))
	require.NoError(t, err)
	assert.Equal(t, "remove/applied", results(rep)[alertID])
	assert.Equal(t, "keep/skipped", results(rep)[advisorID])
	conn, err := r.engine.Connection(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ws-new", conn.WorkspaceID)
	assert.NotContains(t, r.versions(t), alertID)

	_, err = mpsync.New(r.store, &mpsync.Options{Workspace: r.client, Clock: r.clock})
	require.NoError(t, err)
	e2 := r.newEngine(t, r.store, nil)
	_, err = e2.Sync(ctx)
	assert.ErrorIs(t, err, mpsync.ErrOtherWorkspace, "one workspace at a time")
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
			var g scom.ManagementGroup
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

// The proxy minimum (2012 SP1 UR7, 2012 R2 UR3) applies whenever the
// workspace client goes through a proxy, with no second setting to forget.
func TestProxyMinimumFollowsTheWorkspace(t *testing.T) {
	corp := status.Proxy{URL: "http://corpproxy:80", User: "svc"}
	ur2 := pack.MustParseVersion("7.1.10226.1015") // 2012 R2 UR2: no proxy support
	tests := []struct {
		name      string
		ws        func(*fakeWS) mpsync.Workspace
		opt       status.Proxy
		newErr    string // New refuses
		refused   bool   // Connect refuses for the proxy minimum
		wantProxy status.Proxy
	}{
		{name: "workspace without proxy", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, status.Proxy{}, true} }},
		{name: "workspace with proxy", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} },
			refused: true},
		{name: "Options.Proxy agrees", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} }, opt: corp,
			refused: true},
		{name: "Options.Proxy disagrees", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, corp, true} },
			opt: status.Proxy{URL: "http://other:3128"}, newErr: "disagrees"},
		{name: "Options.Proxy set, workspace has none", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, status.Proxy{}, true} },
			opt: corp, newErr: "disagrees"},
		{name: "workspace cannot tell: Options.Proxy decides", ws: func(f *fakeWS) mpsync.Workspace { return proxyWS{f, status.Proxy{}, false} },
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
				Group: scom.ManagementGroup{Version: ur2}, Clock: mpsynctest.NewManualClock(t0)})
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
				assert.Equal(t, status.Never, conn.State)
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
	assert.Equal(t, status.Proxy{URL: "http://127.0.0.1:1", User: "svc"}, p)
	e := newFakeEngine(t, cl, store.NewMemory(), &mpsync.Options{Group: scom.ManagementGroup{Version: pack.MustParseVersion("7.1.10226.1015")}})
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
