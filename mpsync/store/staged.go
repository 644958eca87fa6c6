package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// staged is one change a batch holds: an import whose bytes were received,
// checked and validated, or a removal. An import's request carries its
// import time, stamped when it was staged.
type staged struct {
	remove bool
	id     string
	req    storage.ImportRequest
	man    pack.Manifest
	sum    string
	size   int64
	data   []byte // Memory: the pack's bytes
	file   string // Dir: the staged file under incoming/
}

// stampTime sets req.Time to now() when it is zero, so that what a batch
// shows before Commit is what Commit records.
func stampTime(req storage.ImportRequest, now func() time.Time) storage.ImportRequest {
	if req.Time.IsZero() {
		req.Time = now()
	}
	return req
}

// applyOp applies op to entries and returns the entry an import records. A
// removal of an id entries does not hold wraps storage.ErrNotFound and
// changes nothing.
func applyOp(entries map[string]storage.Entry, op staged) (storage.Entry, error) {
	if op.remove {
		if _, ok := entries[op.id]; !ok {
			return storage.Entry{}, fmt.Errorf("%w: %s", storage.ErrNotFound, op.id)
		}
		delete(entries, op.id)
		return storage.Entry{}, nil
	}
	var oldp *storage.Entry
	if old, ok := entries[op.id]; ok {
		oldp = &old
	}
	e := newEntry(op.req, op.man, op.sum, op.size, time.Now, oldp)
	entries[op.id] = e
	return e, nil
}

// viewOf returns base with ops applied in order; base is not changed.
func viewOf(base map[string]storage.Entry, ops []staged) map[string]storage.Entry {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]storage.Entry{}
	}
	for _, op := range ops {
		_, _ = applyOp(m, op)
	}
	return m
}

// batchState is what a batch of either store keeps while it is open: the
// changes staged, in order, and the view (the store as it will be after
// Commit), kept up to date as changes are staged, so that the engine's
// dependency checks during a run cost a lookup. The view is rebuilt only
// when the store under it changed. dirBatch and memBatch differ only in
// how they receive an import, where the store's entries come from and what
// Commit does.
type batchState struct {
	mu   sync.Mutex
	ops  []staged
	done bool
	view map[string]storage.Entry
	key  any // identifies the store's state the view was made from
}

// baseFunc returns the store's current state: a comparable key that
// changes whenever its entries do, and, when key differs from have, its
// entries (which the batch does not change).
type baseFunc func(have any) (key any, base map[string]storage.Entry, err error)

// viewLocked returns the view; the caller holds s.mu and must not change
// the map.
func (s *batchState) viewLocked(op string, cur baseFunc) (map[string]storage.Entry, error) {
	if s.done {
		return nil, opErr(op, "", "", "", storage.ErrBatchDone)
	}
	key, base, err := cur(s.key)
	if err != nil {
		return nil, err
	}
	if s.view == nil || key != s.key {
		s.view, s.key = viewOf(base, s.ops), key
	}
	return s.view, nil
}

func (s *batchState) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *batchState) list(ctx context.Context, cur baseFunc) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked("list", cur)
	if err != nil {
		return nil, err
	}
	return sortedCopies(v), nil
}

func (s *batchState) get(ctx context.Context, id string, cur baseFunc) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr("get", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, opErr("get", id, stepRequest, "", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked("get", cur)
	if err != nil {
		return storage.Entry{}, err
	}
	e, ok := v[id]
	if !ok {
		return storage.Entry{}, opErr("get", id, "", "", storage.ErrNotFound)
	}
	return e.Clone(), nil
}

// add stages a received import and returns the entry it will record.
func (s *batchState) add(op staged, cur baseFunc) (storage.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked("import", cur)
	if err != nil {
		return storage.Entry{}, err
	}
	e, _ := applyOp(v, op)
	s.ops = append(s.ops, op)
	return e.Clone(), nil
}

// remove stages the removal of id, which the view must hold.
func (s *batchState) remove(ctx context.Context, id string, cur baseFunc) error {
	if err := ctx.Err(); err != nil {
		return opErr("remove", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return opErr("remove", id, stepRequest, "", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.viewLocked("remove", cur)
	if err != nil {
		return err
	}
	if _, ok := v[id]; !ok {
		return opErr("remove", id, "", "", storage.ErrNotFound)
	}
	op := staged{remove: true, id: id}
	_, _ = applyOp(v, op)
	s.ops = append(s.ops, op)
	return nil
}

// take ends the batch for Commit and returns its changes; check, when not
// nil, may refuse first (the batch then stays open).
func (s *batchState) take(check func() error) ([]staged, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil, opErr("commit", "", "", "", storage.ErrBatchDone)
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	s.done = true
	ops := s.ops
	s.ops, s.view = nil, nil
	return ops, nil
}

// discard ends the batch and returns the changes it held, nil when it had
// ended already.
func (s *batchState) discard() []staged {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.done = true
	ops := s.ops
	s.ops, s.view = nil, nil
	return ops
}

// sortedCopies returns copies of the entries of m sorted by id.
func sortedCopies(m map[string]storage.Entry) []storage.Entry {
	out := make([]storage.Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e.Clone())
	}
	slices.SortFunc(out, func(a, b storage.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}
