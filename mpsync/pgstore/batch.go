package pgstore

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Batch starts a batch with the semantics of [storage.Batch]. Each import
// is received, checked and validated when staged, into a spool (memory
// within the store's budget, else a temporary file); nothing reaches the
// database before Commit, which writes every staged change in one
// transaction (one commit, so one WAL flush, however many packs): the
// missing blobs in one COPY, the entries in one pipelined batch. A crash
// or a lost connection before the commit point leaves the store as it was.
// The engine's run therefore costs a bounded number of round trips.
func (s *Store) Batch(ctx context.Context) (storage.Batch, error) {
	if err := s.check(ctx, "batch", ""); err != nil {
		return nil, err
	}
	return &batch{s: s}, nil
}

type batch struct {
	s    *Store
	mu   sync.Mutex
	ops  []*staged
	done bool
	// view is the store at generation gen (hasView) with ops applied,
	// kept up to date as changes are staged: rebuilt only when the store's
	// packs changed under the batch, so that staging n changes costs n
	// small steps, not n listings.
	view    map[string]storage.Entry
	gen     uint64
	hasView bool
}

// viewLocked is the store as it is now with the staged changes applied;
// the caller holds b.mu. It costs one query at most (the store's
// generation, none while the store's cache is fresh), and a listing when
// the store's packs changed since the view was built.
func (b *batch) viewLocked(ctx context.Context) (map[string]storage.Entry, error) {
	if b.hasView {
		g, err := b.s.generation(ctx)
		if err != nil {
			return nil, err
		}
		if g == b.gen {
			return b.view, nil
		}
	}
	base, gen, err := b.s.listGen(ctx)
	if err != nil {
		return nil, err
	}
	v := make(map[string]storage.Entry, len(base)+len(b.ops))
	for _, e := range base {
		v[e.ID] = e
	}
	for _, op := range b.ops {
		applyView(v, op)
	}
	b.view, b.gen, b.hasView = v, uint64(gen), true
	return v, nil
}

func applyView(v map[string]storage.Entry, op *staged) storage.Entry {
	if op.remove {
		delete(v, op.id)
		return storage.Entry{}
	}
	var old *storage.Entry
	if e, ok := v[op.id]; ok {
		old = &e
	}
	e := newEntry(op.req, op.man, op.sum, op.size, old)
	v[op.id] = e
	return e
}

func (b *batch) begin(ctx context.Context, op, id string) error {
	if err := b.s.check(ctx, op, id); err != nil {
		return err
	}
	if b.done {
		return b.s.opErr(op, id, "", storage.ErrBatchDone)
	}
	return nil
}

func (b *batch) List(ctx context.Context) ([]storage.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "list", ""); err != nil {
		return nil, err
	}
	v, err := b.viewLocked(ctx)
	if err != nil {
		return nil, b.s.dbErr(ctx, "list", "", err)
	}
	out := make([]storage.Entry, 0, len(v))
	for _, e := range v {
		out = append(out, e.Clone())
	}
	slices.SortFunc(out, func(x, y storage.Entry) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

func (b *batch) Get(ctx context.Context, id string) (storage.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "get", id); err != nil {
		return storage.Entry{}, err
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, b.s.opErr("get", id, stepRequest, err)
	}
	v, err := b.viewLocked(ctx)
	if err != nil {
		return storage.Entry{}, b.s.dbErr(ctx, "get", id, err)
	}
	e, ok := v[id]
	if !ok {
		return storage.Entry{}, b.s.opErr("get", id, "", storage.ErrNotFound)
	}
	return e.Clone(), nil
}

func (b *batch) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	b.mu.Lock()
	done := b.done
	b.mu.Unlock()
	if done {
		return storage.Entry{}, b.s.opErr("import", req.ID, "", storage.ErrBatchDone)
	}
	op, err := b.s.receive(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "import", req.ID); err != nil {
		op.sp.close()
		return storage.Entry{}, err
	}
	v, err := b.viewLocked(ctx)
	if err != nil {
		op.sp.close()
		return storage.Entry{}, b.s.dbErr(ctx, "import", req.ID, err)
	}
	e := applyView(v, op)
	b.ops = append(b.ops, op)
	return e.Clone(), nil
}

func (b *batch) Remove(ctx context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "remove", id); err != nil {
		return err
	}
	if err := pack.CheckID(id); err != nil {
		return b.s.opErr("remove", id, stepRequest, err)
	}
	v, err := b.viewLocked(ctx)
	if err != nil {
		return b.s.dbErr(ctx, "remove", id, err)
	}
	if _, ok := v[id]; !ok {
		return b.s.opErr("remove", id, "", storage.ErrNotFound)
	}
	op := &staged{remove: true, id: id}
	applyView(v, op)
	b.ops = append(b.ops, op)
	return nil
}

func (b *batch) Commit(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(ctx, "commit", ""); err != nil {
		return err
	}
	b.done = true
	defer b.release()
	if _, err := b.s.commit(ctx, b.ops, false); err != nil {
		return b.s.dbErr(ctx, "commit", "", err)
	}
	return nil
}

func (b *batch) Discard() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	b.release()
}

func (b *batch) release() {
	for _, op := range b.ops {
		op.sp.close()
	}
	b.ops, b.view, b.hasView = nil, nil, false
}
