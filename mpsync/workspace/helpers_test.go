package workspace_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

// logBuffer collects every log record as text, at Debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var sc = mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

// newFake returns a loopback fake workspace with two base packs and one
// enabled solution with one pack.
func newFake(t testing.TB) *mpsynctest.Server {
	t.Helper()
	srv := mpsynctest.NewServer(
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithPack("Microsoft.SystemCenter.Advisor", "7.1.10226.1239", catalog.ChannelBase, "",
			mpsynctest.Pack("Microsoft.SystemCenter.Advisor", "7.1.10226.1239", sc)),
		mpsynctest.WithPack("Microsoft.SystemCenter.Advisor.Internal", "7.1.10226.1239", catalog.ChannelBase, "",
			mpsynctest.Pack("Microsoft.SystemCenter.Advisor.Internal", "7.1.10226.1239", sc)),
		mpsynctest.WithPack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0", catalog.ChannelSolution, "AlertManagement",
			mpsynctest.Pack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0", sc)),
	)
	t.Cleanup(srv.Close)
	return srv
}

// testConfig is srv's client config with a cache and a temp dir under
// t.TempDir(), millisecond retries and logs into lb.
func testConfig(t testing.TB, srv *mpsynctest.Server, lb *logBuffer) workspace.Config {
	t.Helper()
	cfg := srv.ClientConfig()
	dir := t.TempDir()
	cfg.CacheDir = filepath.Join(dir, "cache")
	cfg.TempDir = filepath.Join(dir, "tmp")
	require.NoError(t, os.MkdirAll(cfg.TempDir, 0o700))
	cfg.RetryMax = 2
	cfg.RetryWaitMin = time.Millisecond
	cfg.RetryWaitMax = 4 * time.Millisecond
	if lb != nil {
		cfg.Logger = lb.logger()
	}
	return cfg
}

func newClient(t testing.TB, cfg workspace.Config) *workspace.Client {
	t.Helper()
	c, err := workspace.New(cfg)
	require.NoError(t, err)
	return c
}

// tempFiles lists the files in dir.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// cacheFile returns the path of the catalog cache for cfg.
func cacheFile(cfg workspace.Config) string {
	return filepath.Join(cfg.CacheDir, "catalog."+cfg.WorkspaceID+".cache")
}

func mustCatalog(t testing.TB, c *workspace.Client) *catalog.Catalog {
	t.Helper()
	res, err := c.Catalog(context.Background())
	require.NoError(t, err)
	require.False(t, res.Stale)
	return res.Catalog
}

func packByID(t testing.TB, cat *catalog.Catalog, id string) catalog.Pack {
	t.Helper()
	p, ok := cat.Pack(id)
	require.True(t, ok, "pack %s in catalog", id)
	return p
}

// noSecrets fails when text holds any of the secrets.
func noSecrets(t testing.TB, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("secret %q leaked into:\n%s", s, text)
		}
	}
	if strings.Contains(text, "SharedKey ") {
		t.Errorf("an Authorization value leaked into:\n%s", text)
	}
}

// jsonRoundTrip renders c as a JSON object, lets edit change it and renders
// it again.
func jsonRoundTrip(c *catalog.Catalog, edit func(map[string]any)) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	edit(m)
	return json.Marshal(m)
}

// pk returns the i-th pack object of a catalog rendered as a map.
func pk(m map[string]any, i int) map[string]any {
	return m["packs"].([]any)[i].(map[string]any)
}

func poolOf(s *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
