package workspace_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
)

// echoServer answers the catalog request with status and an error body
// echoing the request's Authorization header (as some proxies and servers
// do), with extra appended to the message; it records the values it
// echoed.
type echoServer struct {
	mu   sync.Mutex
	seen []string
}

func (e *echoServer) handler(srv *mpsynctest.Server, status int, extra string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/catalog") {
			srv.ServeHTTP(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		e.mu.Lock()
		e.seen = append(e.seen, auth)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		msg := "request headers: Authorization: " + auth + "; x-ms-date: " + r.Header.Get("x-ms-date") + extra
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "Echo " + auth, "message": msg}})
	})
}

// Regression (issue 15, point 4): the request's SharedKey signature leaked
// when a proxy or server echoed the request's headers in an error body;
// and (point 6) escape sequences in the service's error text were kept raw.
func TestRegressionEchoedSignatureIsRedacted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{
		{"bad request", http.StatusBadRequest},
		{"unauthorized", http.StatusUnauthorized},
		{"forbidden", http.StatusForbidden},
		{"server error, retried", http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			echo := &echoServer{}
			hs := httptest.NewServer(echo.handler(srv, tc.status, "\x1b]0;pwned\x07\x1b[2J"))
			t.Cleanup(hs.Close)
			lb := &logBuffer{}
			cfg := testConfig(t, srv, lb)
			cfg.BaseURL, cfg.CacheDir = hs.URL+"/", "" // no cache: the error, not a stale catalog
			c := newClient(t, cfg)
			_, err := c.Catalog(context.Background())
			require.Error(t, err)
			text := err.Error()
			echo.mu.Lock()
			seen := append([]string(nil), echo.seen...)
			echo.mu.Unlock()
			require.NotEmpty(t, seen)
			for _, auth := range seen {
				require.True(t, strings.HasPrefix(auth, "SharedKey "), auth)
				sig := auth[strings.LastIndex(auth, ":")+1:]
				assert.NotContains(t, text, sig, "the signature is in the error")
				assert.NotContains(t, lb.String(), sig, "the signature is in the log")
			}
			assert.Contains(t, text, "Authorization: [REDACTED]")
			assert.NotContains(t, text, "\x1b", "a raw escape reaches the error text")
			assert.NotContains(t, text, "\x07")
			assert.Contains(t, text, `\x1b]0;pwned\x07`, "the escape is shown, escaped")
		})
	}
}
