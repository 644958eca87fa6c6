package mpsync_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// tamperStore is a store whose Open returns, for the versions marked, the
// pack's bytes with one byte changed: same size, other hash, as a file
// edited in place would read. Import clears the mark of the version it
// writes unless sticky, which models a store that keeps the file it
// already has for a hash (the directory store).
type tamperStore struct {
	*store.Memory
	mu       sync.Mutex
	tampered map[string]bool // id + "@" + sha256
	sticky   bool
}

func newTamperStore() *tamperStore {
	return &tamperStore{Memory: store.NewMemory(), tampered: map[string]bool{}}
}

func (s *tamperStore) tamper(id, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tampered[id+"@"+sha] = true
}

func (s *tamperStore) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	en, err := s.Memory.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, err := s.Memory.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	bad := s.tampered[id+"@"+en.SHA256]
	s.mu.Unlock()
	if !bad {
		return rc, nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0x20 // same size
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *tamperStore) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	en, err := s.Memory.Import(ctx, req, r)
	if err == nil && !s.sticky {
		s.mu.Lock()
		delete(s.tampered, en.ID+"@"+en.SHA256)
		s.mu.Unlock()
	}
	return en, err
}

func (s *tamperStore) Remove(ctx context.Context, id string) error {
	en, _ := s.Memory.Get(ctx, id)
	s.mu.Lock()
	delete(s.tampered, id+"@"+en.SHA256)
	s.mu.Unlock()
	return s.Memory.Remove(ctx, id)
}

func check(v *mpsync.Validation, name string) (mpsync.Check, bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return mpsync.Check{}, false
}

// Regression (issue 15, point 3): a stored pack tampered with at the same
// size went unnoticed: validate reported the old version and hash.
func TestRegressionValidateRehashesStoredPacks(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.put(advisor, "1.0.0.0", "")
	ws.solution("S", true)
	ws.put("X", "1.0.0.0", "S")
	s := newTamperStore()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)

	v, err := e.Validate(ctx)
	require.NoError(t, err)
	c, ok := check(v, "stored packs")
	require.True(t, ok, "%+v", v.Checks)
	assert.True(t, c.OK, c.Detail)

	en, err := s.Get(ctx, "X")
	require.NoError(t, err)
	s.tamper("X", en.SHA256)
	v, err = e.Validate(ctx)
	require.NoError(t, err)
	assert.False(t, v.OK())
	c, ok = check(v, "stored packs")
	require.True(t, ok)
	assert.False(t, c.OK)
	assert.Contains(t, c.Detail, "1 of 2")
	c, ok = check(v, "stored X")
	require.True(t, ok, "validate names the tampered pack: %+v", v.Failed())
	assert.False(t, c.OK)
	assert.Contains(t, c.Detail, en.SHA256, "the detail gives the recorded hash")
	assert.Contains(t, c.Detail, "mpsync import --force", "the detail gives the recovery")
	_, ok = check(v, "stored "+advisor)
	assert.False(t, ok, "only the pack that differs is named")
}

// Regression (issue 15, point 3): Rollback restored a previous version
// whose bytes had been changed in the store, unchecked.
func TestRegressionRollbackChecksTheRestoredBytes(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	old := ws.put("X", "1.0.0.0", "S")
	s := newTamperStore()
	e := newFakeEngine(t, ws, s, nil)
	_, err := e.Sync(ctx)
	require.NoError(t, err)
	ws.put("X", "2.0.0.0", "S")
	_, err = e.Sync(ctx)
	require.NoError(t, err)

	s.tamper("X", old.SHA256)
	_, err = e.Rollback(ctx, "X")
	require.ErrorIs(t, err, mpsync.ErrTampered)
	var te *mpsync.TamperedError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "X", te.ID)
	assert.Equal(t, "1.0.0.0", te.Version.String())
	en, err := s.Get(ctx, "X")
	require.NoError(t, err)
	assert.Equal(t, "2.0.0.0", en.Version.String(), "the refused rollback is undone")
	require.NotNil(t, en.Previous)
	assert.Equal(t, "1.0.0.0", en.Previous.Version.String(), "the previous version is still kept")

	// Once the previous version's bytes are good again, it works.
	s.mu.Lock()
	clear(s.tampered)
	s.mu.Unlock()
	en, err = e.Rollback(ctx, "X")
	require.NoError(t, err)
	assert.Equal(t, "1.0.0.0", en.Version.String())
}

// Regression (issue 15, point 3): the engine handed out (exported) a
// pack's bytes without checking them; ReadPack refuses a tampered pack,
// and importing the good bytes again repairs it, whether the store
// rewrites the file it holds for a hash or keeps it.
func TestRegressionReadPackAndImportRepair(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		name := "store rewrites"
		if sticky {
			name = "store keeps the file of a hash"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newTamperStore()
			s.sticky = sticky
			e := newFakeEngine(t, newFakeWS("ws1"), s, nil)
			b := mpsynctest.Pack("Custom.Pack", "1.0.0.0")
			res, err := e.Import(ctx, bytes.NewReader(b), mpsync.ImportOptions{})
			require.NoError(t, err)
			_, got, err := e.ReadPack(ctx, "Custom.Pack")
			require.NoError(t, err)
			assert.Equal(t, b, got)

			s.tamper("Custom.Pack", res.Entry.SHA256)
			_, _, err = e.ReadPack(ctx, "Custom.Pack")
			require.ErrorIs(t, err, mpsync.ErrTampered)

			res, err = e.Import(ctx, bytes.NewReader(b), mpsync.ImportOptions{})
			require.NoError(t, err)
			assert.True(t, res.Repaired)
			assert.False(t, res.Unchanged)
			_, got, err = e.ReadPack(ctx, "Custom.Pack")
			require.NoError(t, err, "the import repaired the stored copy")
			assert.Equal(t, b, got)

			res, err = e.Import(ctx, bytes.NewReader(b), mpsync.ImportOptions{})
			require.NoError(t, err)
			assert.True(t, res.Unchanged, "a good copy is not written again")
		})
	}
}

// Regression (issue 15, point 3): with the directory store, a pack file
// edited in place at the same size is found by Validate and refused by
// ReadPack.
func TestRegressionValidateFindsAFileEditedInPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	e := newFakeEngine(t, newFakeWS("ws1"), s, nil)
	b := mpsynctest.Pack("Custom.Pack", "1.0.0.0")
	_, err = e.Import(ctx, bytes.NewReader(b), mpsync.ImportOptions{})
	require.NoError(t, err)

	en, err := s.Get(ctx, "Custom.Pack")
	require.NoError(t, err)
	// The directory store keeps pack bytes in files named by their hash.
	files := []string{filepath.Join(dir, "packs", en.SHA256)}
	_, err = os.Stat(files[0])
	require.NoError(t, err, "the pack's file is where the store keeps it")
	edited := bytes.Replace(b, []byte("1.0.0.0"), []byte("9.0.0.0"), 1)
	require.Len(t, edited, len(b))
	require.NoError(t, os.WriteFile(files[0], edited, 0o644))

	_, _, err = e.ReadPack(ctx, "Custom.Pack")
	require.ErrorIs(t, err, mpsync.ErrTampered)
	v, err := e.Validate(ctx)
	require.NoError(t, err)
	c, ok := check(v, "stored Custom.Pack")
	require.True(t, ok, "%+v", v.Failed())
	assert.True(t, strings.Contains(c.Detail, "does not match"), c.Detail)
}
