package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
	"mpsync.dev/mpsync/workspace"
)

// tamper changes one byte of the pack file that holds sum, in place, at the
// same size: a file edited behind the store's back.
func tamper(t *testing.T, d *store.Dir, sum string) {
	t.Helper()
	p := filepath.Join(d.Path(), "packs", sum)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x20
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

// fileHash returns the SHA-256 of the pack file named sum, "" when it is
// missing.
func fileHash(t *testing.T, d *store.Dir, sum string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Path(), "packs", sum))
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// repairA imports A's current bytes again with Rewrite, as the engine's
// Import does when it finds the stored copy tampered.
func repairA(d *store.Dir) error {
	data := storetest.Pack(idA, "1.1.0.0")
	r := storetest.Request(idA, "1.1.0.0", data)
	r.Time = tBase.Add(2 * time.Hour)
	r.Rewrite = true
	_, err := d.Import(context.Background(), r, bytes.NewReader(data))
	return err
}

// Issue 12, item 2: the repair of a tampered copy is one import that
// replaces the file (ImportRequest.Rewrite), not a removal followed by an
// import. A crash at every step of it leaves the pack in the store, with
// its entry, its previous version and a file under its hash: before the
// commit point the entry as it was, after it the new one with the good
// bytes (OpenDir finishes an interrupted replacement, and puts a staged
// copy that hashes to the name in place of a file that does not). The pack
// is never missing.
func TestRepairIsAtomicAtEveryStep(t *testing.T) {
	ctx := context.Background()
	for _, step := range store.ImportSteps {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			d, err := store.OpenDir(dir, nil)
			require.NoError(t, err)
			seed(t, d)
			cur, err := d.Get(ctx, idA)
			require.NoError(t, err)
			tamper(t, d, cur.SHA256)
			require.NotEqual(t, cur.SHA256, fileHash(t, d, cur.SHA256))

			store.SetFailpoint(d, func(s string) error {
				if s == step {
					return store.ErrCrash
				}
				return nil
			})
			require.ErrorIs(t, repairA(d), store.ErrCrash)
			require.NoError(t, d.Close())

			d2, err := store.OpenDir(dir, nil)
			require.NoError(t, err, "reopen after the crash")
			defer d2.Close()
			got, err := d2.Get(ctx, idA)
			require.NoError(t, err, "the pack is still in the store")
			assert.Equal(t, cur.SHA256, got.SHA256)
			require.NotNil(t, got.Previous, "the previous version kept for a rollback is still there")
			assert.Equal(t, "1.0.0.0", got.Previous.Version.String())
			h := fileHash(t, d2, cur.SHA256)
			require.NotEmpty(t, h, "the pack file is never missing")
			committed := slices.Index(store.ImportSteps, step) >= slices.Index(store.ImportSteps, store.CommittedFrom)
			if committed {
				assert.Equal(t, cur.SHA256, h, "a crash after the commit point: the good bytes are in place")
				checkConsistent(t, d2)
				assert.Equal(t, tBase.Add(2*time.Hour), got.ImportedAt, "the change stands")
			} else {
				// The index is as it was; the file is the tampered one, or
				// the good bytes when OpenDir found a staged copy that
				// hashes to the name (it checks, syncs and moves it).
				assert.Equal(t, cur, got, "a crash before the commit point: the entry is as it was")
				if step == "write" {
					assert.NotEqual(t, cur.SHA256, h, "nothing staged yet: the tampered file stays")
				} else {
					assert.Equal(t, cur.SHA256, h, "the staged, checked copy replaced the tampered file")
				}
				incoming, _ := os.ReadDir(filepath.Join(dir, "incoming"))
				assert.Empty(t, incoming, "nothing is left staged")
			}

			// The repair, run again, always ends with the good bytes.
			require.NoError(t, repairA(d2))
			assert.Equal(t, cur.SHA256, fileHash(t, d2, cur.SHA256))
			checkConsistent(t, d2)
			_, err = d2.Rollback(ctx, idA)
			require.NoError(t, err, "and the previous version is still kept")
		})
	}
}

// Without Rewrite, re-importing the bytes the store holds keeps the file it
// has (a file open elsewhere is not replaced for nothing); with it, the
// file is replaced.
func TestRewriteOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	seed(t, d)
	cur, err := d.Get(ctx, idA)
	require.NoError(t, err)
	tamper(t, d, cur.SHA256)
	data := storetest.Pack(idA, "1.1.0.0")
	_, err = d.Import(ctx, storetest.Request(idA, "1.1.0.0", data), bytes.NewReader(data))
	require.NoError(t, err)
	assert.NotEqual(t, cur.SHA256, fileHash(t, d, cur.SHA256), "kept")
	require.NoError(t, repairA(d))
	assert.Equal(t, cur.SHA256, fileHash(t, d, cur.SHA256), "replaced")

	// In a batch too.
	tamper(t, d, cur.SHA256)
	b, err := d.Batch(ctx)
	require.NoError(t, err)
	r := storetest.Request(idA, "1.1.0.0", data)
	r.Rewrite = true
	_, err = b.Import(ctx, r, bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, b.Commit(ctx))
	assert.Equal(t, cur.SHA256, fileHash(t, d, cur.SHA256), "replaced by the batch")
	checkConsistent(t, d)
	var _ storage.Batch = b
}

// Through the engine: importing the recorded bytes of a pack whose file was
// tampered with repairs it in the one import (ImportResult.Repaired), so
// the previous version kept for a rollback survives: the engine's last
// resort (remove, then import) drops it.
func TestEngineRepairKeepsThePreviousVersion(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	srv := mpsynctest.NewServer()
	defer srv.Close()
	cfg := srv.ClientConfig()
	cfg.TempDir = t.TempDir()
	client, err := workspace.New(cfg)
	require.NoError(t, err)
	e, err := mpsync.New(d, &mpsync.Options{Workspace: client})
	require.NoError(t, err)
	defer e.Close()
	v1, v2 := mpsynctest.Pack("Contoso.Repair", "1.0.0.0"), mpsynctest.Pack("Contoso.Repair", "2.0.0.0")
	_, err = e.Import(ctx, bytes.NewReader(v1), mpsync.ImportOptions{})
	require.NoError(t, err)
	res, err := e.Import(ctx, bytes.NewReader(v2), mpsync.ImportOptions{})
	require.NoError(t, err)
	tamper(t, d, res.Entry.SHA256)
	_, _, err = e.ReadPack(ctx, "Contoso.Repair")
	require.ErrorIs(t, err, mpsync.ErrTampered)

	res, err = e.Import(ctx, bytes.NewReader(v2), mpsync.ImportOptions{})
	require.NoError(t, err)
	assert.True(t, res.Repaired)
	_, got, err := e.ReadPack(ctx, "Contoso.Repair")
	require.NoError(t, err)
	assert.Equal(t, v2, got)
	en, err := d.Get(ctx, "Contoso.Repair")
	require.NoError(t, err)
	require.NotNil(t, en.Previous, "repaired in place: the previous version is kept")
	assert.Equal(t, "1.0.0.0", en.Previous.Version.String())
	checkConsistent(t, d)
}
