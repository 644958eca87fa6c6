package workspace_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/workspace"
)

// stall answers like the fake workspace, except that the requests bad
// matches get the misbehaviour given; every wait ends when the client gives
// up (or the test ends), so no goroutine outlives the test.
func stall(t *testing.T, next http.Handler, bad func(*http.Request) bool, misbehave func(http.ResponseWriter, *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bad(r) {
			misbehave(w, r)
			return
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func noHeaders(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func stallMidBody(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK) // chunked: no Content-Length to refuse early
	w.Write([]byte("<ManagementPack"))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func drip(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

// A service that accepted the connection and then stalled used to hold a
// sync forever (still running after 400 s).
func TestStalledServiceTimesOut(t *testing.T) {
	isCatalog := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/catalog") }
	isPack := func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/packs/") }
	tests := []struct {
		name      string
		bad       func(*http.Request) bool
		misbehave func(http.ResponseWriter, *http.Request)
		fetch     bool // the pack download stalls, not the catalog
		what      string
	}{
		{"catalog: no response headers", isCatalog, noHeaders, false, "response headers not received within 100ms (Config.HeaderTimeout)"},
		{"pack: no response headers", isPack, noHeaders, true, "response headers not received"},
		{"pack: stops mid-body", isPack, stallMidBody, true, "the body (no data) not received within 100ms (Config.IdleTimeout)"},
		{"pack: a byte now and then", isPack, drip, true, "the whole request not received within 400ms (Config.RequestTimeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			cfg := testConfig(t, fake, nil)
			cfg.BaseURL = stall(t, fake, tt.bad, tt.misbehave)
			cfg.HeaderTimeout, cfg.IdleTimeout, cfg.RequestTimeout = 100*time.Millisecond, 100*time.Millisecond, 400*time.Millisecond
			cfg.CacheDir = "" // no last-known catalog to fall back on
			c := newClient(t, cfg)
			start := time.Now()
			var err error
			if tt.fetch {
				res, cerr := c.Catalog(context.Background())
				require.NoError(t, cerr)
				_, err = c.Fetch(context.Background(), res.Catalog.Packs[0])
			} else {
				_, err = c.Catalog(context.Background())
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, workspace.ErrTimeout)
			var te *workspace.TimeoutError
			require.True(t, errors.As(err, &te), "%v", err)
			assert.Contains(t, err.Error(), tt.what)
			assert.Contains(t, te.URL, "127.0.0.1", "the error names the request")
			// RetryMax 2: three attempts, each bounded.
			assert.Less(t, time.Since(start), 10*time.Second, "bounded, retries included")
		})
	}
}

func TestTimeoutsValidated(t *testing.T) {
	fake := newFake(t)
	cfg := testConfig(t, fake, nil)
	cfg.IdleTimeout = -time.Second
	_, err := workspace.New(cfg)
	assert.ErrorIs(t, err, workspace.ErrConfig)
	assert.Contains(t, err.Error(), "IdleTimeout")
}

// Review: a catalog body that stalled was read after the attempt, so it was
// neither retried nor answered by the last-known catalog.
func TestStalledCatalogBodyIsRetriedThenStale(t *testing.T) {
	fake := newFake(t)
	var stalling atomic.Bool
	var attempts atomic.Int32
	cfg := testConfig(t, fake, nil)
	cfg.BaseURL = stall(t, fake, func(r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/catalog") && stalling.Load() {
			attempts.Add(1)
			return true
		}
		return false
	}, stallMidBody)
	cfg.HeaderTimeout, cfg.IdleTimeout, cfg.RequestTimeout = time.Second, 100*time.Millisecond, 2*time.Second
	c := newClient(t, cfg)
	first, err := c.Catalog(context.Background())
	require.NoError(t, err)

	stalling.Store(true)
	res, err := c.Catalog(context.Background())
	require.NoError(t, err, "the last-known catalog answers")
	assert.True(t, res.Stale)
	assert.Equal(t, first.Catalog.Serial, res.Catalog.Serial)
	assert.ErrorIs(t, res.Err, workspace.ErrTimeout)
	assert.EqualValues(t, cfg.RetryMax+1, attempts.Load(), "each attempt's body stalled, and each was retried")
}
