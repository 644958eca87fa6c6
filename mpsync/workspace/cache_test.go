package workspace_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/workspace"
)

// A client started over the cache holds exactly the catalog the service
// served (as catalog.Decode read it), with its ETag and fetch time, and its
// first request is conditional.
func TestCacheHoldsTheServedCatalog(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	first := mustCatalog(t, newClient(t, cfg))
	_, etag, fetched, ok := newClient(t, cfg).Held()
	require.True(t, ok)

	c := newClient(t, cfg)
	cat, gotETag, gotFetched, ok := c.Held()
	require.True(t, ok)
	assert.Equal(t, first, cat)
	assert.Equal(t, etag, gotETag)
	assert.Equal(t, srv.ETag(), gotETag)
	assert.True(t, fetched.Equal(gotFetched))

	srv.ResetStats()
	res, err := c.Catalog(context.Background())
	require.NoError(t, err)
	assert.True(t, res.NotModified)
	assert.Equal(t, srv.ETag(), srv.Requests()[0].IfNoneMatch)
}

// Every damaged cache file (a byte changed anywhere, or cut short) is
// ignored with a warning and the catalog is requested in full: never a
// different catalog held.
func TestDamagedCacheIsIgnored(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	mustCatalog(t, newClient(t, cfg))
	good, err := os.ReadFile(cacheFile(cfg))
	require.NoError(t, err)
	check := func(t *testing.T, b []byte, why string) {
		t.Helper()
		require.NoError(t, os.WriteFile(cacheFile(cfg), b, 0o600))
		lb := &logBuffer{}
		c2 := cfg
		c2.Logger = lb.logger()
		c := newClient(t, c2)
		_, _, _, ok := c.Held()
		assert.False(t, ok, why)
		assert.Contains(t, lb.String(), "ignoring cached catalog", why)
	}
	for _, i := range []int{0, 5, len(good) / 3, len(good) / 2, len(good) - 5, len(good) - 1} {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		check(t, b, fmt.Sprintf("byte %d changed", i))
	}
	for _, n := range []int{0, 10, len(good) / 2, len(good) - 1} {
		check(t, good[:n], fmt.Sprintf("cut to %d bytes", n))
	}
	require.NoError(t, os.WriteFile(cacheFile(cfg), good, 0o600))
	_, _, _, ok := newClient(t, cfg).Held()
	assert.True(t, ok, "the good file loads again")
}

// A cache for another workspace is not used.
func TestCacheOfAnotherWorkspaceIsIgnored(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	mustCatalog(t, newClient(t, cfg))
	other := cfg
	other.WorkspaceID = "0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b"
	b, err := os.ReadFile(cacheFile(cfg))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cacheFile(other), b, 0o600))
	lb := &logBuffer{}
	other.Logger = lb.logger()
	_, _, _, ok := newClient(t, other).Held()
	assert.False(t, ok)
	assert.Contains(t, lb.String(), "cached for workspace")
}

// Writing the cache deletes the file of the earlier JSON form, which is
// never read.
func TestCacheReplacesTheJSONFile(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	require.NoError(t, os.MkdirAll(cfg.CacheDir, 0o700))
	legacy := filepath.Join(cfg.CacheDir, "catalog."+cfg.WorkspaceID+".json")
	require.NoError(t, os.WriteFile(legacy, []byte(`{"workspaceId":"x"}`), 0o600))
	c := newClient(t, cfg)
	_, _, _, ok := c.Held()
	assert.False(t, ok)
	mustCatalog(t, c)
	assert.NoFileExists(t, legacy)
	assert.FileExists(t, cacheFile(cfg))
}

// BenchmarkNewWithCache is workspace.New over the cache of a catalog of
// 1,000 packs: what every start of the command pays before its request.
func BenchmarkNewWithCache(b *testing.B) {
	opts := []mpsynctest.Option{mpsynctest.WithSolution("Big", true)}
	for i := range 1000 {
		id := fmt.Sprintf("Microsoft.IntelligencePacks.Big.P%04d", i)
		opts = append(opts, mpsynctest.WithPack(id, "7.2.1.0", catalog.ChannelSolution, "Big", mpsynctest.Pack(id, "7.2.1.0", sc)))
	}
	srv := mpsynctest.NewServer(opts...)
	defer srv.Close()
	cfg := testConfig(b, srv, nil)
	mustCatalog(b, newClient(b, cfg))
	fi, err := os.Stat(cacheFile(cfg))
	require.NoError(b, err)
	b.ReportMetric(float64(fi.Size()), "cache-bytes")
	b.ReportAllocs()
	for b.Loop() {
		c, err := workspace.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, ok := c.Held(); !ok {
			b.Fatal("no catalog held")
		}
	}
}
