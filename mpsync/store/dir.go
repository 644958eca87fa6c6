package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Names in a store directory; doc.go describes the layout.
const (
	dbName         = "store.db"
	lockName       = "lock"
	holderName     = "holder"
	packsName      = "packs"
	incomingName   = "incoming"
	quarantineName = "quarantine"
	// oldIndexName is the index of the directory store before the database.
	oldIndexName = "index.json"
	// tmpPrefix starts the name of every temporary file the store writes;
	// OpenDir deletes such files, which only an interrupted operation leaves.
	tmpPrefix = ".tmp-"
)

// DefaultLockTimeout is how long [OpenDir] waits for another process
// holding the store when [DirOptions.LockTimeout] is zero.
const DefaultLockTimeout = 10 * time.Second

// DirOptions configures [OpenDir]. A nil *DirOptions and every zero field
// take the default shown.
type DirOptions struct {
	// Logger receives what the store does on its own: finishing or
	// deleting what an interrupted commit left. nil discards.
	Logger *slog.Logger
	// Limits bound the documents Import accepts; zero fields take the
	// defaults of [pack.DefaultLimits].
	Limits pack.Limits
	// Now stamps ImportedAt when an ImportRequest has no Time; nil means
	// time.Now.
	Now func() time.Time
	// LockTimeout is how long OpenDir waits while another process holds
	// the store before failing with [ErrLocked]: zero means
	// [DefaultLockTimeout], a negative value not to wait at all.
	LockTimeout time.Duration
	// Shared opens the store beside the process that holds it (a running
	// scheduler), without taking the lock: every read works, and so do
	// meta record writes (an approval given while a run is in progress is
	// seen by the next run), but Import, Remove, Rollback and Batch fail
	// with an error wrapping [ErrShared]. A shared Dir never repairs
	// anything on open.
	Shared bool
}

// Dir is a store kept in a directory on disk: the embedded default. Its
// index, provenance, previous versions and meta records live in an SQLite
// database (store.db, in WAL mode); pack bytes are content-addressed files
// beside it. Open it with [OpenDir] and Close it when done. Its methods are
// safe for concurrent use; imports stream and validate in parallel and
// commit one at a time. See the package documentation for the layout, the
// crash guarantees and locking.
type Dir struct {
	path   string
	log    *slog.Logger
	limits pack.Limits
	now    func() time.Time
	shared bool
	lock   *dirLock
	db     *sql.DB
	report OpenReport

	// failpoint, set only by tests, is called at each step of a change;
	// an error stops the change there as if it had failed (or, for
	// errCrash, as if the process had died).
	failpoint func(step string) error

	mu       sync.RWMutex // write: a commit in progress; read: lookups that must not race one
	closed   bool
	inflight sync.WaitGroup

	cacheMu sync.Mutex
	cache   *entryCache
}

// entryCache is every entry as of a database version this connection saw.
type entryCache struct {
	version int64 // PRAGMA data_version when loaded
	entries map[string]storage.Entry
	sorted  []storage.Entry
}

// OpenReport says what [OpenDir] found and repaired, and what the last
// [Rebuild] of the store did.
type OpenReport struct {
	// Rebuilt is true when the store's database was rebuilt by [Rebuild]
	// and no pack has been imported, removed or rolled back since.
	Rebuilt bool
	// RebuildReason says why, and RebuiltAt when.
	RebuildReason string
	RebuiltAt     time.Time
	// Restored lists, sorted, the ids of the packs whose provenance the
	// rebuild recovered from the damaged database.
	Restored []string
	// Unrestored lists the packs the rebuild recorded as
	// [storage.OwnerCustom] because their provenance was lost, and why.
	Unrestored []Unrestored
	// Dropped lists the entries (or previous versions, as "id (previous)")
	// the rebuild found in the damaged database whose pack file was missing.
	Dropped []string
	// Recovered lists the pack files of a commit that was interrupted after
	// its commit point, which OpenDir moved into place.
	Recovered []string
	// Removed lists leftovers of interrupted changes that OpenDir deleted
	// (staged files no commit names, files a commit replaced), relative to
	// the store directory.
	Removed []string
}

// Unrestored is a pack a rebuild kept without its provenance.
type Unrestored struct {
	// ID is the pack id.
	ID string
	// File is the pack file's path relative to the store directory.
	File string
	// Reason says why its provenance could not be restored.
	Reason string
}

// OpenDir opens the store kept in the directory at path, creating it when
// it does not exist.
//
// Unless opts.Shared is set, it takes an exclusive lock on path/lock for as
// long as the store is open (flock on Unix, LockFileEx on Windows, through
// github.com/gofrs/flock). While another process holds it, OpenDir retries
// for up to opts.LockTimeout, then fails with an error wrapping
// [ErrLocked] that names the lock file and the holder (pid, host, since).
// The operating system releases the lock when the holder exits, even on a
// crash.
//
// OpenDir reads no pack file and no entry: its cost does not grow with the
// store. It finishes what a commit interrupted after its commit point left
// (staged files moved into place) and deletes what an interrupted change
// left before it; [Dir.Report] says what it did. A directory written by
// the earlier, index.json layout is refused with [ErrOldFormat]; a damaged
// database with [ErrDamaged], naming the file; [Rebuild] recovers from it.
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
		shared: opts.Shared,
	}
	if d.now == nil {
		d.now = time.Now
	}
	if err := checkLayout(d.path); err != nil {
		return nil, err
	}
	for _, sub := range []string{"", packsName, incomingName} {
		if err := os.MkdirAll(filepath.Join(d.path, sub), 0o755); err != nil {
			return nil, opErr("open", "", "create", filepath.Join(d.path, sub), err)
		}
	}
	if !d.shared {
		l, err := takeLock(d.path, opts.LockTimeout)
		if err != nil {
			return nil, err
		}
		d.lock = l
	}
	db, err := openDB(filepath.Join(d.path, dbName), false, !d.shared)
	if err != nil {
		d.lock.release()
		return nil, err
	}
	d.db = db
	if !d.shared {
		if err := d.recover(); err != nil {
			d.db.Close()
			d.lock.release()
			return nil, err
		}
	}
	if err := d.readRebuildInfo(); err != nil {
		d.db.Close()
		d.lock.release()
		return nil, err
	}
	return d, nil
}

// checkLayout refuses a directory written by the index.json layout.
func checkLayout(path string) error {
	if _, err := os.Stat(filepath.Join(path, dbName)); err == nil {
		return nil
	}
	idx := filepath.Join(path, oldIndexName)
	if _, err := os.Stat(idx); err == nil {
		return opErr("open", "", "database", idx, fmt.Errorf("%w: %s holds %s, the index of the earlier directory store layout, and no %s; "+
			"start afresh: move %s aside and run sync again (workspace packs are downloaded again; import packs imported by hand again)",
			ErrOldFormat, path, oldIndexName, dbName, path))
	}
	return nil
}

// Close waits for the operations in progress, closes the database and
// releases the directory lock. Methods called after Close return an error
// wrapping [storage.ErrClosed]; readers returned by Open stay readable.
// Close is idempotent.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.inflight.Wait()
	err := d.db.Close()
	if err != nil {
		err = opErr("close", "", "database", filepath.Join(d.path, dbName), err)
	}
	if lerr := d.lock.release(); lerr != nil && err == nil {
		err = opErr("close", "", "unlock", filepath.Join(d.path, lockName), lerr)
	}
	return err
}

// Path returns the store's directory.
func (d *Dir) Path() string { return d.path }

// Report returns what OpenDir found and repaired, and what the last
// Rebuild did.
func (d *Dir) Report() OpenReport {
	r := d.report
	r.Restored = slices.Clone(r.Restored)
	r.Unrestored = slices.Clone(r.Unrestored)
	r.Dropped = slices.Clone(r.Dropped)
	r.Recovered = slices.Clone(r.Recovered)
	r.Removed = slices.Clone(r.Removed)
	return r
}

// Rebuilt reports whether the store was rebuilt by [Rebuild] and not
// changed since; see [OpenReport.Rebuilt].
func (d *Dir) Rebuilt() bool { return d.report.Rebuilt }

// String describes the store for logs.
func (d *Dir) String() string { return "store.Dir(" + d.path + ")" }

func (d *Dir) dbPath() string { return filepath.Join(d.path, dbName) }

func (d *Dir) packFile(sum string) string { return filepath.Join(d.path, packsName, sum) }

func (d *Dir) maxBytes() int64 {
	if d.limits.MaxBytes > 0 {
		return d.limits.MaxBytes
	}
	return pack.DefaultLimits().MaxBytes
}

// begin registers an operation Close must wait for.
func (d *Dir) begin(op, id string) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return opErr(op, id, "", "", storage.ErrClosed)
	}
	d.inflight.Add(1)
	return nil
}

// beginWrite is begin for a change to packs, which a shared Dir refuses.
func (d *Dir) beginWrite(op, id string) error {
	if d.shared {
		return opErr(op, id, "", "", ErrShared)
	}
	return d.begin(op, id)
}

// entries returns every entry, from the cache when no other connection
// changed the database since it was loaded.
func (d *Dir) entries(ctx context.Context) (*entryCache, error) {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	var v int64
	if err := d.db.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return nil, d.dbErr("list", "", err)
	}
	if d.cache != nil && d.cache.version == v {
		return d.cache, nil
	}
	sorted, err := loadSorted(ctx, d.db)
	if err != nil {
		return nil, d.dbErr("list", "", err)
	}
	d.cache = &entryCache{version: v, entries: byID(sorted), sorted: sorted}
	return d.cache, nil
}

// patchCache records in the cache, if it is current, what this connection
// committed. The caller holds d.mu for writing.
func (d *Dir) patchCache(changed map[string]*storage.Entry) {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if d.cache == nil {
		return
	}
	m := make(map[string]storage.Entry, len(d.cache.entries)+len(changed))
	for id, e := range d.cache.entries {
		m[id] = e
	}
	for id, e := range changed {
		if e == nil {
			delete(m, id)
		} else {
			m[id] = *e
		}
	}
	// Our own commits do not change data_version; the version stays valid.
	d.cache = &entryCache{version: d.cache.version, entries: m, sorted: sortEntries(m)}
}

func sortEntries(m map[string]storage.Entry) []storage.Entry {
	out := make([]storage.Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b storage.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// List returns every imported pack, sorted by id. The first List reads the
// database's index; later ones answer from memory until another process
// changes the database.
func (d *Dir) List(ctx context.Context) ([]storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("list", "", "", "", err)
	}
	if err := d.begin("list", ""); err != nil {
		return nil, err
	}
	defer d.inflight.Done()
	c, err := d.entries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]storage.Entry, len(c.sorted))
	for i, e := range c.sorted {
		out[i] = e.Clone()
	}
	return out, nil
}

// Get returns the imported pack with the given id, or an error wrapping
// [storage.ErrNotFound].
func (d *Dir) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, opErr("get", id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return storage.Entry{}, opErr("get", id, stepRequest, "", err)
	}
	if err := d.begin("get", id); err != nil {
		return storage.Entry{}, err
	}
	defer d.inflight.Done()
	c, err := d.entries(ctx)
	if err != nil {
		return storage.Entry{}, err
	}
	e, ok := c.entries[id]
	if !ok {
		return storage.Entry{}, opErr("get", id, "", "", storage.ErrNotFound)
	}
	return e.Clone(), nil
}

// Open returns the bytes of the imported pack with the given id, as an open
// file. The file stays readable whatever happens to the store afterwards.
// A pack file that is missing is an error naming the file; [Rebuild]
// drops the entry.
func (d *Dir) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	const op = "open pack"
	if err := ctx.Err(); err != nil {
		return nil, opErr(op, id, "", "", err)
	}
	if err := pack.CheckID(id); err != nil {
		return nil, opErr(op, id, stepRequest, "", err)
	}
	if err := d.begin(op, id); err != nil {
		return nil, err
	}
	defer d.inflight.Done()
	// The read lock keeps a commit of this process from deleting the file
	// between the lookup and the open.
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, err := d.entries(ctx)
	if err != nil {
		return nil, err
	}
	e, ok := c.entries[id]
	if !ok {
		return nil, opErr(op, id, "", "", storage.ErrNotFound)
	}
	p := d.packFile(e.SHA256)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		// A commit of another process may be between its commit point and
		// moving its files into place.
		if alt := d.stagedFile(e.SHA256); alt != "" {
			if f, err2 := os.Open(alt); err2 == nil {
				return f, nil
			}
		}
		return nil, opErr(op, id, "read", p, fmt.Errorf("%w: the pack file is missing; %s", ErrDamaged, recoveryHint(d.path)))
	}
	if err != nil {
		return nil, opErr(op, id, "read", p, err)
	}
	return f, nil
}

// stagedFile returns a file of incoming/ holding the bytes sum names, or "".
func (d *Dir) stagedFile(sum string) string {
	m, _ := filepath.Glob(filepath.Join(d.path, incomingName, sum+"-*"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

// recoveryHint says how to recover a damaged store at path.
func recoveryHint(path string) string {
	return fmt.Sprintf("recover with store.Rebuild(%q) (mpsync rebuild-store), which rebuilds the database from the pack files' manifests and reports the packs whose provenance is lost", path)
}
