package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// errCrash, returned by a test failpoint, stops a change where it is and
// skips every clean-up, as if the process had died.
var errCrash = errors.New("simulated crash")

// Failpoint steps, in the order a change passes them; each is hit once the
// step is done.
const (
	fpWrite  = "write"  // import: bytes received into incoming/.tmp-*
	fpStage  = "stage"  // import: validated and renamed to incoming/<sha256>-<n>: staged
	fpSync   = "sync"   // commit: staged files and incoming/ synced
	fpTx     = "tx"     // commit: database transaction written, not committed
	fpCommit = "commit" // commit: transaction committed (the commit point)
	fpPlace  = "place"  // commit: staged files moved to packs/ and packs/ synced
	fpGC     = "gc"     // commit: files no entry names any more deleted
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

// Import reads a pack from r into a staged file while hashing and counting
// it, checks size and hash against req, validates the whole document with
// [pack.Validate] and commits it as a batch of one (see [Dir.Batch]): on
// any error before the commit point the store is exactly as it was. A pack
// with the same id is replaced and kept as the previous version, unless the
// bytes are the same, in which case the previous version stays as it was.
func (d *Dir) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	if err := d.beginWrite("import", req.ID); err != nil {
		return storage.Entry{}, err
	}
	defer d.inflight.Done()
	op, err := d.stage(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	changed, err := d.commit(ctx, "import", req.ID, []staged{op})
	if err != nil {
		return storage.Entry{}, err
	}
	return changed[req.ID].Clone(), nil
}

// Remove deletes the pack with the given id and its previous version, as a
// batch of one.
func (d *Dir) Remove(ctx context.Context, id string) error {
	const op = "remove"
	if err := ctx.Err(); err != nil {
		return opErr(op, id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return opErr(op, id, stepRequest, "", err)
	}
	if err := d.beginWrite(op, id); err != nil {
		return err
	}
	defer d.inflight.Done()
	if _, err := d.Get(ctx, id); err != nil {
		return opErr(op, id, "", "", storage.ErrNotFound)
	}
	_, err := d.commit(ctx, op, id, []staged{{remove: true, id: id}})
	return err
}

// Rollback restores the previous version kept for id; the current version
// becomes the previous one, in one database transaction (both files are
// already in place). Without a previous version the error wraps
// [storage.ErrNotFound].
func (d *Dir) Rollback(ctx context.Context, id string) (_ storage.Entry, err error) {
	const op = "rollback"
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, opErr(op, id, stepRequest, "", err)
	}
	if err := d.beginWrite(op, id); err != nil {
		return storage.Entry{}, err
	}
	defer d.inflight.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return storage.Entry{}, opErr(op, id, "", "", storage.ErrClosed)
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	defer tx.Rollback()
	cur, ok, err := getTx(ctx, tx, id)
	if err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	if !ok {
		return storage.Entry{}, opErr(op, id, "", "", storage.ErrNotFound)
	}
	e, err := cur.RolledBack()
	if err != nil {
		return storage.Entry{}, opErr(op, id, "", "", err)
	}
	if err := putTx(ctx, tx, e); err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM info WHERE key = ?`, rebuildKey); err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	if err := bumpGeneration(ctx, tx); err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	if err := d.hit(fpTx); err != nil {
		return storage.Entry{}, opErr(op, id, fpTx, d.dbPath(), err)
	}
	if err := tx.Commit(); err != nil {
		return storage.Entry{}, d.dbErr(op, id, err)
	}
	if err := d.hit(fpCommit); errors.Is(err, errCrash) {
		return storage.Entry{}, opErr(op, id, fpCommit, d.dbPath(), err)
	}
	d.patchCache(map[string]*storage.Entry{id: &e})
	d.report.Rebuilt = false
	d.log.Debug("store: rolled back pack", "id", id, "version", e.Version.String())
	return e.Clone(), nil
}

// stage receives, checks and validates an import into a staged file under
// incoming/, named by its hash. Nothing else changes; on error nothing is
// left behind (unless the error is a simulated crash).
func (d *Dir) stage(ctx context.Context, req storage.ImportRequest, r io.Reader) (_ staged, err error) {
	const op = "import"
	id := req.ID
	if err := ctx.Err(); err != nil {
		return staged{}, opErr(op, id, "", "", err)
	}
	if err := storage.CheckImportRequest(req); err != nil {
		return staged{}, opErr(op, id, stepRequest, "", err)
	}
	inc := filepath.Join(d.path, incomingName)
	tmp, err := os.CreateTemp(inc, tmpPrefix+"import-*")
	if err != nil {
		return staged{}, opErr(op, id, "create", inc, err)
	}
	name := tmp.Name()
	defer func() {
		tmp.Close()
		if err != nil && !errors.Is(err, errCrash) {
			_ = os.Remove(name)
		}
	}()
	// One pass: the bytes go to the file, the hash and the validator as
	// they arrive; nothing is read back.
	man, sum, n, step, err := storage.ReceivePack(ctx, req, r, tmp, d.maxBytes(), d.limits)
	if err != nil {
		if step == stepValidate {
			return staged{}, opErr(op, id, step, "", err)
		}
		return staged{}, opErr(op, id, step, name, err)
	}
	if err := d.hit(fpWrite); err != nil {
		return staged{}, opErr(op, id, fpWrite, name, err)
	}
	if err := ctx.Err(); err != nil {
		return staged{}, opErr(op, id, "", "", err)
	}
	if err := tmp.Close(); err != nil {
		return staged{}, opErr(op, id, "write", name, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	final := filepath.Join(inc, sum+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Rename(name, final); err != nil {
		return staged{}, opErr(op, id, "stage", final, err)
	}
	name = final
	if err := d.hit(fpStage); err != nil {
		return staged{}, opErr(op, id, fpStage, final, err)
	}
	return staged{id: id, req: stampTime(req, d.now), man: man, sum: sum, size: n, file: final}, nil
}

// discardStaged deletes the staged files of ops.
func discardStaged(ops []staged) {
	for _, op := range ops {
		if op.file != "" {
			_ = os.Remove(op.file)
		}
	}
}

// commit applies ops, in order, to the store as it is now, durably and at
// once, and returns the entries they changed (nil for a removed pack):
//
//  1. the staged files and incoming/ are synced (one syncfs on Linux);
//  2. one database transaction records the new entries, the files they
//     name, and the files no entry names any more as garbage; its commit is
//     the commit point;
//  3. the staged files move to packs/<sha256>, and packs/ is synced;
//  4. the garbage files are deleted and their rows with them.
//
// A crash before 2 commits leaves the store as it was (OpenDir deletes the
// staged files); after it, as after the change (OpenDir moves what step 3
// did not move and deletes what step 4 did not delete). An error before the
// commit point deletes the staged files and changes nothing; an error after
// it is logged, and OpenDir finishes the work. A removal of a pack that is
// no longer there does nothing.
func (d *Dir) commit(ctx context.Context, op, id string, ops []staged) (_ map[string]*storage.Entry, err error) {
	committed := false
	defer func() {
		if err != nil && !committed && !errors.Is(err, errCrash) {
			discardStaged(ops)
		}
	}()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, opErr(op, id, "", "", storage.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(op, id, "", "", err)
	}
	inc := filepath.Join(d.path, incomingName)
	var files []string
	for _, o := range ops {
		if o.file != "" {
			files = append(files, o.file)
		}
	}
	if len(files) > 0 {
		if err := syncFiles(inc, files); err != nil {
			return nil, opErr(op, id, "sync", inc, err)
		}
		if err := syncDir(inc); err != nil {
			return nil, opErr(op, id, "sync", inc, err)
		}
	}
	if err := d.hit(fpSync); err != nil {
		return nil, opErr(op, id, fpSync, inc, err)
	}

	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.dbErr(op, id, err)
	}
	defer tx.Rollback()
	// The entries the ops touch, before and after.
	before := map[string]*storage.Entry{}
	after := map[string]storage.Entry{}
	for _, o := range ops {
		if _, seen := before[o.id]; !seen {
			e, ok, err := getTx(ctx, tx, o.id)
			if err != nil {
				return nil, d.dbErr(op, id, err)
			}
			before[o.id] = nil
			if ok {
				before[o.id] = &e
				after[o.id] = e
			}
		}
		if o.remove {
			delete(after, o.id)
			continue
		}
		_, _ = applyOp(after, o)
	}
	changed := map[string]*storage.Entry{}
	oldFiles, newFiles := map[string]string{}, map[string]string{}
	for tid, b := range before {
		if b != nil {
			for _, s := range fileSums(*b) {
				oldFiles[s] = tid
			}
		}
		if a, ok := after[tid]; ok {
			a := a
			changed[tid] = &a
			for _, s := range fileSums(a) {
				newFiles[s] = tid
			}
			if err := putTx(ctx, tx, a); err != nil {
				return nil, d.dbErr(op, id, err)
			}
		} else {
			changed[tid] = nil
			if b == nil {
				continue // removed a pack staged... and not there: nothing
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM packs WHERE id = ?`, tid); err != nil {
				return nil, d.dbErr(op, id, err)
			}
		}
	}
	var garbage []string
	for s := range oldFiles {
		if _, kept := newFiles[s]; kept {
			continue
		}
		garbage = append(garbage, s)
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE sha256 = ?`, s); err != nil {
			return nil, d.dbErr(op, id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO garbage (sha256) VALUES (?)`, s); err != nil {
			return nil, d.dbErr(op, id, err)
		}
	}
	for s, tid := range newFiles {
		if _, had := oldFiles[s]; had {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO files (sha256, id) VALUES (?, ?)`, s, tid); err != nil {
			return nil, d.dbErr(op, id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM garbage WHERE sha256 = ?`, s); err != nil {
			return nil, d.dbErr(op, id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM info WHERE key = ?`, rebuildKey); err != nil {
		return nil, d.dbErr(op, id, err)
	}
	if err := bumpGeneration(ctx, tx); err != nil {
		return nil, d.dbErr(op, id, err)
	}
	if err := d.hit(fpTx); err != nil {
		return nil, opErr(op, id, fpTx, d.dbPath(), err)
	}
	if err := tx.Commit(); err != nil {
		return nil, d.dbErr(op, id, err)
	}
	committed = true
	if err := d.hit(fpCommit); errors.Is(err, errCrash) {
		return nil, opErr(op, id, fpCommit, d.dbPath(), err)
	}
	d.patchCache(changed)
	d.report.Rebuilt = false

	// Past the commit point: errors are logged; OpenDir finishes the work.
	packs := filepath.Join(d.path, packsName)
	moved := false
	for _, o := range ops {
		if o.file == "" {
			continue
		}
		final := d.packFile(o.sum)
		_, named := newFiles[o.sum]
		_, statErr := os.Stat(final)
		// A file already there for the hash is kept, unless the request
		// asked for a rewrite (a repair): then the staged bytes, checked
		// against the hash and synced, replace it in one rename, so the
		// pack's file is never missing.
		if !named || statErr == nil && !o.req.Rewrite {
			_ = os.Remove(o.file)
			continue
		}
		if err := os.Rename(o.file, final); err != nil {
			d.log.Warn("store: cannot move a committed pack file into place; OpenDir will", "file", o.file, "err", err)
			continue
		}
		moved = true
	}
	if moved {
		if err := syncDir(packs); err != nil {
			d.log.Warn("store: cannot sync the pack directory", "dir", packs, "err", err)
		}
	}
	if err := d.hit(fpPlace); errors.Is(err, errCrash) {
		return nil, opErr(op, id, fpPlace, packs, err)
	}
	if len(garbage) > 0 {
		clean := true
		for _, s := range garbage {
			if err := os.Remove(d.packFile(s)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				d.log.Warn("store: cannot delete a replaced pack file; OpenDir will", "file", d.packFile(s), "err", err)
				clean = false
			}
		}
		if clean {
			if err := deleteGarbage(ctx, d.db, garbage); err != nil {
				d.log.Warn("store: cannot forget deleted pack files; OpenDir will", "err", err)
			}
		}
	}
	if err := d.hit(fpGC); errors.Is(err, errCrash) {
		return nil, opErr(op, id, fpGC, packs, err)
	}
	for tid, e := range changed {
		if e == nil {
			d.log.Debug("store: removed pack", "id", tid)
		} else {
			d.log.Debug("store: imported pack", "id", tid, "version", e.Version.String(), "sha256", e.SHA256)
		}
	}
	return changed, nil
}

func deleteGarbage(ctx context.Context, db *sql.DB, sums []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range sums {
		if _, err := tx.ExecContext(ctx, `DELETE FROM garbage WHERE sha256 = ?`, s); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// fileSums returns the hashes of the files e names: current and previous.
func fileSums(e storage.Entry) []string {
	if e.Previous != nil && e.Previous.SHA256 != e.SHA256 {
		return []string{e.SHA256, e.Previous.SHA256}
	}
	return []string{e.SHA256}
}

func getTx(ctx context.Context, tx *sql.Tx, id string) (storage.Entry, bool, error) {
	var b []byte
	err := tx.QueryRowContext(ctx, `SELECT entry FROM packs WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Entry{}, false, nil
	}
	if err != nil {
		return storage.Entry{}, false, err
	}
	e, err := decodeEntry(id, b)
	if err != nil {
		return storage.Entry{}, false, err
	}
	return e, true, nil
}

func putTx(ctx context.Context, tx *sql.Tx, e storage.Entry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO packs (id, entry) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET entry = excluded.entry`, e.ID, encodeEntry(e))
	return err
}

// Batch starts a batch of changes with the semantics of [storage.Batch]:
// each import is received into a staged file under incoming/, checked and
// validated when staged; Commit syncs the staged files (one syncfs(2) on
// Linux, one fsync per file elsewhere), commits one database transaction
// (the commit point), then moves the files into place. A shared Dir
// refuses with [ErrShared].
func (d *Dir) Batch(ctx context.Context) (storage.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("batch", "", "", "", err)
	}
	if err := d.beginWrite("batch", ""); err != nil {
		return nil, err
	}
	d.inflight.Done()
	return &dirBatch{d: d}, nil
}

var _ storage.Batcher = (*Dir)(nil)

type dirBatch struct {
	d *Dir
	s batchState
}

// base is the batch's baseFunc: the Dir's entry cache, whose pointer
// changes when the entries do.
func (b *dirBatch) base(ctx context.Context, op string) baseFunc {
	return func(any) (any, map[string]storage.Entry, error) {
		if err := b.d.begin(op, ""); err != nil {
			return nil, nil, err
		}
		defer b.d.inflight.Done()
		c, err := b.d.entries(ctx)
		if err != nil {
			return nil, nil, err
		}
		return c, c.entries, nil
	}
}

func (b *dirBatch) List(ctx context.Context) ([]storage.Entry, error) {
	return b.s.list(ctx, b.base(ctx, "list"))
}

func (b *dirBatch) Get(ctx context.Context, id string) (storage.Entry, error) {
	return b.s.get(ctx, id, b.base(ctx, "get"))
}

func (b *dirBatch) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	if b.s.isDone() {
		return storage.Entry{}, opErr("import", req.ID, "", "", storage.ErrBatchDone)
	}
	if err := b.d.beginWrite("import", req.ID); err != nil {
		return storage.Entry{}, err
	}
	defer b.d.inflight.Done()
	op, err := b.d.stage(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	e, err := b.s.add(op, b.base(ctx, "import"))
	if err != nil {
		discardStaged([]staged{op})
	}
	return e, err
}

func (b *dirBatch) Remove(ctx context.Context, id string) error {
	return b.s.remove(ctx, id, b.base(ctx, "remove"))
}

func (b *dirBatch) Commit(ctx context.Context) error {
	ops, err := b.s.take(nil)
	if err != nil || len(ops) == 0 {
		return err
	}
	if err := b.d.beginWrite("commit", ""); err != nil {
		discardStaged(ops)
		return err
	}
	defer b.d.inflight.Done()
	_, err = b.d.commit(ctx, "commit", "", ops)
	return err
}

func (b *dirBatch) Discard() { discardStaged(b.s.discard()) }
