package workspace_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

func TestCatalogThenFetch(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	c := newClient(t, cfg)
	ctx := context.Background()

	res, err := c.Catalog(ctx)
	require.NoError(t, err)
	assert.False(t, res.NotModified)
	assert.False(t, res.Stale)
	assert.Equal(t, srv.ETag(), res.ETag)
	assert.Len(t, res.Catalog.Packs, 3)
	assert.Equal(t, srv.Serial(), res.Catalog.Serial)
	assert.FileExists(t, cacheFile(cfg))

	for _, p := range res.Catalog.Packs {
		rc, err := c.Fetch(ctx, p)
		require.NoError(t, err, p.ID)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		assert.EqualValues(t, p.Size, len(b))
		assert.NotEmpty(t, tempFiles(t, cfg.TempDir), "the verified pack is on disk until Close")
		require.NoError(t, rc.Close())
		assert.Empty(t, tempFiles(t, cfg.TempDir), "Close removes the temporary file")
	}
	st := srv.Stats()
	assert.Equal(t, 1, st.CatalogRequests)
	assert.Equal(t, 3, st.PackRequests)
	assert.Zero(t, st.Refused)
}

func TestUnchangedCatalogCostsOneConditionalRequest(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	c := newClient(t, cfg)
	ctx := context.Background()
	first := mustCatalog(t, c)

	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(cacheFile(cfg), old, old))
	before, err := os.ReadFile(cacheFile(cfg))
	require.NoError(t, err)
	srv.ResetStats()

	res, err := c.Catalog(ctx)
	require.NoError(t, err)
	assert.True(t, res.NotModified)
	assert.Same(t, first, res.Catalog, "a 304 returns the held catalog without parsing it again")

	st := srv.Stats()
	assert.Equal(t, 1, st.Requests)
	assert.Equal(t, 1, st.NotModified)
	assert.Zero(t, st.CatalogBytes)
	assert.Zero(t, st.PackRequests)
	assert.Zero(t, st.PackBytes)
	assert.Equal(t, srv.ETag(), srv.Requests()[0].IfNoneMatch)

	fi, err := os.Stat(cacheFile(cfg))
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(old), "the cache was not rewritten")
	after, err := os.ReadFile(cacheFile(cfg))
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func TestCatalogFollowsChanges(t *testing.T) {
	srv := newFake(t)
	c := newClient(t, testConfig(t, srv, nil))
	first := mustCatalog(t, c)

	srv.EnableSolution("Updates")
	srv.Publish("Microsoft.IntelligencePacks.UpdateAssessment", "7.2.11719.0", catalog.ChannelSolution, "Updates",
		mpsynctest.Pack("Microsoft.IntelligencePacks.UpdateAssessment", "7.2.11719.0"))
	srv.DisableSolution("AlertManagement")
	second := mustCatalog(t, c)
	assert.Greater(t, second.Serial, first.Serial)
	assert.True(t, second.Enabled("Updates"))
	assert.False(t, second.Enabled("AlertManagement"))
	packByID(t, second, "Microsoft.IntelligencePacks.UpdateAssessment")

	srv.Unpublish("Microsoft.IntelligencePacks.UpdateAssessment")
	third := mustCatalog(t, c)
	_, ok := third.Pack("Microsoft.IntelligencePacks.UpdateAssessment")
	assert.False(t, ok)
}

func TestStaleCatalogWhenServiceIsDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*mpsynctest.Server)
	}{
		{"503", func(s *mpsynctest.Server) { s.Fail("catalog", mpsynctest.Fault{Status: http.StatusServiceUnavailable}) }},
		{"500", func(s *mpsynctest.Server) {
			s.Fail("catalog", mpsynctest.Fault{Status: http.StatusInternalServerError})
		}},
		{"429", func(s *mpsynctest.Server) { s.Fail("catalog", mpsynctest.Fault{Status: http.StatusTooManyRequests}) }},
		{"network", func(s *mpsynctest.Server) { s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			c := newClient(t, cfg)
			first, err := c.Catalog(context.Background())
			require.NoError(t, err)
			before, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)

			tc.down(srv)
			res, err := c.Catalog(context.Background())
			require.NoError(t, err)
			assert.True(t, res.Stale)
			assert.Same(t, first.Catalog, res.Catalog)
			assert.Equal(t, first.FetchedAt, res.FetchedAt, "since when the catalog is known")
			require.Error(t, res.Err)
			assert.ErrorIs(t, res.Err, workspace.ErrUnavailable)
			var he *workspace.HTTPError
			require.ErrorAs(t, res.Err, &he)
			assert.Equal(t, 3, he.Attempts, "1 request + RetryMax retries")
			after, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)
			assert.Equal(t, before, after)
		})
	}
}

func TestUnavailableWithNothingHeld(t *testing.T) {
	srv := newFake(t)
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusServiceUnavailable, Code: "Maintenance", Message: "back soon"})
	c := newClient(t, testConfig(t, srv, nil))
	_, err := c.Catalog(context.Background())
	require.ErrorIs(t, err, workspace.ErrUnavailable)
	var he *workspace.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusServiceUnavailable, he.Status)
	assert.Equal(t, "Maintenance", he.Code)
	assert.Equal(t, "back soon", he.Message)
	assert.Equal(t, 3, he.Attempts)
	assert.Equal(t, 3, srv.Stats().CatalogRequests)
	assert.NotContains(t, err.Error(), "giving up")
	assert.Contains(t, err.Error(), "/catalog")
}

func TestErrorsThatAreNeverStale(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   error
	}{
		{"401", http.StatusUnauthorized, workspace.ErrUnauthorized},
		{"403", http.StatusForbidden, workspace.ErrUnauthorized},
		{"404", http.StatusNotFound, workspace.ErrNotFound},
		{"400", http.StatusBadRequest, workspace.ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			c := newClient(t, testConfig(t, srv, nil))
			mustCatalog(t, c)
			srv.ResetStats()
			srv.Fail("catalog", mpsynctest.Fault{Status: tc.status})
			res, err := c.Catalog(context.Background())
			require.ErrorIs(t, err, tc.want)
			assert.NotErrorIs(t, err, workspace.ErrUnavailable)
			assert.Nil(t, res.Catalog)
			var he *workspace.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tc.status, he.Status)
			assert.Equal(t, 1, srv.Stats().Requests, "never retried")
		})
	}
}

func TestRealAuthFailures(t *testing.T) {
	srv := newFake(t)
	t.Run("wrong key", func(t *testing.T) {
		cfg := testConfig(t, srv, nil)
		cfg.Key = "d3Jvbmcta2V5"
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.ErrorIs(t, err, workspace.ErrUnauthorized)
		var he *workspace.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, "InvalidSignature", he.Code)
	})
	t.Run("clock skew", func(t *testing.T) {
		cfg := testConfig(t, srv, nil)
		cfg.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.ErrorIs(t, err, workspace.ErrUnauthorized)
		var he *workspace.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, "ClockSkew", he.Code)
	})
	t.Run("skew within 15 minutes", func(t *testing.T) {
		cfg := testConfig(t, srv, nil)
		cfg.Now = func() time.Time { return time.Now().Add(-14 * time.Minute) }
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.NoError(t, err)
	})
	t.Run("unknown workspace", func(t *testing.T) {
		cfg := testConfig(t, srv, nil)
		cfg.WorkspaceID = "00000000-0000-0000-0000-000000000000"
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.ErrorIs(t, err, workspace.ErrNotFound)
	})
}

func TestRetriesThenSucceeds(t *testing.T) {
	srv := newFake(t)
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusBadGateway, Times: 2})
	c := newClient(t, testConfig(t, srv, nil))
	mustCatalog(t, c)
	assert.Equal(t, 3, srv.Stats().CatalogRequests)
	assert.Equal(t, 2, srv.Stats().Faults)
}

func TestEveryServerErrorIsRetried(t *testing.T) {
	for _, status := range []int{500, 501, 502, 503, 504, 599, 429} {
		srv := newFake(t)
		srv.Fail("catalog", mpsynctest.Fault{Status: status, Times: 1})
		c := newClient(t, testConfig(t, srv, nil))
		mustCatalog(t, c)
		assert.Equal(t, 2, srv.Stats().CatalogRequests, "status %d is retried (docs/protocol.md: 429 and 5xx)", status)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		value  func(now time.Time) string
		wait   time.Duration
	}{
		{"seconds", http.StatusTooManyRequests, func(time.Time) string { return "120" }, 120 * time.Second},
		{"http date", http.StatusTooManyRequests, func(now time.Time) string { return now.Add(90 * time.Second).UTC().Format(http.TimeFormat) }, 90 * time.Second},
		{"on a 500", http.StatusInternalServerError, func(time.Time) string { return "60" }, 60 * time.Second},
		{"on a 502", http.StatusBadGateway, func(now time.Time) string { return now.Add(30 * time.Second).UTC().Format(http.TimeFormat) }, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := mpsynctest.NewWorkspace()
				srv.Fail("catalog", mpsynctest.Fault{Status: tc.status, RetryAfter: tc.value(time.Now()), Times: 1})
				cfg := srv.ClientConfig()
				cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, time.Millisecond
				c := newClient(t, cfg)
				start := time.Now()
				_, err := c.Catalog(context.Background())
				require.NoError(t, err)
				elapsed := time.Since(start)
				assert.GreaterOrEqual(t, elapsed, tc.wait-time.Second)
				assert.Less(t, elapsed, tc.wait+time.Second)
				assert.Equal(t, 2, srv.Stats().CatalogRequests)
			})
		})
	}
}

func TestBackoffIsBoundedByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mpsynctest.NewWorkspace()
		srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "3600"})
		cfg := srv.ClientConfig()
		cfg.MaxRetryAfter = 2 * time.Hour // honour the hour; the context ends first
		c := newClient(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.Catalog(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 1, srv.Stats().CatalogRequests)
	})
}

func TestRestartStartsFromCache(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	first := mustCatalog(t, newClient(t, cfg))

	c2 := newClient(t, cfg)
	held, etag, _, ok := c2.Held()
	require.True(t, ok)
	assert.Equal(t, first.Serial, held.Serial)
	assert.Equal(t, srv.ETag(), etag)

	srv.ResetStats()
	res, err := c2.Catalog(context.Background())
	require.NoError(t, err)
	assert.True(t, res.NotModified)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, srv.ETag(), reqs[0].IfNoneMatch)

	// A restarted client answers from the cache when the service is down.
	srv.Close()
	c3 := newClient(t, cfg)
	res, err = c3.Catalog(context.Background())
	require.NoError(t, err)
	assert.True(t, res.Stale)
	assert.Equal(t, first.Serial, res.Catalog.Serial)
}

func TestCorruptCacheIsIgnored(t *testing.T) {
	srv := newFake(t)
	lb := &logBuffer{}
	cfg := testConfig(t, srv, lb)
	require.NoError(t, os.MkdirAll(cfg.CacheDir, 0o700))
	require.NoError(t, os.WriteFile(cacheFile(cfg), []byte("{not json"), 0o600))
	c := newClient(t, cfg)
	_, _, _, ok := c.Held()
	assert.False(t, ok)
	assert.Contains(t, lb.String(), "ignoring cached catalog")
	mustCatalog(t, c)
}

func TestInvalidCatalogChangesNothing(t *testing.T) {
	srv := newFake(t)
	good := srv.Catalog()
	body := func(edit func(m map[string]any)) []byte {
		b, _ := jsonRoundTrip(good, edit)
		return b
	}
	for _, tc := range []struct {
		name string
		body []byte
		want []error
	}{
		{"not json", []byte("<html>"), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"schema 2.0", body(func(m map[string]any) { m["schemaVersion"] = "2.0" }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"other workspace", body(func(m map[string]any) { m["workspaceId"] = "someone-else" }), []error{workspace.ErrInvalidCatalog}},
		{"bad sha", body(func(m map[string]any) { pk(m, 0)["sha256"] = "XYZ" }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"bad id", body(func(m map[string]any) { pk(m, 0)["id"] = "bad id!" }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"bad version", body(func(m map[string]any) { pk(m, 0)["version"] = "1.x" }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"duplicate id", body(func(m map[string]any) { pk(m, 1)["id"] = pk(m, 0)["id"] }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"bad channel", body(func(m map[string]any) { pk(m, 0)["channel"] = "beta" }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
		{"negative size", body(func(m map[string]any) { pk(m, 0)["size"] = -1 }), []error{workspace.ErrInvalidCatalog, catalog.ErrInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, srv, nil)
			c := newClient(t, cfg)
			srv.ClearFaults()
			first := mustCatalog(t, c)
			before, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)

			srv.EnableSolution("Force" + tc.name) // a new ETag, so the body is served
			srv.Fail("catalog", mpsynctest.Fault{Body: tc.body})
			_, err = c.Catalog(context.Background())
			for _, w := range tc.want {
				require.ErrorIs(t, err, w)
			}
			held, _, _, ok := c.Held()
			require.True(t, ok)
			assert.Same(t, first, held)
			after, err := os.ReadFile(cacheFile(cfg))
			require.NoError(t, err)
			assert.Equal(t, before, after)
		})
	}
}

func TestLowerSerialIsRefused(t *testing.T) {
	srv := newFake(t)
	srv.SetSerial(10)
	cfg := testConfig(t, srv, nil)
	c := newClient(t, cfg)
	mustCatalog(t, c)

	srv.SetSerial(7)
	_, err := c.Catalog(context.Background())
	require.ErrorIs(t, err, workspace.ErrSerialRegressed)
	assert.Contains(t, err.Error(), "serial 7 is lower than the held catalog's 10")
	held, _, _, _ := c.Held()
	assert.EqualValues(t, 10, held.Serial)

	cfg.AcceptLowerSerial = true
	c2 := newClient(t, cfg)
	res, err := c2.Catalog(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 7, res.Catalog.Serial)
}

func TestNotModifiedWithoutHeldCatalog(t *testing.T) {
	srv := newFake(t)
	srv.FailFunc(func(*http.Request) bool { return true }, mpsynctest.Fault{Status: http.StatusNotModified})
	_, err := newClient(t, testConfig(t, srv, nil)).Catalog(context.Background())
	require.ErrorIs(t, err, workspace.ErrInvalidCatalog)
	assert.Contains(t, err.Error(), "no catalog is held")
}

func TestCatalogContextCancelled(t *testing.T) {
	srv := newFake(t)
	srv.Fail("catalog", mpsynctest.Fault{Delay: time.Hour})
	c := newClient(t, testConfig(t, srv, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Catalog(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, workspace.ErrUnavailable))
}

// A Retry-After longer than MaxRetryAfter is not waited for: the service is
// treated as unavailable at once and the last-known catalog is served.
func TestLongRetryAfterServesLastKnownAtOnce(t *testing.T) {
	for _, after := range []string{"3600", "90000"} {
		t.Run(after, func(t *testing.T) { testLongRetryAfter(t, after) })
	}
}

func testLongRetryAfter(t *testing.T, after string) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	cfg.MaxRetryAfter = time.Minute
	c := newClient(t, cfg)
	mustCatalog(t, c)
	srv.ResetStats()
	srv.Fail("catalog", mpsynctest.Fault{Status: 503, RetryAfter: after})
	res, err := c.Catalog(context.Background())
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	if !res.Stale || !errors.Is(res.Err, workspace.ErrUnavailable) {
		t.Fatalf("want a stale result for an unavailable service, got stale=%t err=%v", res.Stale, res.Err)
	}
	if n := srv.Stats().CatalogRequests; n != 1 {
		t.Fatalf("%d catalog requests, want 1: a one-hour Retry-After must not be waited for", n)
	}
	if _, err := workspace.New(workspace.Config{BaseURL: srv.URL(), WorkspaceID: srv.WorkspaceID(), Key: srv.Key(), AllowHTTP: true, MaxRetryAfter: -1}); err == nil {
		t.Fatal("a negative MaxRetryAfter was accepted")
	}
}
