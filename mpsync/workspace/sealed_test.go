package workspace_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

// sealedPack is a sealed pack (.mp) declaring id and version.
func sealedPack(t testing.TB, id, version string) []byte {
	t.Helper()
	doc, err := packgen.Spec{ID: id, Version: pack.MustParseVersion(version), References: []pack.Reference{sc}, Rules: 20}.Bytes()
	require.NoError(t, err)
	mp, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	return mp
}

// contentTypes records the Content-Type of every response.
type contentTypes struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]string // path -> Content-Type
}

func (c *contentTypes) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.seen[r.URL.Path] = resp.Header.Get("Content-Type")
		c.mu.Unlock()
	}
	return resp, err
}

// TestFetchSealedPack: a sealed pack served as application/octet-stream
// passes the size, SHA-256 and identity checks, and the bytes handed on
// are the bytes served.
func TestFetchSealedPack(t *testing.T) {
	srv := newFake(t)
	mp := sealedPack(t, alert, "7.2.11719.0")
	srv.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mp)
	cfg := testConfig(t, srv, nil)
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	ct := &contentTypes{next: base, seen: map[string]string{}}
	cfg.Transport = ct
	c := newClient(t, cfg)
	cat := mustCatalog(t, c)
	p := packByID(t, cat, alert)
	sum := sha256.Sum256(mp)
	require.Equal(t, hex.EncodeToString(sum[:]), p.SHA256)

	rc, err := c.Fetch(context.Background(), p)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, mp, got, "the sealed bytes are handed on unchanged")
	m, err := pack.ReadManifest(bytes.NewReader(got))
	require.NoError(t, err)
	assert.Equal(t, pack.SealedYes, m.Sealed)
	assert.Equal(t, alert, m.ID)
	assert.Empty(t, tempFiles(t, cfg.TempDir))

	var packType string
	for path, typ := range ct.seen {
		if strings.Contains(path, "/packs/") {
			packType = typ
		}
	}
	assert.Equal(t, "application/octet-stream", packType, "the fake serves a sealed pack as a binary")
}

// TestFetchSealedPackOverMaxPackSize: MaxPackSize applies to sealed packs
// as to XML, before anything is downloaded.
func TestFetchSealedPackOverMaxPackSize(t *testing.T) {
	srv := newFake(t)
	mp := sealedPack(t, alert, "7.2.11719.0")
	srv.Publish(alert, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mp)
	cfg := testConfig(t, srv, nil)
	cfg.MaxPackSize = int64(len(mp) - 1)
	c := newClient(t, cfg)
	_, err := c.Fetch(context.Background(), packByID(t, mustCatalog(t, c), alert))
	require.ErrorIs(t, err, workspace.ErrTooLarge)
}
