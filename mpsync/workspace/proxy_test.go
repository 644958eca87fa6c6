package workspace_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

// TestRealProxy goes through a real proxy (tinyproxy, started by
// .ci/tinyproxy.sh) to the loopback fake workspace.
func TestRealProxy(t *testing.T) {
	proxyURL := os.Getenv("MPSYNC_TEST_PROXY_URL")
	if proxyURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MPSYNC_TEST_PROXY_URL is unset in CI: run eval \"$(.ci/tinyproxy.sh)\" first")
		}
		t.Skip("MPSYNC_TEST_PROXY_URL is unset; run eval \"$(.ci/tinyproxy.sh)\" to test through a real proxy")
	}
	user, password := os.Getenv("MPSYNC_TEST_PROXY_USER"), os.Getenv("MPSYNC_TEST_PROXY_PASSWORD")
	srv := newFake(t)

	t.Run("catalog and pack through the proxy", func(t *testing.T) {
		lb := &logBuffer{}
		cfg := testConfig(t, srv, lb)
		cfg.Proxy, cfg.ProxyUser, cfg.ProxyPassword = proxyURL, user, password
		c := newClient(t, cfg)
		srv.ResetStats()
		cat := mustCatalog(t, c)
		rc, err := c.Fetch(context.Background(), packByID(t, cat, alert))
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		st := srv.Stats()
		assert.Equal(t, 1, st.CatalogRequests)
		assert.Equal(t, 1, st.PackRequests)
		noSecrets(t, lb.String(), password, cfg.Key)
	})
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", user, "not-the-password"},
		{"no credentials", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb := &logBuffer{}
			cfg := testConfig(t, srv, lb)
			cfg.Proxy, cfg.ProxyUser, cfg.ProxyPassword = proxyURL, tc.user, tc.password
			_, err := newClient(t, cfg).Catalog(context.Background())
			require.ErrorIs(t, err, workspace.ErrProxyAuth)
			var he *workspace.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 1, he.Attempts, "proxy authentication failures are not retried")
			noSecrets(t, err.Error()+lb.String(), tc.password, password, cfg.Key)
		})
	}
}

// connectProxy is a CONNECT-only proxy that requires Basic credentials.
func connectProxy(t *testing.T, user, password string, seen *atomic.Int32) *httptest.Server {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Proxy-Authorization") != want {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		seen.Add(1)
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(upstream, buf.Reader); upstream.Close() }()
		_, _ = io.Copy(conn, upstream)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

// TestHTTPSThroughConnectProxy checks TLS verification with RootCAs and
// that proxy credentials go on the CONNECT.
func TestHTTPSThroughConnectProxy(t *testing.T) {
	fake := mpsynctest.NewWorkspace(mpsynctest.WithPack(alert, "7.2.11719.0", "solution", "AlertManagement", mpsynctest.Pack(alert, "7.2.11719.0")),
		mpsynctest.WithSolution("AlertManagement", true))
	tlsSrv := httptest.NewTLSServer(fake)
	t.Cleanup(tlsSrv.Close)
	var seen atomic.Int32
	proxy := connectProxy(t, "svc", "s3cret-proxy-pw", &seen)

	base := func() workspace.Config {
		return workspace.Config{
			BaseURL: tlsSrv.URL + "/", WorkspaceID: fake.WorkspaceID(), Key: fake.Key(),
			Proxy: proxy.URL, ProxyUser: "svc", ProxyPassword: "s3cret-proxy-pw",
			RootCAs: poolOf(tlsSrv), TempDir: t.TempDir(),
			RetryMax: 1, RetryWaitMin: 1, RetryWaitMax: 2,
		}
	}
	t.Run("ok", func(t *testing.T) {
		c := newClient(t, base())
		cat := mustCatalog(t, c)
		rc, err := c.Fetch(context.Background(), packByID(t, cat, alert))
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.GreaterOrEqual(t, seen.Load(), int32(1))
	})
	t.Run("wrong proxy password", func(t *testing.T) {
		lb := &logBuffer{}
		cfg := base()
		cfg.ProxyPassword = "wrong-proxy-pw"
		cfg.Logger = lb.logger()
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.ErrorIs(t, err, workspace.ErrProxyAuth)
		noSecrets(t, err.Error()+lb.String(), "wrong-proxy-pw", "s3cret-proxy-pw", cfg.Key)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		cfg := base()
		cfg.RootCAs = nil
		_, err := newClient(t, cfg).Catalog(context.Background())
		require.Error(t, err)
		var he *workspace.HTTPError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 1, he.Attempts, "certificate errors are not retried")
	})
}
