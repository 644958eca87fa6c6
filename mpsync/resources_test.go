package mpsync_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"mpsync.dev/mpsync/status"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
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
	var g scom.ManagementGroup
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
				assert.Equal(t, status.Connected, conn.State)
				return
			}
			require.ErrorIs(t, err, mpsync.ErrResourcesMissing)
			var re *mpsync.ResourcesError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, resourcesENU, re.Need.ID)
			for _, want := range tc.inErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, status.Disconnected, conn.State, "a refused reconnect records nothing")
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

// proxyWS is a fake workspace that reports a proxy.
type proxyWS struct {
	*fakeWS
	proxy status.Proxy
	known bool
}

func (w proxyWS) ProxyInfo() (status.Proxy, bool) { return w.proxy, w.known }

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
