package workspace_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/workspace"
)

// TestFetchStreamRefusals: the stream refuses what Fetch refuses about
// size and hash, with the same errors and steps, and never ends with
// io.EOF after bytes that are not the catalog's pack.
func TestFetchStreamRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*mpsynctest.Server, *workspace.Config)
		want  []error
		step  string
	}{
		{"wrong hash in catalog", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.SHA256 = "0000000000000000000000000000000000000000000000000000000000000000" })
		}, []error{workspace.ErrPackRefused, workspace.ErrHashMismatch}, "sha256"},
		{"catalog size too small", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Size -= 10 })
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"catalog size too large", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Size += 10 })
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"truncated body", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Fail(alert, mpsynctest.Fault{Truncate: true, TruncateTo: 100})
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"connection dropped mid-body, every time", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Fail(alert, mpsynctest.Fault{Drop: true, DropAfter: 200})
		}, []error{workspace.ErrUnavailable}, "download"},
		{"dropped, then shorter on the retry", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Fail(alert, mpsynctest.Fault{Drop: true, DropAfter: 300, Times: 1})
			s.Fail(alert, mpsynctest.Fault{Truncate: true, TruncateTo: 100, Times: 1})
		}, []error{workspace.ErrPackRefused, workspace.ErrSizeMismatch}, "size"},
		{"over MaxPackSize", func(_ *mpsynctest.Server, c *workspace.Config) { c.MaxPackSize = 100 },
			[]error{workspace.ErrPackRefused, workspace.ErrTooLarge}, "size"},
		{"href with user information", func(s *mpsynctest.Server, _ *workspace.Config) {
			s.Tamper(alert, func(p *catalog.Pack) { p.Href = "http://user:pw@" + hostOf(s) + "/packs/x" })
		}, []error{workspace.ErrPackRefused, workspace.ErrBadHref}, "href"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			tc.setup(srv, &cfg)
			c := newClient(t, cfg)
			cat := mustCatalog(t, c)
			rc, err := c.FetchStream(context.Background(), packByID(t, cat, alert))
			if err == nil {
				var got bytes.Buffer
				_, err = io.Copy(&got, rc)
				require.Error(t, err, "the stream must not end cleanly")
				_, again := rc.Read(make([]byte, 10))
				assert.Equal(t, err, again, "the verdict sticks")
				require.NoError(t, rc.Close())
			}
			for _, w := range tc.want {
				assert.ErrorIs(t, err, w)
			}
			var pe *workspace.PackError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, alert, pe.ID)
			assert.Equal(t, tc.step, pe.Step)
			assert.Contains(t, err.Error(), alert)
			assert.Empty(t, tempFiles(t, cfg.TempDir), "a stream writes no temporary file")
		})
	}
}

// TestFetchStreamHoldsBackTheEnd: a reader that stops at exactly p.Size
// bytes (io.ReadFull) still gets the verdict, because the read that
// completes the body is checked before it returns.
func TestFetchStreamHoldsBackTheEnd(t *testing.T) {
	srv := newFake(t)
	srv.Tamper(alert, func(p *catalog.Pack) { p.SHA256 = "0000000000000000000000000000000000000000000000000000000000000000" })
	cfg := testConfig(t, srv, nil)
	c := newClient(t, cfg)
	p := packByID(t, mustCatalog(t, c), alert)
	rc, err := c.FetchStream(context.Background(), p)
	require.NoError(t, err)
	defer rc.Close()
	buf := make([]byte, p.Size)
	n, err := io.ReadFull(rc, buf)
	require.ErrorIs(t, err, workspace.ErrHashMismatch)
	assert.Less(t, int64(n), p.Size)
}

// TestFetchStreamResumes: a body cut off by the network is requested again
// and the bytes already delivered are skipped; the reader sees the pack
// whole, once, and the server saw one request per cut plus the first.
func TestFetchStreamResumes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    mpsynctest.Fault
		requests int
	}{
		{"dropped once", mpsynctest.Fault{Drop: true, DropAfter: 500, Times: 1}, 2},
		{"dropped twice", mpsynctest.Fault{Drop: true, DropAfter: 1500, Times: 2}, 3},
		{"dropped at once", mpsynctest.Fault{Drop: true, DropAfter: 0, Times: 1}, 2},
		{"503 twice", mpsynctest.Fault{Status: http.StatusServiceUnavailable, Times: 2}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			cfg := testConfig(t, srv, nil)
			c := newClient(t, cfg)
			p := packByID(t, mustCatalog(t, c), alert)
			want, err := c.Fetch(context.Background(), p)
			require.NoError(t, err)
			wantBytes, err := io.ReadAll(want)
			require.NoError(t, err)
			require.NoError(t, want.Close())

			srv.Fail(alert, tc.fault)
			srv.ResetStats()
			rc, err := c.FetchStream(context.Background(), p)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, wantBytes, got)
			assert.Equal(t, tc.requests, srv.Stats().PackRequests)
			m, err := pack.ReadManifest(bytes.NewReader(got))
			require.NoError(t, err)
			assert.Equal(t, alert, m.ID)
			assert.Empty(t, tempFiles(t, cfg.TempDir))
		})
	}
}

// TestFetchStreamNoRetry: with RetryMax negative a cut body is not resumed.
func TestFetchStreamNoRetry(t *testing.T) {
	srv := newFake(t)
	cfg := testConfig(t, srv, nil)
	cfg.RetryMax = -1
	c := newClient(t, cfg)
	p := packByID(t, mustCatalog(t, c), alert)
	srv.Fail(alert, mpsynctest.Fault{Drop: true, DropAfter: 500, Times: 1})
	rc, err := c.FetchStream(context.Background(), p)
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, workspace.ErrUnavailable)
	require.NoError(t, rc.Close())
}
