package store

import (
	"fmt"
	"maps"
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
