package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Memory is a store that keeps packs and meta records in memory. It has the
// semantics of [Dir] (validation, previous versions, rollback, meta records)
// without durability, for tests and for programs that plan without importing.
// It is safe for concurrent use; its zero value is not usable, call
// [NewMemory].
type Memory struct {
	limits pack.Limits
	now    func() time.Time

	mu      sync.RWMutex
	entries map[string]memPack
	ids     []string // the ids of entries, sorted
	meta    map[string][]byte
	version uint64 // counts the changes to entries, for batches' views
}

// memPack is one imported pack with its bytes; the byte slices are never
// changed once stored, so readers may share them.
type memPack struct {
	entry    storage.Entry
	data     []byte
	prevData []byte
}

// MemoryOption configures a [Memory] store.
type MemoryOption func(*Memory)

// WithLimits sets the limits imports are validated with; zero fields take
// the defaults of [pack.DefaultLimits].
func WithLimits(lim pack.Limits) MemoryOption {
	return func(m *Memory) { m.limits = lim }
}

// WithNow sets the clock that stamps ImportedAt when a request has no Time;
// nil means time.Now.
func WithNow(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now != nil {
			m.now = now
		}
	}
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, entries: map[string]memPack{}, meta: map[string][]byte{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

func (m *Memory) maxBytes() int64 {
	if m.limits.MaxBytes > 0 {
		return m.limits.MaxBytes
	}
	return pack.DefaultLimits().MaxBytes
}

// List returns every imported pack, sorted by id.
func (m *Memory) List(ctx context.Context) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]storage.Entry, len(m.ids))
	for i, id := range m.ids {
		out[i] = m.entries[id].entry.Clone()
	}
	return out, nil
}

// Get returns the imported pack with the given id, or an error wrapping
// [storage.ErrNotFound].
func (m *Memory) Get(ctx context.Context, id string) (storage.Entry, error) {
	p, err := m.lookup(ctx, "get", id)
	if err != nil {
		return storage.Entry{}, err
	}
	return p.entry.Clone(), nil
}

// Open returns the bytes of the imported pack with the given id.
func (m *Memory) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	p, err := m.lookup(ctx, "open", id)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(p.data)), nil
}

func (m *Memory) lookup(ctx context.Context, op, id string) (memPack, error) {
	if err := ctx.Err(); err != nil {
		return memPack{}, opErr(op, id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return memPack{}, opErr(op, id, stepRequest, "", err)
	}
	m.mu.RLock()
	p, ok := m.entries[id]
	m.mu.RUnlock()
	if !ok {
		return memPack{}, opErr(op, id, "", "", storage.ErrNotFound)
	}
	return p, nil
}

// Import reads a pack from r, checks it against req (size, hash, identity),
// validates the whole document and then imports it; on any error nothing
// changes. A pack with the same id is replaced and kept as the previous
// version, unless the bytes are the same, in which case the previous version
// stays as it was.
func (m *Memory) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	op, err := m.receive(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applyLocked(op), nil
}

// receive reads, checks and validates an import without changing anything.
func (m *Memory) receive(ctx context.Context, req storage.ImportRequest, r io.Reader) (staged, error) {
	if err := ctx.Err(); err != nil {
		return staged{}, opErr("import", req.ID, "", "", err)
	}
	if err := storage.CheckImportRequest(req); err != nil {
		return staged{}, opErr("import", req.ID, stepRequest, "", err)
	}
	var buf bytes.Buffer
	if req.Size > 0 && req.Size <= m.maxBytes() {
		buf.Grow(int(req.Size))
	}
	man, sum, n, step, err := storage.ReceivePack(ctx, req, r, &buf, m.maxBytes(), m.limits)
	if err != nil {
		return staged{}, opErr("import", req.ID, step, "", err)
	}
	data := buf.Bytes()
	if err := ctx.Err(); err != nil {
		return staged{}, opErr("import", req.ID, "", "", err)
	}
	return staged{id: req.ID, req: stampTime(req, m.now), man: man, sum: sum, size: n, data: data}, nil
}

// applyLocked applies a received import or a removal; the caller holds
// m.mu for writing. A removal of a pack that is not there does nothing.
func (m *Memory) applyLocked(op staged) storage.Entry {
	m.version++
	if op.remove {
		if _, ok := m.entries[op.id]; ok {
			delete(m.entries, op.id)
			if i, ok := slices.BinarySearch(m.ids, op.id); ok {
				m.ids = slices.Delete(m.ids, i, i+1)
			}
		}
		return storage.Entry{}
	}
	p := memPack{data: op.data}
	if old, ok := m.entries[op.id]; ok {
		p.entry = newEntry(op.req, op.man, op.sum, op.size, m.now, &old.entry)
		if old.entry.SHA256 == op.sum {
			p.prevData = old.prevData
		} else {
			p.prevData = old.data
		}
	} else {
		p.entry = newEntry(op.req, op.man, op.sum, op.size, m.now, nil)
		i, _ := slices.BinarySearch(m.ids, op.id)
		m.ids = slices.Insert(m.ids, i, op.id)
	}
	m.entries[op.id] = p
	return p.entry.Clone()
}

// Remove deletes the pack with the given id and its previous version.
func (m *Memory) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return opErr("remove", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return opErr("remove", id, stepRequest, "", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[id]; !ok {
		return opErr("remove", id, "", "", storage.ErrNotFound)
	}
	m.applyLocked(staged{remove: true, id: id})
	return nil
}

// Rollback restores the previous version kept for id; the current version
// becomes the previous one. Without a previous version the error wraps
// [storage.ErrNotFound].
func (m *Memory) Rollback(ctx context.Context, id string) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr("rollback", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, opErr("rollback", id, stepRequest, "", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.entries[id]
	if !ok {
		return storage.Entry{}, opErr("rollback", id, "", "", storage.ErrNotFound)
	}
	e, err := p.entry.RolledBack()
	if err != nil {
		return storage.Entry{}, opErr("rollback", id, "", "", err)
	}
	m.entries[id] = memPack{entry: e, data: p.prevData, prevData: p.data}
	m.version++
	return e.Clone(), nil
}

// ReadMeta returns a copy of the meta record with the given name.
func (m *Memory) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if err := m.checkMeta(ctx, "read meta", name); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.meta[name]
	if !ok {
		return nil, opErr("read meta", name, "", "", storage.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// WriteMeta replaces the meta record with the given name.
func (m *Memory) WriteMeta(ctx context.Context, name string, data []byte) error {
	if err := m.checkMeta(ctx, "write meta", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[name] = bytes.Clone(data)
	if m.meta[name] == nil {
		m.meta[name] = []byte{}
	}
	return nil
}

// AppendMeta appends data to the meta record with the given name, creating
// it if needed.
func (m *Memory) AppendMeta(ctx context.Context, name string, data []byte) error {
	if err := m.checkMeta(ctx, "append meta", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.meta[name]
	// Always copy, so a slice handed out by ReadMeta never aliases this one.
	b := make([]byte, 0, len(old)+len(data))
	m.meta[name] = append(append(b, old...), data...)
	return nil
}

func (m *Memory) checkMeta(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return opErr(op, name, "", "", err)
	}
	if err := CheckMetaName(name); err != nil {
		return opErr(op, name, stepRequest, "", err)
	}
	return nil
}

// String describes the store for logs.
func (m *Memory) String() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fmt.Sprintf("store.Memory(%d packs, %d meta records)", len(m.entries), len(m.meta))
}
