package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"mpsync.dev/mpsync/storage"
)

// errCrash, returned by a test failpoint, stops a change where it is and
// skips every clean-up, as if the process had died there.
var errCrash = errors.New("simulated crash")

// Failpoint steps, in the order a change passes them.
const (
	fpWrite       = "write"        // import: bytes received into the temporary file
	fpSync        = "sync"         // import: temporary file validated and synced
	fpRename      = "rename"       // import: pack file renamed into place
	fpSidecar     = "sidecar"      // import, rollback: the sidecar of the file becoming current written, synced and renamed into place
	fpIndexWrite  = "index-write"  // temporary index written and synced
	fpIndexRename = "index-rename" // index renamed over index.json
	fpCommit      = "commit"       // index directory synced: the change is durable
	fpGC          = "gc"           // unreferenced pack files deleted

	fpAppendWrite = "append-write" // append meta: data written, not yet synced
	fpAppendUndo  = "append-undo"  // append meta: a failed append being undone
)

func (d *Dir) hit(step string) error {
	if d.failpoint == nil {
		return nil
	}
	if err := d.failpoint(step); err != nil {
		return fmt.Errorf("failpoint %s: %w", step, err)
	}
	return nil
}

// undo collects clean-ups that run when a change fails, unless it failed by
// a simulated crash.
type undo []func()

func (u undo) run(err error) {
	if err == nil || errors.Is(err, errCrash) {
		return
	}
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// Import reads a pack from r into a temporary file beside the pack files
// while hashing and counting it, checks size and hash against req,
// validates the whole document with [pack.Validate] and only then commits
// it: the pack file is renamed into place under its content hash, its
// sidecar (provenance, import time and the generation at which it became
// current, for a rebuild) is written beside it,
// and the index is replaced atomically. The index replacement is the commit
// point; on any error before it the store is exactly as it was. A pack with
// the same id is replaced and kept as the previous version, unless the bytes
// are the same, in which case the previous version stays as it was.
func (d *Dir) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	return d.importPack(ctx, req, r)
}

func (d *Dir) importPack(ctx context.Context, req storage.ImportRequest, r io.Reader) (_ storage.Entry, err error) {
	const op = "import"
	id := req.ID
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	if err := checkRequest(req, checkFileID); err != nil {
		return storage.Entry{}, opErr(op, id, stepRequest, "", err)
	}
	if err := d.begin(op, id); err != nil {
		return storage.Entry{}, err
	}
	defer d.inflight.Done()

	var u undo
	defer func() { u.run(err) }()

	tmp, err := os.CreateTemp(d.packsDir(), tmpPrefix+"import-*")
	if err != nil {
		return storage.Entry{}, opErr(op, id, "create", d.packsDir(), err)
	}
	tmpName := tmp.Name()
	defer tmp.Close()
	u = append(u, func() { _ = os.Remove(tmpName) })

	sum, n, step, err := receive(ctx, req, r, tmp, d.maxBytes())
	if err != nil {
		return storage.Entry{}, opErr(op, id, step, tmpName, err)
	}
	if err := d.hit(fpWrite); err != nil {
		return storage.Entry{}, opErr(op, id, fpWrite, tmpName, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return storage.Entry{}, opErr(op, id, stepValidate, tmpName, err)
	}
	man, err := validate(bufio.NewReaderSize(tmp, 64<<10), req, d.limits)
	if err != nil {
		return storage.Entry{}, opErr(op, id, stepValidate, "", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	if err := tmp.Sync(); err != nil {
		return storage.Entry{}, opErr(op, id, "sync", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return storage.Entry{}, opErr(op, id, "sync", tmpName, err)
	}
	if err := d.hit(fpSync); err != nil {
		return storage.Entry{}, opErr(op, id, fpSync, tmpName, err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	old, had := d.entries[id]
	var oldp *storage.Entry
	if had {
		oldp = &old
	}
	final := d.packFile(id, sum)
	if referenced(old, had, sum) {
		// The same bytes are already in place.
		if err := os.Remove(tmpName); err != nil {
			return storage.Entry{}, opErr(op, id, "rename", tmpName, err)
		}
	} else {
		// A file of that name that no entry refers to is a leftover of a
		// failed change; renaming over it is fine.
		idDir := filepath.Dir(final)
		if _, err := os.Stat(idDir); errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(idDir, 0o755); err != nil {
				return storage.Entry{}, opErr(op, id, "rename", idDir, err)
			}
			u = append(u, func() { _ = os.Remove(idDir) })
			if err := syncDir(d.packsDir()); err != nil {
				return storage.Entry{}, opErr(op, id, "rename", d.packsDir(), err)
			}
		}
		if err := os.Rename(tmpName, final); err != nil {
			return storage.Entry{}, opErr(op, id, "rename", final, err)
		}
		u = append(u, func() { _ = os.Remove(final) })
		if err := syncDir(idDir); err != nil {
			return storage.Entry{}, opErr(op, id, "rename", idDir, err)
		}
	}
	if err := d.hit(fpRename); err != nil {
		return storage.Entry{}, opErr(op, id, fpRename, final, err)
	}

	e := newEntry(req, man, sum, n, d.now, oldp)
	gen := d.gens[id]
	if !had || old.SHA256 != sum {
		// Another file becomes current (a new one, or the previous one
		// imported again): it gets the next generation.
		gen++
	}
	if err := d.currentSidecar(e, gen, &u); err != nil {
		return storage.Entry{}, opErr(op, id, fpSidecar, d.sidecarFile(id, sum), err)
	}
	if err := d.hit(fpSidecar); err != nil {
		return storage.Entry{}, opErr(op, id, fpSidecar, d.sidecarFile(id, sum), err)
	}
	next := maps.Clone(d.entries)
	next[id] = e
	if err := d.commit(op, id, next); err != nil {
		return storage.Entry{}, err
	}
	d.gens[id] = gen
	if err := d.gc(id); err != nil {
		return storage.Entry{}, opErr(op, id, fpGC, "", err)
	}
	d.log.Debug("store: imported pack", "id", id, "version", e.Version.String(), "sha256", sum, "size", n)
	return cloneEntry(e), nil
}

// currentSidecar writes the sidecar of the file e's current version refers
// to, recording generation gen, before the index commit, and registers with
// u how to undo it: delete it when there was none, else put the old bytes
// back. An import of bytes the store already holds rewrites the file's
// sidecar (the provenance and import time are the new request's), and so
// does a rollback (the restored file gets the next generation); if a crash
// leaves it ahead of the index, OpenDir rewrites it from the index.
func (d *Dir) currentSidecar(e storage.Entry, gen uint64, u *undo) error {
	want, err := sidecarOf(e, gen).encode()
	if err != nil {
		return err
	}
	p := d.sidecarFile(e.ID, e.SHA256)
	old, err := os.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(old, want):
		return nil
	case err == nil:
		*u = append(*u, func() {
			if err := replaceFile(filepath.Dir(p), filepath.Base(p), old); err != nil {
				d.log.Warn("store: cannot restore a sidecar; OpenDir rewrites it from the index", "file", p, "err", err)
			}
		})
	case errors.Is(err, fs.ErrNotExist):
		*u = append(*u, func() { _ = removeIfExists(p) })
	default:
		// Unreadable: replace it all the same; an undo removes it and
		// OpenDir writes it again from the index.
		*u = append(*u, func() { _ = removeIfExists(p) })
	}
	return replaceFile(filepath.Dir(p), filepath.Base(p), want)
}

// referenced reports whether the entry e (present when had) refers to the
// pack file with the given hash.
func referenced(e storage.Entry, had bool, sum string) bool {
	if !had {
		return false
	}
	return e.SHA256 == sum || e.Previous != nil && e.Previous.SHA256 == sum
}

// Remove deletes the pack with the given id and its previous version: the
// index is replaced first (the commit point), then the files and their
// sidecars are deleted.
func (d *Dir) Remove(ctx context.Context, id string) error {
	const op = "remove"
	if err := ctx.Err(); err != nil {
		return opErr(op, id, "", "", err)
	}
	if err := checkFileID(id); err != nil {
		return opErr(op, id, stepRequest, "", err)
	}
	if err := d.begin(op, id); err != nil {
		return err
	}
	defer d.inflight.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return opErr(op, id, "", "", err)
	}
	if _, ok := d.entries[id]; !ok {
		return opErr(op, id, "", "", storage.ErrNotFound)
	}
	next := maps.Clone(d.entries)
	delete(next, id)
	if err := d.commit(op, id, next); err != nil {
		return err
	}
	delete(d.gens, id)
	if err := d.gc(id); err != nil {
		return opErr(op, id, fpGC, "", err)
	}
	d.log.Debug("store: removed pack", "id", id)
	return nil
}

// Rollback restores the previous version kept for id; the current version
// becomes the previous one. The restored file's sidecar is rewritten first
// (durably: temporary file, fsync, rename, fsync of the directory) to record
// the pack's next generation, so that a rebuild of a lost index keeps the
// restored version current; then the index is replaced atomically, the
// commit point. On any error before it the store is exactly as it was, the
// sidecar included. Without a previous version the error wraps
// [storage.ErrNotFound].
func (d *Dir) Rollback(ctx context.Context, id string) (storage.Entry, error) {
	return d.rollback(ctx, id)
}

func (d *Dir) rollback(ctx context.Context, id string) (_ storage.Entry, err error) {
	const op = "rollback"
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	if err := checkFileID(id); err != nil {
		return storage.Entry{}, opErr(op, id, stepRequest, "", err)
	}
	if err := d.begin(op, id); err != nil {
		return storage.Entry{}, err
	}
	defer d.inflight.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	cur, ok := d.entries[id]
	if !ok {
		return storage.Entry{}, opErr(op, id, "", "", storage.ErrNotFound)
	}
	e, err := rolledBack(cur)
	if err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	var u undo
	defer func() { u.run(err) }()
	gen := d.gens[id] + 1
	if err := d.currentSidecar(e, gen, &u); err != nil {
		return storage.Entry{}, opErr(op, id, fpSidecar, d.sidecarFile(id, e.SHA256), err)
	}
	if err := d.hit(fpSidecar); err != nil {
		return storage.Entry{}, opErr(op, id, fpSidecar, d.sidecarFile(id, e.SHA256), err)
	}
	next := maps.Clone(d.entries)
	next[id] = e
	if err := d.commit(op, id, next); err != nil {
		return storage.Entry{}, err
	}
	d.gens[id] = gen
	d.log.Debug("store: rolled back pack", "id", id, "version", e.Version.String())
	return cloneEntry(e), nil
}

// commit makes next the store's state: it replaces index.json atomically
// and then the in-memory index. The caller holds d.mu for writing. On error
// the store is as it was; if that cannot be guaranteed (the new index was
// renamed into place but could not be synced, and the old one could not be
// put back) the store refuses further use until it is reopened.
func (d *Dir) commit(op, id string, next map[string]storage.Entry) error {
	sorted := sortEntries(next)
	data, err := encodeIndex(sorted)
	if err != nil {
		return opErr(op, id, "index", "", err)
	}
	tmp, err := writeTemp(d.path, tmpPrefix+"index-*", data)
	if err != nil {
		return opErr(op, id, "index", d.path, err)
	}
	if err := d.hit(fpIndexWrite); err != nil {
		if !errors.Is(err, errCrash) {
			_ = os.Remove(tmp)
		}
		return opErr(op, id, fpIndexWrite, tmp, err)
	}
	indexPath := filepath.Join(d.path, indexName)
	if err := os.Rename(tmp, indexPath); err != nil {
		_ = os.Remove(tmp)
		return opErr(op, id, "index", indexPath, err)
	}
	err = d.hit(fpIndexRename)
	if err == nil {
		err = syncDir(d.path)
	}
	if err != nil {
		if errors.Is(err, errCrash) {
			return opErr(op, id, fpIndexRename, indexPath, err)
		}
		// The new index may or may not survive a power cut: put the old
		// one back so that memory and disk agree again.
		old, eerr := encodeIndex(d.sortedLocked())
		if eerr == nil {
			eerr = replaceFile(d.path, indexName, old)
		}
		if eerr != nil {
			d.broken = fmt.Errorf("index %s could not be synced (%w) nor restored (%w)", indexPath, err, eerr)
			d.log.Error("store: index may differ from memory; reopen the store", "dir", d.path, "err", d.broken)
		}
		return opErr(op, id, "index", indexPath, err)
	}
	if err := d.hit(fpCommit); err != nil && errors.Is(err, errCrash) {
		return opErr(op, id, fpCommit, indexPath, err)
	}
	d.entries = next
	d.sorted = sorted
	return nil
}

// gc deletes the pack files of id that the index no longer refers to with
// their sidecars, and the id's directory when it is empty. The caller holds d.mu for writing.
// Failures are logged, not returned: the change is committed, and OpenDir
// deletes what is left. Only a simulated crash is returned.
func (d *Dir) gc(id string) error {
	dir := filepath.Join(d.packsDir(), id)
	e, had := d.entries[id]
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("store: cannot list pack files to delete old versions", "id", id, "err", err)
	}
	for _, f := range ents {
		sum, _, ok := parsePackFileName(f.Name())
		if !ok || referenced(e, had, sum) {
			continue
		}
		if err := removeIfExists(filepath.Join(dir, f.Name())); err != nil {
			d.log.Warn("store: cannot delete an old pack file", "id", id, "file", f.Name(), "err", err)
		}
	}
	if !had {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			d.log.Warn("store: cannot delete the directory of a removed pack", "id", id, "err", err)
		}
	}
	if err := d.hit(fpGC); err != nil && errors.Is(err, errCrash) {
		return err
	}
	return nil
}

// indexFile is the shape of index.json.
type indexFile struct {
	// Format is the layout version; this code reads and writes 1.
	Format int             `json:"format"`
	Packs  []storage.Entry `json:"packs"`
}

const indexFormat = 1

// encodeIndex writes the index as JSON with one pack per line: compact
// enough to rewrite on every change, readable and diffable by a person.
func encodeIndex(sorted []storage.Entry) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(sorted) * 512)
	fmt.Fprintf(&b, "{\"format\":%d,\"packs\":[", indexFormat)
	for i, e := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n")
		line, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", e.ID, err)
		}
		b.Write(line)
	}
	b.WriteString("\n]}\n")
	return b.Bytes(), nil
}
