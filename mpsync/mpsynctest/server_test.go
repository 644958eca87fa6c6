package mpsynctest_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

func signedGet(t *testing.T, srv *mpsynctest.Server, path string, edit func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL()+strings.TrimPrefix(path, "/"), nil)
	require.NoError(t, err)
	key, _ := workspaceKey(srv)
	workspace.Sign(req, srv.WorkspaceID(), key, time.Now())
	if edit != nil {
		edit(req)
	}
	resp, err := srv.Transport().RoundTrip(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func workspaceKey(srv *mpsynctest.Server) ([]byte, error) {
	return decode(srv.Key())
}

func TestSignatureChecks(t *testing.T) {
	srv := mpsynctest.NewWorkspace(mpsynctest.WithKey("a2V5LWZvci10ZXN0cw=="))
	cat := "/workspaces/" + srv.WorkspaceID() + "/catalog"
	for _, tc := range []struct {
		name   string
		path   string
		edit   func(*http.Request)
		status int
		code   string
	}{
		{"good", cat, nil, http.StatusOK, ""},
		{"missing", cat, func(r *http.Request) { r.Header.Del("Authorization") }, http.StatusUnauthorized, "MissingSignature"},
		{"other workspace in header", cat, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), srv.WorkspaceID(), "other", 1))
		}, http.StatusForbidden, "WrongWorkspace"},
		{"tampered signature", cat, func(r *http.Request) { r.Header.Set("Authorization", r.Header.Get("Authorization")+"x") }, http.StatusUnauthorized, "InvalidSignature"},
		{"date not signed", cat, func(r *http.Request) {
			r.Header.Set("x-ms-date", time.Now().Add(time.Minute).UTC().Format(workspace.DateFormat))
		}, http.StatusUnauthorized, "InvalidSignature"},
		{"bad date", cat, func(r *http.Request) { r.Header.Set("x-ms-date", "yesterday") }, http.StatusUnauthorized, "InvalidDate"},
		{"unknown workspace", "/workspaces/nope/catalog", nil, http.StatusNotFound, "WorkspaceNotFound"},
		{"unknown path", "/other", nil, http.StatusNotFound, "NotFound"},
		{"unknown pack", "/workspaces/" + srv.WorkspaceID() + "/packs/X/1.0.0.0", nil, http.StatusNotFound, "PackNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := signedGet(t, srv, tc.path, tc.edit)
			assert.Equal(t, tc.status, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			if tc.code != "" {
				assert.Contains(t, string(b), `"code":"`+tc.code+`"`)
			}
		})
	}
	for _, rq := range srv.Requests() {
		assert.NotContains(t, rq.Path, "SharedKey")
	}
}

func TestClockSkewUsesServerClock(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	srv := mpsynctest.NewWorkspace(mpsynctest.WithClock(func() time.Time { return now }))
	cfg := srv.ClientConfig()
	cfg.Now = func() time.Time { return now.Add(-15*time.Minute - time.Second) }
	c, err := workspace.New(cfg)
	require.NoError(t, err)
	_, err = c.Catalog(context.Background())
	require.ErrorIs(t, err, workspace.ErrUnauthorized)

	cfg.Now = func() time.Time { return now.Add(15 * time.Minute) }
	c, err = workspace.New(cfg)
	require.NoError(t, err)
	_, err = c.Catalog(context.Background())
	require.NoError(t, err)
}

func TestMutatorsBumpSerialAndETag(t *testing.T) {
	srv := mpsynctest.NewWorkspace()
	steps := []func(){
		func() { srv.EnableSolution("A") },
		func() { srv.DisableSolution("A") },
		func() { srv.Publish("P.Q", "1.0.0.0", catalog.ChannelSolution, "A", mpsynctest.Pack("P.Q", "1.0.0.0")) },
		func() { srv.Publish("P.Q", "1.0.0.1", catalog.ChannelSolution, "A", mpsynctest.Pack("P.Q", "1.0.0.1")) },
		func() { srv.Tamper("P.Q", func(p *catalog.Pack) { p.Size++ }) },
		func() { srv.Unpublish("P.Q") },
		func() { srv.RemoveSolution("A") },
	}
	for i, step := range steps {
		serial, etag := srv.Serial(), srv.ETag()
		step()
		assert.Equal(t, serial+1, srv.Serial(), "step %d", i)
		assert.NotEqual(t, etag, srv.ETag(), "step %d", i)
		require.NoError(t, srv.Catalog().Validate())
	}
	etag := srv.ETag()
	srv.SetSerial(1)
	assert.EqualValues(t, 1, srv.Serial())
	assert.NotEqual(t, etag, srv.ETag())
	assert.Panics(t, func() { srv.Tamper("missing", func(*catalog.Pack) {}) })
	assert.Panics(t, func() { srv.Publish("X", "not-a-version", catalog.ChannelBase, "", nil) })
}

func TestFaultTargets(t *testing.T) {
	srv := mpsynctest.NewWorkspace(
		mpsynctest.WithPack("A.A", "1.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("A.A", "1.0.0.0")),
		mpsynctest.WithPack("B.B", "1.0.0.0", catalog.ChannelBase, "", mpsynctest.Pack("B.B", "1.0.0.0")),
	)
	ws := "/workspaces/" + srv.WorkspaceID()
	srv.Fail("B.B", mpsynctest.Fault{Status: 500, Times: 1})
	srv.Fail(ws+"/catalog", mpsynctest.Fault{Status: 401, Times: 1})
	assert.Equal(t, 401, signedGet(t, srv, ws+"/catalog", nil).StatusCode)
	assert.Equal(t, 200, signedGet(t, srv, ws+"/catalog", nil).StatusCode, "Times: 1 is used up")
	assert.Equal(t, 200, signedGet(t, srv, ws+"/packs/A.A/1.0.0.0", nil).StatusCode)
	assert.Equal(t, 500, signedGet(t, srv, ws+"/packs/B.B/1.0.0.0", nil).StatusCode)
	assert.Equal(t, 200, signedGet(t, srv, ws+"/packs/B.B/1.0.0.0", nil).StatusCode)

	srv.Fail("packs", mpsynctest.Fault{Status: 429, RetryAfter: "7"})
	resp := signedGet(t, srv, ws+"/packs/A.A/1.0.0.0", nil)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	srv.ClearFaults()
	assert.Equal(t, 200, signedGet(t, srv, ws+"/packs/A.A/1.0.0.0", nil).StatusCode)

	st := srv.Stats()
	assert.Equal(t, 2, st.CatalogRequests)
	assert.Equal(t, 5, st.PackRequests)
	assert.Equal(t, 3, st.Faults)
	assert.Equal(t, 2, st.ByPath[ws+"/packs/B.B/1.0.0.0"].Requests)
	assert.Positive(t, st.PackBytes)
}

func TestPackBuilder(t *testing.T) {
	b := mpsynctest.Pack("Contoso.X", "1.2.3.4", mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0"))
	m, err := pack.Validate(strings.NewReader(string(b)), pack.Expect{ID: "Contoso.X", Version: pack.MustParseVersion("1.2.3.4")}, pack.Limits{})
	require.NoError(t, err)
	require.Len(t, m.References, 1)
	assert.Equal(t, "Microsoft.SystemCenter.Library", m.References[0].ID)

	open := mpsynctest.GeneratedPack("Contoso.Big", "1.0.0.0", 1<<20)
	r := open()
	n, err := io.Copy(io.Discard, r)
	require.NoError(t, err)
	r.Close()
	assert.GreaterOrEqual(t, n, int64(1<<20))
	r = open() // closing early stops the generator
	_, err = pack.ReadManifest(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

func TestLoadDir(t *testing.T) {
	opts, err := mpsynctest.LoadDir("../../testdata/workspace")
	require.NoError(t, err)
	srv := mpsynctest.NewWorkspace(opts...)
	cat := srv.Catalog()
	require.NoError(t, cat.Validate())
	assert.Equal(t, "6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11", cat.WorkspaceID)
	assert.Len(t, cat.Packs, 8)
	p, ok := cat.Pack("Microsoft.IntelligencePacks.UpdateAssessment.Configuration")
	require.True(t, ok)
	assert.Equal(t, "Updates", p.Solution)
	c, err := workspace.New(srv.ClientConfig())
	require.NoError(t, err)
	res, err := c.Catalog(context.Background())
	require.NoError(t, err)
	for _, p := range res.Catalog.Packs {
		rc, err := c.Fetch(context.Background(), p)
		require.NoError(t, err, p.ID)
		rc.Close()
	}

	write := func(t *testing.T, cfg string, packs map[string][]byte) string {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "packs"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "workspace.json"), []byte(cfg), 0o644))
		for name, b := range packs {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "packs", name), b, 0o644))
		}
		return dir
	}
	a := mpsynctest.Pack("A.A", "1.0.0.0")
	for _, tc := range []struct {
		name, cfg string
		packs     map[string][]byte
		want      string
	}{
		{"no entry", `{"packs":{}}`, map[string][]byte{"a.xml": a}, "has no entry"},
		{"no file", `{"packs":{"A.A":{"channel":"base"},"B.B":{"channel":"base"}}}`, map[string][]byte{"a.xml": a}, "packs[B.B] has no file"},
		{"bad channel", `{"packs":{"A.A":{"channel":"beta"}}}`, map[string][]byte{"a.xml": a}, `channel "beta"`},
		{"solution without name", `{"packs":{"A.A":{"channel":"solution"}}}`, map[string][]byte{"a.xml": a}, "needs a solution"},
		{"duplicate", `{"packs":{"A.A":{"channel":"base"}}}`, map[string][]byte{"a.xml": a, "b.xml": a}, "both hold pack A.A"},
		{"not a pack", `{"packs":{}}`, map[string][]byte{"a.xml": []byte("<x/>")}, "a.xml"},
		{"unknown field", `{"pack":{}}`, nil, "unknown field"},
		{"bad key", `{"key":"!!","packs":{}}`, nil, "key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mpsynctest.LoadDir(write(t, tc.cfg, tc.packs))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = mpsynctest.LoadDir(t.TempDir())
	require.ErrorIs(t, err, os.ErrNotExist)
}

func decode(k string) ([]byte, error) { return base64.StdEncoding.DecodeString(k) }
