package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression (issue 15, point 4): the request's SharedKey signature leaked
// when a proxy or server echoed the request's headers in an error body:
// printed to stderr, in the JSON and in the ledger. And (point 6) escape
// sequences in the server's error text reached the terminal raw.
func TestRegressionEchoedSignatureNeverShown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
	}{
		{"rejected", http.StatusBadRequest},
		{"unavailable, stale catalog", http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var echo atomic.Bool
			var mu sync.Mutex
			var sigs []string
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !echo.Load() || !strings.HasSuffix(r.URL.Path, "/catalog") {
					f.srv.ServeHTTP(w, r)
					return
				}
				auth := r.Header.Get("Authorization")
				mu.Lock()
				sigs = append(sigs, auth[strings.LastIndex(auth, ":")+1:])
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
					"code":    "EchoedHeaders",
					"message": "\x1b[2J\x1b]0;owned\x07bad request; headers were Authorization: " + auth + ", x-ms-date: " + r.Header.Get("x-ms-date"),
				}})
			}))
			t.Cleanup(hs.Close)
			args := func(extra ...string) []string {
				return append([]string{"--store", f.store, "--workspace-url", hs.URL + "/", "--allow-http",
					"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", f.keyFile, "--retries", "0"}, extra...)
			}
			r := runCLI(t, cleanEnv(), args("sync")...)
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)

			echo.Store(true)
			human := runCLI(t, cleanEnv(), args("sync")...)
			js := runCLI(t, cleanEnv(), args("sync", "--json")...)
			status := runCLI(t, cleanEnv(), args("status")...)
			mu.Lock()
			require.NotEmpty(t, sigs, "the server echoed nothing")
			seen := append([]string(nil), sigs...)
			mu.Unlock()

			var stored strings.Builder
			require.NoError(t, filepath.Walk(f.store, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".xml") {
					b, rerr := os.ReadFile(p)
					require.NoError(t, rerr)
					stored.Write(b)
				}
				return err
			}))
			outputs := map[string]string{
				"stderr": human.stderr + js.stderr + status.stderr, "stdout": human.stdout + status.stdout,
				"json": js.stdout, "store (ledger, runs)": stored.String(),
			}
			for where, text := range outputs {
				for _, sig := range seen {
					assert.NotContains(t, text, sig, "the signature is in the %s", where)
				}
				if where != "store (ledger, runs)" {
					assert.NotContains(t, text, "\x1b", "a raw escape is in the %s", where)
				}
			}
			if tc.status == http.StatusBadRequest {
				assert.NotEqual(t, 0, human.code)
				assert.Contains(t, oneLineErr(t, human.stderr), "Authorization: [REDACTED]")
				assert.Contains(t, human.stderr, `\x1b[2J`, "the escape is shown escaped")
			}
			assert.Contains(t, stored.String(), "[REDACTED]", "the ledger records the redacted error")
		})
	}
}
