package workspace_test

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/workspace"
)

func TestNewRefusesBadConfig(t *testing.T) {
	good := workspace.Config{BaseURL: "https://ws.example.test/", WorkspaceID: "ws-1", Key: "a2V5"}
	for _, tc := range []struct {
		name  string
		edit  func(*workspace.Config)
		field string
	}{
		{"no base url", func(c *workspace.Config) { c.BaseURL = "" }, "BaseURL"},
		{"plain http", func(c *workspace.Config) { c.BaseURL = "http://ws.example.test/" }, "BaseURL"},
		{"ftp", func(c *workspace.Config) { c.BaseURL = "ftp://ws.example.test/" }, "BaseURL"},
		{"user info", func(c *workspace.Config) { c.BaseURL = "https://u:p@ws.example.test/" }, "BaseURL"},
		{"query", func(c *workspace.Config) { c.BaseURL = "https://ws.example.test/?sig=x" }, "BaseURL"},
		{"no workspace id", func(c *workspace.Config) { c.WorkspaceID = "" }, "WorkspaceID"},
		{"workspace id with slash", func(c *workspace.Config) { c.WorkspaceID = "a/b" }, "WorkspaceID"},
		{"no key", func(c *workspace.Config) { c.Key = "" }, "Key"},
		{"bad base64 key", func(c *workspace.Config) { c.Key = "not base64!" }, "Key"},
		{"proxy creds in url", func(c *workspace.Config) { c.Proxy = "http://u:p@proxy:80" }, "Proxy"},
		{"proxy not a url", func(c *workspace.Config) { c.Proxy = "proxy" }, "Proxy"},
		{"proxy creds without proxy", func(c *workspace.Config) { c.ProxyUser = "u" }, "ProxyUser"},
		{"transport and proxy", func(c *workspace.Config) { c.Transport = http.DefaultTransport; c.Proxy = "http://p:1" }, "Transport"},
		{"transport and roots", func(c *workspace.Config) { c.Transport = http.DefaultTransport; c.RootCAs = x509.NewCertPool() }, "Transport"},
		{"negative max size", func(c *workspace.Config) { c.MaxPackSize = -1 }, "MaxPackSize"},
		{"negative parallel", func(c *workspace.Config) { c.Parallel = -1 }, "Parallel"},
		{"max below min", func(c *workspace.Config) { c.RetryWaitMin = 2; c.RetryWaitMax = 1 }, "RetryWaitMax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := workspace.New(cfg)
			require.ErrorIs(t, err, workspace.ErrConfig)
			assert.Contains(t, err.Error(), tc.field)
			if cfg.Key != "" && cfg.Key != good.Key {
				assert.NotContains(t, err.Error(), cfg.Key)
			}
		})
	}
	c, err := workspace.New(good)
	require.NoError(t, err)
	assert.Equal(t, "ws-1", c.ID())
	assert.Equal(t, "https://ws.example.test/workspaces/ws-1/catalog", c.CatalogURL())
	_, err = workspace.New(workspace.Config{BaseURL: "http://localhost:1/base", WorkspaceID: "w", Key: "a2V5", AllowHTTP: true})
	require.NoError(t, err)
	assert.False(t, errors.Is(err, workspace.ErrConfig))
}

func TestSignature(t *testing.T) {
	sts := workspace.StringToSign("GET", 0, "", "Mon, 02 Jan 2006 15:04:05 GMT", "/workspaces/ws/catalog")
	assert.Equal(t, "GET\n0\n\nx-ms-date:Mon, 02 Jan 2006 15:04:05 GMT\n/workspaces/ws/catalog", sts)
	// HMAC-SHA256 with key "key" over "The quick brown fox jumps over the
	// lazy dog" is a published test vector (RFC 4231 style, Wikipedia).
	got := workspace.Signature([]byte("key"), "The quick brown fox jumps over the lazy dog")
	assert.Equal(t, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=", got)

	req, _ := http.NewRequest("GET", "https://h/workspaces/a%20b/catalog?x=1", nil)
	assert.Equal(t, "/workspaces/a%20b/catalog", workspace.ResourcePath(req))
	workspace.Sign(req, "a b", []byte("key"), mustTime("2026-11-24T10:00:00Z"))
	assert.Equal(t, "Tue, 24 Nov 2026 10:00:00 GMT", req.Header.Get("x-ms-date"))
	assert.True(t, strings.HasPrefix(req.Header.Get("Authorization"), "SharedKey a b:"))
}
