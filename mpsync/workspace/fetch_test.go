package workspace_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

const alert = "Microsoft.IntelligencePacks.AlertManagement"

func TestFetchRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*mpsynctest.Server, *workspace.Config)
		want  []error
		step  string
	}{
		{"wrong hash in catalog", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.SHA256 = "0000000000000000000000000000000000000000000000000000000000000000" })
		}, []error{workspace.ErrPackRefused, workspace.ErrHashMismatch}, "sha256"},
		{"catalog size too small", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Size -= 10 })
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"catalog size too large", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Size += 10 })
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"truncated body", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Fail(alert, mpsynctest.Fault{Truncate: true, TruncateTo: 100})
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"connection dropped mid-body", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Fail(alert, mpsynctest.Fault{Drop: true, DropAfter: 200})
		}, []error{workspace.ErrUnavailable}, "download"},
		{"manifest lies about its id", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack("Contoso.Other", "7.2.11719.0"))
		}, []error{workspace.ErrPackRefused, pack.ErrIdentity}, "manifest"},
		{"manifest lies about its version", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alert, "7.2.11718.0"))
		}, []error{workspace.ErrPackRefused, pack.ErrIdentity}, "manifest"},
		{"binary starting with MZ but no assembly", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", []byte("MZ\x90\x00 a .NET assembly"))
		}, []error{workspace.ErrPackRefused, pack.ErrMalformed}, "manifest"},
		{"sealed pack lies about its version", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", sealedPack(t, alert, "7.2.11718.0"))
		}, []error{workspace.ErrPackRefused, pack.ErrIdentity}, "manifest"},
		{"over MaxPackSize", func(_ *mpsynctest.Server, c *workspace.Config) { c.MaxPackSize = 100 },
			[]error{workspace.ErrPackRefused, workspace.ErrTooLarge}, "size"},
		{"href with user information", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Href = "http://user:pw@" + hostOf(s) + "/packs/x" })
		}, []error{workspace.ErrPackRefused, workspace.ErrBadHref}, "href"},
		{"href with another scheme", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Href = "ftp://" + hostOf(s) + "/packs/x" })
		}, []error{workspace.ErrPackRefused, workspace.ErrBadHref}, "href"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			tc.setup(srv, &cfg)
			c := newClient(t, cfg)
			cat := mustCatalog(t, c)
			cacheBefore, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)

			rc, err := c.Fetch(context.Background(), packByID(t, cat, alert))
			require.Error(t, err)
			assert.Nil(t, rc)
			for _, w := range tc.want {
				assert.ErrorIs(t, err, w)
			}
			var pe *workspace.PackError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, alert, pe.ID)
			assert.Equal(t, tc.step, pe.Step)
			assert.Contains(t, err.Error(), alert)
			assert.Empty(t, tempFiles(t, cfg.TempDir), "a refused pack leaves no temporary file")
			cacheAfter, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)
			assert.Equal(t, cacheBefore, cacheAfter)
		})
	}
}

func hostOf(s *mpsynctest.Server) string {
	cfg := s.ClientConfig()
	return cfg.BaseURL[len("http://") : len(cfg.BaseURL)-1]
}

func TestFetchStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    mpsynctest.Fault
		want     error
		attempts int
	}{
		{"404", mpsynctest.Fault{Status: http.StatusNotFound}, workspace.ErrNotFound, 1},
		{"401", mpsynctest.Fault{Status: http.StatusUnauthorized}, workspace.ErrUnauthorized, 1},
		{"500 after retries", mpsynctest.Fault{Status: http.StatusInternalServerError}, workspace.ErrUnavailable, 3},
		{"503 after retries", mpsynctest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0"}, workspace.ErrUnavailable, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			c := newClient(t, cfg)
			cat := mustCatalog(t, c)
			srv.Fail("packs", tc.fault)
			_, err := c.Fetch(context.Background(), packByID(t, cat, alert))
			require.ErrorIs(t, err, tc.want)
			var he *workspace.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tc.attempts, he.Attempts)
			assert.Equal(t, tc.fault.Status, he.Status)
			assert.Contains(t, he.Op, alert)
			assert.Empty(t, tempFiles(t, cfg.TempDir))
		})
	}
}

func TestFetchRecoversFromTransientFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault mpsynctest.Fault
	}{
		{"dropped once", mpsynctest.Fault{Drop: true, DropAfter: 500, Times: 1}},
		{"503 twice", mpsynctest.Fault{Status: http.StatusServiceUnavailable, Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			c := newClient(t, cfg)
			cat := mustCatalog(t, c)
			srv.Fail(alert, tc.fault)
			rc, err := c.Fetch(context.Background(), packByID(t, cat, alert))
			require.NoError(t, err)
			m, err := pack.ReadManifest(rc)
			require.NoError(t, err)
			assert.Equal(t, alert, m.ID)
			require.NoError(t, rc.Close())
			assert.Empty(t, tempFiles(t, cfg.TempDir))
		})
	}
}

func TestFetchInMemoryDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mpsynctest.NewWorkspace(mpsynctest.WithPack("A.B", "1.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("A.B", "1.0.0.0")))
		srv.Fail("A.B", mpsynctest.Fault{Drop: true, DropAfter: 10})
		cfg := srv.ClientConfig()
		cfg.TempDir = t.TempDir()
		cfg.RetryMax = -1
		c := newClient(t, cfg)
		cat := mustCatalog(t, c)
		_, err := c.Fetch(context.Background(), packByID(t, cat, "A.B"))
		require.ErrorIs(t, err, workspace.ErrUnavailable)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Empty(t, tempFiles(t, cfg.TempDir))
	})
}

func TestFetchAll(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	cfg.Parallel = 2
	c := newClient(t, cfg)
	cat := mustCatalog(t, c)

	var mu sync.Mutex
	var got []string
	err := c.FetchAll(context.Background(), cat.Packs, func(p catalog.Pack, r io.Reader) error {
		m, err := pack.ReadManifest(r)
		if err != nil {
			return err
		}
		mu.Lock()
		got = append(got, m.ID)
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	sort.Strings(got)
	assert.Equal(t, []string{"Microsoft.IntelligencePacks.AlertManagement", "Microsoft.SystemCenter.Advisor", "Microsoft.SystemCenter.Advisor.Internal"}, got)
	assert.Empty(t, tempFiles(t, cfg.TempDir))

	t.Run("first error stops the rest", func(t *testing.T) {
		boom := errors.New("store full")
		err := c.FetchAll(context.Background(), cat.Packs, func(p catalog.Pack, r io.Reader) error { return boom })
		require.ErrorIs(t, err, boom)
		assert.Contains(t, err.Error(), "pack ")
		assert.Empty(t, tempFiles(t, cfg.TempDir))
	})
	t.Run("a refused pack", func(t *testing.T) {
		srv.Fail(alert, mpsynctest.Fault{Truncate: true, TruncateTo: 10})
		defer srv.ClearFaults()
		err := c.FetchAll(context.Background(), cat.Packs, func(catalog.Pack, io.Reader) error { return nil })
		require.ErrorIs(t, err, workspace.ErrSizeMismatch)
		assert.Empty(t, tempFiles(t, cfg.TempDir))
	})
}

// docs/protocol.md allows an absolute href; it may name another host (a download
// server that holds the same workspace key).
func TestFetchFromAbsoluteHrefOnAnotherHost(t *testing.T) {
	srv := newFake(t)
	mirror := mpsynctest.NewServer(mpsynctest.WithWorkspaceID(srv.WorkspaceID()), mpsynctest.WithKey(srv.Key()),
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithPack(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alert, "7.2.11719.0", sc)))
	t.Cleanup(mirror.Close)
	p := packByID(t, mirror.Catalog(), alert)
	base, err := url.Parse(mirror.URL() + "workspaces/" + srv.WorkspaceID() + "/catalog")
	require.NoError(t, err)
	abs := base.ResolveReference(&url.URL{Path: p.Href}).String()
	srv.Tamper(alert, func(q *catalog.Pack) { q.Href = abs })

	cfg := testConfig(t, srv, nil)
	c := newClient(t, cfg)
	rc, err := c.Fetch(context.Background(), packByID(t, mustCatalog(t, c), alert))
	require.NoError(t, err)
	defer rc.Close()
	m, err := pack.ReadManifest(rc)
	require.NoError(t, err)
	assert.Equal(t, alert, m.ID)
	assert.Equal(t, 1, mirror.Stats().PackRequests, "the pack came from the other host")
	assert.Zero(t, srv.Stats().PackRequests)
}
