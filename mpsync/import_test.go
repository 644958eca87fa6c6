package mpsync_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// The mpsync command's import used to write straight into the store: no
// downgrade check, no reference check, a workspace's pack silently taken
// over, nothing in the ledger.
func TestImportAppliesSyncsChecks(t *testing.T) {
	const id = "Contoso.App"
	lib := ref("Contoso.Lib", "2.0.0.0")
	v1 := mpsynctest.Pack(id, "1.0.0.0", scLib)
	v1other := append(bytes.Clone(v1), []byte("\n<!-- edited -->")...)
	v2 := mpsynctest.Pack(id, "2.0.0.0", scLib)
	sealedLib, err := packgen.Seal(mpsynctest.Pack("Contoso.Lib", "2.0.0.0", scLib), packgen.SealOptions{})
	require.NoError(t, err)
	otherKey := lib
	otherKey.PublicKeyToken = "31bf3856ad364e35"
	tests := []struct {
		name    string
		before  func(t *testing.T, s *store.Memory) // what the store holds first
		data    []byte
		opts    mpsync.ImportOptions
		wantErr []error  // nil: success
		inErr   []string // substrings of the error
		check   func(t *testing.T, res mpsync.ImportResult)
	}{
		{name: "new pack, platform reference", data: v1,
			check: func(t *testing.T, res mpsync.ImportResult) {
				assert.Equal(t, storage.OwnerCustom, res.Entry.Owner)
				assert.False(t, res.Unchanged)
			}},
		{name: "same bytes again", before: put(id, v1, storage.OwnerCustom), data: v1,
			check: func(t *testing.T, res mpsync.ImportResult) { assert.True(t, res.Unchanged) }},
		{name: "upgrade", before: put(id, v1, storage.OwnerCustom), data: v2,
			check: func(t *testing.T, res mpsync.ImportResult) {
				assert.Equal(t, "2.0.0.0", res.Entry.Version.String())
				require.NotNil(t, res.Entry.Previous, "the replaced version is kept for Rollback")
			}},
		{name: "downgrade", before: put(id, v2, storage.OwnerCustom), data: v1,
			wantErr: []error{mpsync.ErrImportRefused}, inErr: []string{"pack Contoso.App 1.0.0.0", "downgrade", "Rollback"}},
		{name: "downgrade even with force", before: put(id, v2, storage.OwnerCustom), data: v1, opts: mpsync.ImportOptions{Force: true},
			wantErr: []error{mpsync.ErrImportRefused}, inErr: []string{"downgrade"}},
		{name: "same version, other content", before: put(id, v1, storage.OwnerCustom), data: v1other,
			wantErr: []error{mpsync.ErrImportRefused}, inErr: []string{"other content"}},
		{name: "same version, other content, forced", before: put(id, v1, storage.OwnerCustom), data: v1other, opts: mpsync.ImportOptions{Force: true}},
		{name: "workspace's pack", before: put(id, v1, storage.OwnerWorkspace), data: v2,
			wantErr: []error{mpsync.ErrImportRefused}, inErr: []string{"imported for workspace", "--force"}},
		{name: "workspace's pack, forced", before: put(id, v1, storage.OwnerWorkspace), data: v2, opts: mpsync.ImportOptions{Force: true},
			check: func(t *testing.T, res mpsync.ImportResult) {
				assert.True(t, res.TookOver)
				assert.Equal(t, storage.OwnerCustom, res.Entry.Owner)
			}},
		{name: "unsatisfied reference", data: mpsynctest.Pack(id, "1.0.0.0", scLib, lib),
			wantErr: []error{mpsync.ErrImportRefused, pack.ErrUnsatisfied}, inErr: []string{"Contoso.Lib >= 2.0.0.0", "--platform"}},
		{name: "reference below the version wanted", before: put("Contoso.Lib", mpsynctest.Pack("Contoso.Lib", "1.0.0.0", scLib), storage.OwnerCustom),
			data: mpsynctest.Pack(id, "1.0.0.0", scLib, lib), wantErr: []error{pack.ErrUnsatisfied}, inErr: []string{"reference Contoso.Lib >= 2.0.0.0 not satisfied: Contoso.Lib is present at 1.0.0.0"}},
		{name: "reference satisfied by an imported pack", before: put("Contoso.Lib", mpsynctest.Pack("Contoso.Lib", "2.1.0.0", scLib), storage.OwnerCustom),
			data: mpsynctest.Pack(id, "1.0.0.0", scLib, lib)},
		{name: "reference naming another key token than the sealed pack's", before: put("Contoso.Lib", sealedLib, storage.OwnerCustom),
			data: mpsynctest.Pack(id, "1.0.0.0", scLib, otherKey), wantErr: []error{mpsync.ErrImportRefused}, inErr: []string{"wants public key token 31bf3856ad364e35"}},
		{name: "sealed pack", data: sealedLib,
			check: func(t *testing.T, res mpsync.ImportResult) {
				assert.Equal(t, pack.SealedYes, res.Entry.Sealed)
				assert.Len(t, res.Entry.PublicKeyToken, 16)
			}},
		{name: "malformed", data: []byte("<ManagementPack><Manifest><Identity><ID>X</ID>"), wantErr: []error{pack.ErrMalformed}, inErr: []string{"app.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.NewMemory()
			if tt.before != nil {
				tt.before(t, s)
			}
			before, err := s.List(ctx)
			require.NoError(t, err)
			led := ledger.NewMemory()
			e, err := mpsync.New(s, &mpsync.Options{Ledger: led})
			require.NoError(t, err)
			defer e.Close()
			res, err := e.Import(ctx, bytes.NewReader(tt.data), mpsync.ImportOptions{Force: tt.opts.Force, Source: "app.xml", By: "alice"})
			recs, qerr := led.Query(ctx, ledger.Query{Kind: ledger.KindResult})
			require.NoError(t, qerr)
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.ErrorIs(t, err, w)
				}
				for _, w := range tt.inErr {
					assert.Contains(t, err.Error(), w)
				}
				after, lerr := s.List(ctx)
				require.NoError(t, lerr)
				assert.Equal(t, before, after, "a refused import leaves the store as it was")
				assert.Empty(t, recs, "nothing recorded")
				return
			}
			require.NoError(t, err)
			got, err := s.Get(ctx, res.Entry.ID)
			require.NoError(t, err)
			assert.Equal(t, got, res.Entry)
			if res.Unchanged {
				assert.Empty(t, recs, "an import that changed nothing records nothing")
			} else {
				require.Len(t, recs, 1)
				assert.Equal(t, "alice", recs[0].By)
				assert.Equal(t, plan.ActionImport, recs[0].Action)
				assert.True(t, strings.HasPrefix(recs[0].Reason, "imported by hand from app.xml"), recs[0].Reason)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

// put returns a step that imports data into the store with the given owner.
func put(id string, data []byte, owner storage.Owner) func(*testing.T, *store.Memory) {
	return func(t *testing.T, s *store.Memory) {
		t.Helper()
		m, err := pack.ReadManifest(bytes.NewReader(data))
		require.NoError(t, err)
		prov := storage.Provenance{Owner: owner}
		if owner == storage.OwnerWorkspace {
			prov.WorkspaceID, prov.Rule = "ws-1", "Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule"
		}
		_, err = s.Import(context.Background(), storage.ImportRequest{ID: id, Version: m.Version, Provenance: prov}, bytes.NewReader(data))
		require.NoError(t, err)
	}
}
