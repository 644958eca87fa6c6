package mpsync_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

type nthStore struct {
	mpsync.Store
	fail int64
	c    atomic.Int64
}

func (s *nthStore) hit() error {
	if s.c.Add(1) == s.fail {
		return errors.New("injected failure")
	}
	return nil
}
func (s *nthStore) List(ctx context.Context) ([]storage.Entry, error) {
	if err := s.hit(); err != nil {
		return nil, err
	}
	return s.Store.List(ctx)
}
func (s *nthStore) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := s.hit(); err != nil {
		return storage.Entry{}, err
	}
	return s.Store.Get(ctx, id)
}
func (s *nthStore) Import(ctx context.Context, r storage.ImportRequest, rd io.Reader) (storage.Entry, error) {
	if err := s.hit(); err != nil {
		return storage.Entry{}, err
	}
	return s.Store.Import(ctx, r, rd)
}
func (s *nthStore) Remove(ctx context.Context, id string) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.Remove(ctx, id)
}
func (s *nthStore) ReadMeta(ctx context.Context, n string) ([]byte, error) {
	if err := s.hit(); err != nil {
		return nil, err
	}
	return s.Store.ReadMeta(ctx, n)
}
func (s *nthStore) WriteMeta(ctx context.Context, n string, b []byte) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.WriteMeta(ctx, n, b)
}
func (s *nthStore) AppendMeta(ctx context.Context, n string, b []byte) error {
	if err := s.hit(); err != nil {
		return err
	}
	return s.Store.AppendMeta(ctx, n, b)
}

func TestRegressionFailNth(t *testing.T) {
	ctx := context.Background()
	for n := int64(1); n < 80; n++ {
		ws := newFakeWS("ws1")
		ws.solution("S", true)
		ws.put(advisor, "1.0.0.0", "")
		ws.put("X", "1.0.0.0", "S")
		ws.put("Y", "1.0.0.0", "S", rref("X", "1.0.0.0"))
		ms := store.NewMemory()
		e0 := newFakeEngine(t, ws, ms, nil)
		_, err := e0.Sync(ctx)
		require.NoError(t, err)
		ws.put("X", "2.0.0.0", "S")
		ws.put("Y", "2.0.0.0", "S", rref("X", "2.0.0.0"))
		ws.put("Z", "1.0.0.0", "S")
		fs := &nthStore{Store: ms, fail: n}
		e := newFakeEngine(t, ws, fs, nil)
		rep, err := e.Sync(ctx)
		var failed int
		if rep != nil {
			failed = len(rep.Failed())
		}
		// converge
		fs.fail = -1
		_, err2 := e.Sync(ctx)
		got := storeVersions(t, ms)
		if err2 != nil || got["X"] != "2.0.0.0" || got["Y"] != "2.0.0.0" || got["Z"] != "1.0.0.0" {
			t.Errorf("n=%d err=%v failed=%d; then err2=%v store=%v", n, err, failed, err2, got)
		}
		if fs.c.Load() < n {
			break
		}
	}
}
