package store

import (
	"context"
	"io"

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
	m *Memory
	s batchState
}

// base is the batch's baseFunc: Memory's version is the key, and the
// entries are copied out only when it moved.
func (b *memBatch) base(have any) (any, map[string]storage.Entry, error) {
	b.m.mu.RLock()
	defer b.m.mu.RUnlock()
	if have == any(b.m.version) {
		return have, nil, nil
	}
	base := make(map[string]storage.Entry, len(b.m.entries))
	for id, p := range b.m.entries {
		base[id] = p.entry
	}
	return b.m.version, base, nil
}

func (b *memBatch) List(ctx context.Context) ([]storage.Entry, error) { return b.s.list(ctx, b.base) }

func (b *memBatch) Get(ctx context.Context, id string) (storage.Entry, error) {
	return b.s.get(ctx, id, b.base)
}

func (b *memBatch) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	op, err := b.m.receive(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	return b.s.add(op, b.base)
}

func (b *memBatch) Remove(ctx context.Context, id string) error { return b.s.remove(ctx, id, b.base) }

func (b *memBatch) Commit(ctx context.Context) error {
	ops, err := b.s.take(func() error {
		if err := ctx.Err(); err != nil {
			return opErr("commit", "", "", "", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	for _, op := range ops {
		b.m.applyLocked(op)
	}
	return nil
}

func (b *memBatch) Discard() { b.s.discard() }
