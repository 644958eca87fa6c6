package workspace_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

// TestSecretsNeverLeak runs succeeding and failing calls with a Debug
// logger and checks that no log record and no error text holds the key,
// an Authorization value or the proxy password.
func TestSecretsNeverLeak(t *testing.T) {
	const proxyPassword = "pr0xy-Pa55word-never-shown"
	srv := newFake(t)
	var authMu sync.Mutex
	var auths []string
	// A forward proxy in front of the fake that records the Authorization
	// values it sees and checks proxy credentials.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+proxyPassword))
		if r.Header.Get("Proxy-Authorization") != want {
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		authMu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		authMu.Unlock()
		r.Header.Del("Proxy-Authorization")
		srv.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	lb := &logBuffer{}
	var errs []string
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
			for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
				errs = append(errs, e.Error())
			}
		}
	}
	cfgWith := func(mut func(*workspace.Config)) workspace.Config {
		cfg := testConfig(t, srv, lb)
		cfg.Proxy, cfg.ProxyUser, cfg.ProxyPassword = proxy.URL, "svc", proxyPassword
		if mut != nil {
			mut(&cfg)
		}
		return cfg
	}
	ctx := context.Background()

	// Succeeding calls.
	c := newClient(t, cfgWith(nil))
	res, err := c.Catalog(ctx)
	require.NoError(t, err)
	_, err = c.Catalog(ctx) // 304
	require.NoError(t, err)
	for _, p := range res.Catalog.Packs {
		rc, err := c.Fetch(ctx, p)
		require.NoError(t, err)
		rc.Close()
	}
	// 500 after retries, then stale.
	srv.Fail("catalog", mpsynctest.Fault{Status: 500, Message: "internal"})
	res2, err := c.Catalog(ctx)
	require.NoError(t, err)
	require.True(t, res2.Stale)
	collect(res2.Err)
	srv.ClearFaults()
	// A 400 with an error body (not retried).
	srv.FailFunc(func(r *http.Request) bool { return true }, mpsynctest.Fault{Status: 400, Message: "echo"})
	_, err = newClient(t, cfgWith(nil)).Catalog(ctx)
	collect(err)
	srv.ClearFaults()
	// 401: a wrong key (its own value must not leak either).
	_, err = newClient(t, cfgWith(func(c *workspace.Config) { c.Key = "d3Jvbmcta2V5LWFsc28tc2VjcmV0" })).Catalog(ctx)
	require.ErrorIs(t, err, workspace.ErrUnauthorized)
	collect(err)
	// Bad proxy credentials.
	_, err = newClient(t, cfgWith(func(c *workspace.Config) { c.ProxyPassword = proxyPassword + "-wrong" })).Catalog(ctx)
	require.ErrorIs(t, err, workspace.ErrProxyAuth)
	collect(err)
	// A proxy that does not answer.
	_, err = newClient(t, cfgWith(func(c *workspace.Config) { c.Proxy = "http://127.0.0.1:1" })).Catalog(ctx)
	require.ErrorIs(t, err, workspace.ErrUnavailable)
	collect(err)

	require.NotEmpty(t, auths)
	text := lb.String() + "\n" + strings.Join(errs, "\n")
	require.Contains(t, text, "level=DEBUG", "the logger was used")
	secrets := []string{srv.Key(), "d3Jvbmcta2V5LWFsc28tc2VjcmV0", proxyPassword,
		base64.StdEncoding.EncodeToString([]byte("svc:" + proxyPassword))}
	for _, a := range auths {
		secrets = append(secrets, a, strings.TrimPrefix(a, "SharedKey "+srv.WorkspaceID()+":"))
	}
	noSecrets(t, text, secrets...)
}
