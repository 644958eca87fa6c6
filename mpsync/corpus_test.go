package mpsync_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/rules"
)

// corpusPacks returns the XML management packs of ../shared/mp-corpus
// beside the repository (real packs written by others), or skips.
func corpusPacks(t *testing.T) map[string][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "mp-corpus")
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(names) == 0 {
		t.Skipf("real packs not available in %s", dir)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		if _, err := pack.ReadManifest(bytes.NewReader(b)); err != nil {
			continue // not-a-management-pack.xml
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// Microsoft's Azure pack used to be blocked on a 2012 R2 group
// ("System.Image.Library is present at 7.1.10226.0") because one 2012 R2
// inventory stood for every group, and its dependant with it.
func TestCorpusImportsOnEachReleasesPlatform(t *testing.T) {
	packs := corpusPacks(t)
	for _, tc := range []struct{ release, group string }{
		{"2012 R2", "7.1.10226.1015"},
		{"2016", "7.2.11719.0"},
		{"2019", "10.19.10050.0"},
		{"2022", "10.22.10118.0"},
	} {
		t.Run(tc.release, func(t *testing.T) {
			rel, ok := scom.ReleaseOf(pack.MustParseVersion(tc.group))
			require.True(t, ok)
			require.Contains(t, rel.String(), tc.release)
			opts := []mpsynctest.Option{mpsynctest.WithSolution("Corpus", true)}
			manifests := map[string]pack.Manifest{}
			for _, b := range packs {
				m, err := pack.ReadManifest(bytes.NewReader(b))
				require.NoError(t, err)
				manifests[m.ID] = m
				opts = append(opts, mpsynctest.WithPack(m.ID, m.Version.String(), catalog.ChannelSolution, "Corpus", b))
			}
			srv := mpsynctest.NewWorkspace(opts...)
			t.Cleanup(srv.Close)
			e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv),
				Group: scom.ManagementGroup{Name: "CORPUS", Version: pack.MustParseVersion(tc.group)}})
			require.NoError(t, err)
			defer e.Close()
			rep, err := e.Sync(context.Background(), rules.GetIntelligencePacks)
			require.NoError(t, err)
			for _, c := range rep.Plan.Changes {
				assert.NotEqual(t, plan.ActionBlocked, c.Action, "%s: %s", c.Pack, c.Reason)
			}
			applied := rep.Applied()
			require.Len(t, applied, len(manifests), "every corpus pack imports")
			var order []string
			for _, o := range applied {
				order = append(order, o.Pack)
			}
			for i, id := range order {
				for _, ref := range manifests[id].References {
					if j := slices.Index(order, ref.ID); j >= 0 {
						assert.Less(t, j, i, "%s imports after its reference %s", id, ref.ID)
					}
				}
			}
		})
	}
}

// A reference the group's platform does not satisfy names the version
// wanted, what the group has, whose inventory that is and how to give the
// real one.
func TestUnsatisfiedPlatformReferenceNamesTheInventory(t *testing.T) {
	const id = "Contoso.NeedsNewImage"
	xml := mpsynctest.Pack(id, "1.0.0.0", pack.Reference{Alias: "Image", ID: "System.Image.Library", Version: pack.MustParseVersion("9.9.0.0")})
	srv := mpsynctest.NewWorkspace(mpsynctest.WithSolution("S", true),
		mpsynctest.WithPack(id, "1.0.0.0", catalog.ChannelSolution, "S", xml))
	t.Cleanup(srv.Close)
	e, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: newClient(t, srv),
		Group: scom.ManagementGroup{Version: pack.MustParseVersion("10.19.10050.0")}})
	require.NoError(t, err)
	defer e.Close()
	p, err := e.Plan(context.Background(), rules.GetIntelligencePacks)
	require.NoError(t, err)
	require.Len(t, p.Changes, 1)
	c := p.Changes[0]
	assert.Equal(t, plan.ActionBlocked, c.Action)
	for _, want := range []string{"System.Image.Library >= 9.9.0.0", "the group has System.Image.Library 7.5.8501",
		"built-in inventory of Operations Manager 2019", "--platform FILE"} {
		assert.True(t, strings.Contains(c.Reason, want), "reason %q lacks %q", c.Reason, want)
	}
}

// A sealed pack served by the workspace imports, and a pack whose reference
// names another publisher's key token than the sealed pack's is blocked.
func TestSealedPackAndReferenceToken(t *testing.T) {
	const libID, goodID, badID = "Contoso.Sealed.Library", "Contoso.App.Good", "Contoso.App.Bad"
	lib, err := packgen.Seal(mpsynctest.Pack(libID, "2.0.0.0", scLib), packgen.SealOptions{})
	require.NoError(t, err)
	libManifest, err := pack.ReadManifest(bytes.NewReader(lib))
	require.NoError(t, err)
	require.Equal(t, pack.SealedYes, libManifest.Sealed)
	token := libManifest.PublicKeyToken
	require.Len(t, token, 16)
	withToken := func(tok string) pack.Reference {
		r := ref(libID, "2.0.0.0")
		r.PublicKeyToken = tok
		return r
	}
	srv := mpsynctest.NewWorkspace(mpsynctest.WithSolution("S", true),
		mpsynctest.WithPack(libID, "2.0.0.0", catalog.ChannelSolution, "S", lib),
		mpsynctest.WithPack(goodID, "1.0.0.0", catalog.ChannelSolution, "S", mpsynctest.Pack(goodID, "1.0.0.0", scLib, withToken(strings.ToUpper(token)))),
		mpsynctest.WithPack(badID, "1.0.0.0", catalog.ChannelSolution, "S", mpsynctest.Pack(badID, "1.0.0.0", scLib, withToken("31bf3856ad364e35"))))
	t.Cleanup(srv.Close)
	s := store.NewMemory()
	e, err := mpsync.New(s, &mpsync.Options{Workspace: newClient(t, srv)})
	require.NoError(t, err)
	defer e.Close()
	rep, err := e.Sync(context.Background(), rules.GetIntelligencePacks)
	require.NoError(t, err)
	var applied []string
	for _, o := range rep.Applied() {
		applied = append(applied, o.Pack)
	}
	assert.Equal(t, []string{libID, goodID}, applied, "the sealed library first, then the pack naming its token")
	for _, c := range rep.Plan.Changes {
		if c.Pack == badID {
			assert.Equal(t, plan.ActionBlocked, c.Action)
			assert.Contains(t, c.Reason, "wants public key token 31bf3856ad364e35, but "+libID+" is sealed with key token "+token)
		}
	}
	en, err := s.Get(context.Background(), libID)
	require.NoError(t, err)
	assert.Equal(t, pack.SealedYes, en.Sealed)
	assert.Equal(t, token, en.PublicKeyToken, "the store keeps the sealed pack's token")
	rc, err := s.Open(context.Background(), libID)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, lib, got, "the store keeps the original bytes")
}
