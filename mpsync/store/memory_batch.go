package store

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Batch starts a batch of changes to m with the semantics of
// [storage.Batch]: each import is received and validated when staged,
// nothing is visible through m until Commit, and Commit applies every
// staged change at once (there is nothing to sync in memory).
func (m *Memory) Batch(ctx context.Context) (storage.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("batch", "", "", "", err)
	}
	return &memBatch{m: m}, nil
}

var _ storage.Batcher = (*Memory)(nil)

type memBatch struct {
	m    *Memory
	mu   sync.Mutex
	ops  []staged
	done bool
	// view is the store as of version with ops applied, kept up to date as
	// ops are staged.
	view    map[string]storage.Entry
	version uint64
}

// viewLocked is the store as it will be after Commit; the caller holds b.mu
// and must not change the map.
func (b *memBatch) viewLocked() map[string]storage.Entry {
	b.m.mu.RLock()
	defer b.m.mu.RUnlock()
	if b.view != nil && b.version == b.m.version {
		return b.view
	}
	base := make(map[string]storage.Entry, len(b.m.entries))
	for id, p := range b.m.entries {
		base[id] = p.entry
	}
	b.view, b.version = viewOf(base, b.ops), b.m.version
	return b.view
}

func (b *memBatch) List(ctx context.Context) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil, opErr("list", "", "", "", storage.ErrBatchDone)
	}
	return sortedCopies(b.viewLocked()), nil
}

func (b *memBatch) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr("get", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, opErr("get", id, stepRequest, "", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return storage.Entry{}, opErr("get", id, "", "", storage.ErrBatchDone)
	}
	e, ok := b.viewLocked()[id]
	if !ok {
		return storage.Entry{}, opErr("get", id, "", "", storage.ErrNotFound)
	}
	return e.Clone(), nil
}

func (b *memBatch) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	op, err := b.m.receive(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return storage.Entry{}, opErr("import", req.ID, "", "", storage.ErrBatchDone)
	}
	v := b.viewLocked()
	e, _ := applyOp(v, op)
	b.ops = append(b.ops, op)
	return e.Clone(), nil
}

func (b *memBatch) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return opErr("remove", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return opErr("remove", id, stepRequest, "", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return opErr("remove", id, "", "", storage.ErrBatchDone)
	}
	v := b.viewLocked()
	if _, ok := v[id]; !ok {
		return opErr("remove", id, "", "", storage.ErrNotFound)
	}
	op := staged{remove: true, id: id}
	_, _ = applyOp(v, op)
	b.ops = append(b.ops, op)
	return nil
}

func (b *memBatch) Commit(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return opErr("commit", "", "", "", storage.ErrBatchDone)
	}
	if err := ctx.Err(); err != nil {
		return opErr("commit", "", "", "", err)
	}
	b.done = true
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	for _, op := range b.ops {
		b.m.applyLocked(op)
	}
	b.ops = nil
	return nil
}

func (b *memBatch) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	b.ops = nil
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
