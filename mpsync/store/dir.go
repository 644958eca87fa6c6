package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Names in a store directory; doc.go describes the layout.
const (
	lockName       = "lock"
	indexName      = "index.json"
	packsName      = "packs"
	metaName       = "meta"
	quarantineName = "quarantine"
	// tmpPrefix starts the name of every temporary file the store writes;
	// OpenDir deletes such files, which only an interrupted operation leaves.
	tmpPrefix = ".tmp-"
	packExt   = ".xml"
)

// DirOptions configures [OpenDir]. A nil *DirOptions and every zero field
// take the default shown.
type DirOptions struct {
	// Logger receives what the store does on its own: rebuilding the index,
	// quarantining files, deleting leftovers. nil discards.
	Logger *slog.Logger
	// Limits bound the documents Import accepts; zero fields take the
	// defaults of [pack.DefaultLimits].
	Limits pack.Limits
	// Now stamps ImportedAt when an ImportRequest has no Time; nil means
	// time.Now.
	Now func() time.Time
}

// Dir is a store kept in a directory on disk: the embedded default. Open it
// with [OpenDir] and Close it when done. Its methods are safe for concurrent
// use; imports stream and validate in parallel and commit one at a time.
// See the package documentation for the layout, the crash guarantees and
// locking.
type Dir struct {
	path   string
	log    *slog.Logger
	limits pack.Limits
	now    func() time.Time
	lock   *os.File
	report OpenReport

	// failpoint, set only by tests, is called at each step of a change;
	// an error stops the change there as if it had failed (or, for
	// errCrash, as if the process had died).
	failpoint func(step string) error

	mu       sync.RWMutex
	entries  map[string]storage.Entry
	sorted   []storage.Entry   // entries sorted by id; nil when it must be rebuilt
	gens     map[string]uint64 // per id in entries, its current file's generation (see sidecar.go)
	closed   bool
	broken   error // set when the index on disk may differ from entries
	inflight sync.WaitGroup

	metaMu sync.Mutex // serialises WriteMeta and AppendMeta
}

// OpenReport says what [OpenDir] found and repaired.
type OpenReport struct {
	// Rebuilt is true when index.json was missing or unreadable and the
	// index was rebuilt from the pack files.
	Rebuilt bool
	// RebuildReason says why the index was rebuilt.
	RebuildReason string
	// Adopted lists, sorted, the ids of the packs a rebuild found. Those in
	// Restored kept their provenance; the others are recorded as
	// [storage.OwnerCustom]: sync leaves them alone until an operator decides.
	Adopted []string
	// Restored lists, sorted, the ids of the packs whose provenance (owner,
	// workspace, rule, solution, import time) a rebuild restored from the
	// sidecar of their current version's file; len(Restored) says how many.
	Restored []string
	// Unrestored lists, sorted by file, the pack files a rebuild kept
	// without a usable sidecar, and why; each is recorded as [storage.OwnerCustom]
	// with its file's modification time as ImportedAt.
	Unrestored []Unrestored
	// Dropped lists index entries (or their previous versions) whose pack
	// file was missing or damaged, as "id" or "id (previous)".
	Dropped []string
	// Quarantined lists the files moved to the quarantine folder.
	Quarantined []Quarantined
	// Removed lists leftovers of interrupted operations that were deleted
	// (temporary files, pack files no index entry refers to and their
	// sidecars, sidecars without a pack file), relative to the store
	// directory.
	Removed []string
	// SidecarsWritten lists the sidecars OpenDir wrote because they were
	// missing (a store written before sidecars existed, a pack a rebuild
	// recorded as custom), disagreed with the index (a crash between an
	// import's or a rollback's sidecar and its commit) or recorded no
	// generation or generations in the wrong order (a store written before
	// generations existed, a rebuild without them, a crash between a
	// rollback's sidecar and its commit), relative to the store directory.
	SidecarsWritten []string
}

// Unrestored is a pack file a rebuild kept without its provenance.
type Unrestored struct {
	// ID is the pack id.
	ID string
	// File is the pack file's path relative to the store directory.
	File string
	// Reason says why its sidecar could not be used.
	Reason string
}

// Quarantined is a file OpenDir moved aside instead of deleting it.
type Quarantined struct {
	// From is the file's path relative to the store directory.
	From string
	// To is where it is now, relative to the store directory.
	To string
	// Reason says why, as also written to To + ".reason".
	Reason string
}

// OpenDir opens the store kept in the directory at path, creating the
// directory when it does not exist.
//
// It takes an exclusive OS lock on path/lock (flock(2), on Linux and the
// BSDs) for as long as the store is open: a second OpenDir of the same
// directory, from this process or another, fails at once with an error
// wrapping [ErrLocked] that names the lock file and the pid holding it. The
// kernel releases the lock when the holder exits, even on a crash. On
// platforms without flock no lock is taken and a warning is logged.
//
// OpenDir then loads index.json, rebuilds it from the pack files and their
// sidecars when it is missing or unreadable, deletes the leftovers of
// interrupted operations, moves files that do not belong to the layout, or
// fail their checks, to path/quarantine, and writes the sidecars that are
// missing or disagree with the index. [Dir.Report] says what it did.
func OpenDir(path string, opts *DirOptions) (*Dir, error) {
	if opts == nil {
		opts = &DirOptions{}
	}
	if path == "" {
		return nil, opErr("open", "", "", "", errors.New("empty directory path"))
	}
	d := &Dir{
		path:   filepath.Clean(path),
		log:    discardIfNil(opts.Logger),
		limits: opts.Limits,
		now:    opts.Now,
	}
	if d.now == nil {
		d.now = time.Now
	}
	for _, sub := range []string{"", packsName, metaName} {
		if err := os.MkdirAll(filepath.Join(d.path, sub), 0o755); err != nil {
			return nil, opErr("open", "", "create", filepath.Join(d.path, sub), err)
		}
	}
	if err := d.takeLock(); err != nil {
		return nil, err
	}
	if err := d.load(); err != nil {
		d.releaseLock()
		return nil, err
	}
	return d, nil
}

func (d *Dir) takeLock() error {
	p := filepath.Join(d.path, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return opErr("open", "", "lock", p, err)
	}
	if err := lockFile(f); err != nil {
		holder := ""
		if b, rerr := io.ReadAll(io.LimitReader(f, 32)); rerr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " by pid " + pid
			}
		}
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return opErr("open", "", "lock", d.path, fmt.Errorf("%w: %s is held%s", ErrLocked, p, holder))
		}
		return opErr("open", "", "lock", p, err)
	}
	if !lockSupported {
		d.log.Warn("store: this platform has no flock; another process may open the same directory", "dir", d.path)
	}
	// Record the holder for the error a second opener reports. Failing to
	// write it only makes that error less helpful.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	d.lock = f
	return nil
}

func (d *Dir) releaseLock() {
	if d.lock == nil {
		return
	}
	_ = unlockFile(d.lock)
	_ = d.lock.Close()
	d.lock = nil
}

// Close waits for the operations in progress, then releases the directory
// lock. Methods called after Close return an error wrapping [storage.ErrClosed];
// readers returned by Open stay readable. Close is idempotent.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.inflight.Wait()
	if d.lock == nil {
		return nil
	}
	err := unlockFile(d.lock)
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	d.lock = nil
	if err != nil {
		return opErr("close", "", "unlock", filepath.Join(d.path, lockName), err)
	}
	return nil
}

// Path returns the store's directory.
func (d *Dir) Path() string { return d.path }

// Report returns what OpenDir found and repaired.
func (d *Dir) Report() OpenReport {
	r := d.report
	r.Adopted = slices.Clone(r.Adopted)
	r.Restored = slices.Clone(r.Restored)
	r.Unrestored = slices.Clone(r.Unrestored)
	r.SidecarsWritten = slices.Clone(r.SidecarsWritten)
	r.Dropped = slices.Clone(r.Dropped)
	r.Quarantined = slices.Clone(r.Quarantined)
	r.Removed = slices.Clone(r.Removed)
	return r
}

// Rebuilt reports whether OpenDir rebuilt the index from the pack files;
// see [OpenReport.Rebuilt].
func (d *Dir) Rebuilt() bool { return d.report.Rebuilt }

// String describes the store for logs.
func (d *Dir) String() string { return "store.Dir(" + d.path + ")" }

func (d *Dir) packsDir() string { return filepath.Join(d.path, packsName) }

func (d *Dir) packFile(id, sum string) string {
	return filepath.Join(d.path, packsName, id, sum+packExt)
}

func (d *Dir) maxBytes() int64 {
	if d.limits.MaxBytes > 0 {
		return d.limits.MaxBytes
	}
	return pack.DefaultLimits().MaxBytes
}

// usable reports why the store cannot be used, if it cannot. The caller
// holds d.mu.
func (d *Dir) usable() error {
	if d.closed {
		return storage.ErrClosed
	}
	if d.broken != nil {
		return fmt.Errorf("store needs reopening: %w", d.broken)
	}
	return nil
}

// begin registers an operation Close must wait for.
func (d *Dir) begin(op, id string) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if err := d.usable(); err != nil {
		return opErr(op, id, "", "", err)
	}
	d.inflight.Add(1)
	return nil
}

// sortedLocked returns the entries sorted by id, building the cache when
// needed. The caller holds d.mu (read or write); the cache is rebuilt only
// under the write lock, so readers build a private copy instead.
func (d *Dir) sortedLocked() []storage.Entry {
	if d.sorted != nil {
		return d.sorted
	}
	return sortEntries(d.entries)
}

func sortEntries(m map[string]storage.Entry) []storage.Entry {
	out := make([]storage.Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b storage.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// List returns every imported pack, sorted by id. It reads the index held
// in memory and never the pack files.
func (d *Dir) List(ctx context.Context) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if err := d.usable(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	src := d.sortedLocked()
	out := make([]storage.Entry, len(src))
	for i, e := range src {
		out[i] = cloneEntry(e)
	}
	return out, nil
}

// Get returns the imported pack with the given id, or an error wrapping
// [storage.ErrNotFound].
func (d *Dir) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr("get", id, "", "", err)
	}
	if err := checkFileID(id); err != nil {
		return storage.Entry{}, opErr("get", id, stepRequest, "", err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if err := d.usable(); err != nil {
		return storage.Entry{}, opErr("get", id, "", "", err)
	}
	e, ok := d.entries[id]
	if !ok {
		return storage.Entry{}, opErr("get", id, "", "", storage.ErrNotFound)
	}
	return cloneEntry(e), nil
}

// Open returns the bytes of the imported pack with the given id, as an open
// file. The file stays readable whatever happens to the store afterwards.
func (d *Dir) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("open pack", id, "", "", err)
	}
	if err := checkFileID(id); err != nil {
		return nil, opErr("open pack", id, stepRequest, "", err)
	}
	// The read lock keeps a concurrent change from deleting the file
	// between the lookup and the open.
	d.mu.RLock()
	defer d.mu.RUnlock()
	if err := d.usable(); err != nil {
		return nil, opErr("open pack", id, "", "", err)
	}
	e, ok := d.entries[id]
	if !ok {
		return nil, opErr("open pack", id, "", "", storage.ErrNotFound)
	}
	p := d.packFile(id, e.SHA256)
	f, err := os.Open(p)
	if err != nil {
		return nil, opErr("open pack", id, "read", p, err)
	}
	return f, nil
}

// ReadMeta returns the meta record with the given name, or an error
// wrapping [storage.ErrNotFound].
func (d *Dir) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	const op = "read meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return nil, err
	}
	defer d.inflight.Done()
	p := filepath.Join(d.path, metaName, name)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, opErr(op, name, "", "", storage.ErrNotFound)
	}
	if err != nil {
		return nil, opErr(op, name, "read", p, err)
	}
	return b, nil
}

// WriteMeta replaces the meta record with the given name atomically: a
// reader, or a crash, sees the old record or the new one, never a mix.
func (d *Dir) WriteMeta(ctx context.Context, name string, data []byte) error {
	const op = "write meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return err
	}
	defer d.inflight.Done()
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	dir := filepath.Join(d.path, metaName)
	if err := replaceFile(dir, name, data); err != nil {
		return opErr(op, name, "replace", filepath.Join(dir, name), err)
	}
	return nil
}

// AppendMeta appends data to the meta record with the given name, creating
// it if needed, and syncs it to disk (O_APPEND, then fsync). A crash may
// leave the last append incomplete, never an earlier one.
//
// An error means the record is as it was before the call: when the write
// or the fsync fails after some of data may have reached the record, the
// record is cut back to its former length (a record the call created is
// deleted). Only when that clean-up fails too does the error wrap
// [storage.ErrPartialAppend]: the record may then end with part or all of data, and
// a caller that appends lines should start its next append on a new line.
// Once the fsync has succeeded the append is complete and AppendMeta
// returns nil even if closing the file fails; only a new record's directory
// entry is synced after that, and if that fails the record is deleted again
// (or the error wraps ErrPartialAppend).
func (d *Dir) AppendMeta(ctx context.Context, name string, data []byte) error {
	const op = "append meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return err
	}
	defer d.inflight.Done()
	d.metaMu.Lock()
	defer d.metaMu.Unlock()
	dir := filepath.Join(d.path, metaName)
	p := filepath.Join(dir, name)
	_, statErr := os.Lstat(p)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return opErr(op, name, "open", p, err)
	}
	// The record's length before the append; metaMu and the directory lock
	// keep anyone else from appending meanwhile.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		if created {
			_ = os.Remove(p)
		}
		return opErr(op, name, "open", p, err)
	}
	size := fi.Size()
	_, err = f.Write(data)
	if err == nil {
		err = d.hit(fpAppendWrite)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		uerr := d.undoAppend(f, p, size, created)
		f.Close()
		if uerr != nil {
			return opErr(op, name, "write", p, fmt.Errorf("%w: %w; cutting the record back to %d bytes failed: %w", storage.ErrPartialAppend, err, size, uerr))
		}
		return opErr(op, name, "write", p, err)
	}
	if err := f.Close(); err != nil {
		// The data is synced: the append is complete, and saying otherwise
		// would make the caller append it again.
		d.log.Warn("store: closing a meta record after appending failed; the append is complete", "record", name, "err", err)
	}
	if created {
		if err := syncDir(dir); err != nil {
			uerr := d.undoAppend(nil, p, 0, true)
			if uerr != nil {
				return opErr(op, name, "sync", dir, fmt.Errorf("%w: %w; deleting the new record failed: %w", storage.ErrPartialAppend, err, uerr))
			}
			return opErr(op, name, "sync", dir, err)
		}
	}
	return nil
}

// undoAppend puts the meta record p back as it was before an append that
// failed: deleted when the append created it, else cut back to size bytes
// and synced.
func (d *Dir) undoAppend(f *os.File, p string, size int64, created bool) error {
	if err := d.hit(fpAppendUndo); err != nil {
		return err
	}
	if created {
		if err := removeIfExists(p); err != nil {
			return err
		}
		return syncDir(filepath.Dir(p))
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

func (d *Dir) beginMeta(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return opErr(op, name, "", "", err)
	}
	if err := CheckMetaName(name); err != nil {
		return opErr(op, name, stepRequest, "", err)
	}
	return d.begin(op, name)
}
