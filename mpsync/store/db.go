package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mpsync.dev/mpsync/storage"
)

// schemaVersion is the database layout this code reads and writes, kept in
// PRAGMA user_version. Layout 1 kept each entry as JSON; layout 2 keeps it
// in entrycodec.go's binary format (the tables are the same). OpenDir
// migrates a layout 1 database in one transaction; a shared or read-only
// opener reads it as it is.
const schemaVersion = 2

// schema creates the tables of an empty database; doc.go describes them.
const schema = `
CREATE TABLE IF NOT EXISTS packs (id TEXT PRIMARY KEY, entry BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS garbage (sha256 TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta_appends (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS meta_appends_name ON meta_appends (name, seq);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
`

// openDB opens (creating when needed) the database at p in WAL mode with
// full syncs, on one connection, and checks its layout version. migrate
// says whether an earlier layout is brought up to date (OpenDir with the
// lock held); without it, an earlier layout is read as it is.
func openDB(p string, readOnly, migrate bool) (*sql.DB, error) {
	if strings.ContainsAny(p, "?#") {
		return nil, opErr("open", "", "database", p, errors.New("the store path may not contain '?' or '#'"))
	}
	dsn := p + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	if readOnly {
		dsn = p + "?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, opErr("open", "", "database", p, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		db.Close()
		return nil, dbError("open", "", p, err)
	}
	switch {
	case v > schemaVersion:
		db.Close()
		return nil, opErr("open", "", "database", p, fmt.Errorf("database layout %d is newer than this library reads (%d); use a newer version", v, schemaVersion))
	case v < schemaVersion && !readOnly && (v == 0 || migrate):
		if err := createSchema(db); err != nil {
			db.Close()
			return nil, dbError("open", "", p, err)
		}
	}
	return db, nil
}

func createSchema(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	switch {
	case v >= schemaVersion:
		return nil // another process created it meanwhile
	case v == 1:
		if err := migrateEntries(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
			return err
		}
		return tx.Commit()
	}
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	// The generation starts at a random number, so that a database made
	// anew (Rebuild) never answers a number an earlier one gave.
	var start [8]byte
	if _, err := rand.Read(start[:]); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT OR IGNORE INTO info (key, value) VALUES (?, ?)`, generationKey,
		int64(binary.LittleEndian.Uint64(start[:])>>2)); err != nil {
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateEntries rewrites the JSON entries of layout 1 in the binary format
// of layout 2, within tx.
func migrateEntries(tx *sql.Tx) error {
	m, err := loadEntries(context.Background(), tx)
	if err != nil {
		return err
	}
	for _, e := range m {
		if _, err := tx.Exec(`UPDATE packs SET entry = ? WHERE id = ?`, encodeEntry(e), e.ID); err != nil {
			return err
		}
	}
	return nil
}

// dbError wraps a database error; a damaged database wraps ErrDamaged and
// says how to recover.
func dbError(op, id, p string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return opErr(op, id, "database", p, fmt.Errorf("%w: %w; %s", ErrDamaged, err, recoveryHint(filepath.Dir(p))))
		case sqlite3.SQLITE_BUSY:
			return opErr(op, id, "database", p, fmt.Errorf("another process holds the database too long: %w", err))
		}
	}
	return opErr(op, id, "database", p, err)
}

func (d *Dir) dbErr(op, id string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return opErr(op, id, "", "", err)
	}
	return dbError(op, id, d.dbPath(), err)
}

// loadEntries reads every entry. Each is decoded as its row is read
// (entrycodec.go: about 1 µs an entry; JSON took 10).
func loadEntries(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]storage.Entry, error) {
	sorted, err := loadSorted(ctx, q)
	if err != nil {
		return nil, err
	}
	return byID(sorted), nil
}

// loadSorted reads every entry in id order: the packs table's own order
// (its primary key, compared bytewise as Go compares strings), so nothing
// is sorted.
func loadSorted(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]storage.Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, entry FROM packs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Entry
	for rows.Next() {
		var id string
		var b sql.RawBytes
		if err := rows.Scan(&id, &b); err != nil {
			return nil, err
		}
		e, err := decodeEntry(id, b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func byID(sorted []storage.Entry) map[string]storage.Entry {
	m := make(map[string]storage.Entry, len(sorted))
	for _, e := range sorted {
		m[e.ID] = e
	}
	return m
}

// recover finishes or undoes what an interrupted change left: staged files
// whose commit passed its commit point are moved into place, the others
// deleted, and files a commit replaced are deleted. It costs what was left,
// not the size of the store. It runs in OpenDir, with the lock held.
func (d *Dir) recover() error {
	ctx := context.Background()
	inc := filepath.Join(d.path, incomingName)
	ents, err := os.ReadDir(inc)
	if err != nil {
		return opErr("open", "", "scan", inc, err)
	}
	for _, f := range ents {
		rel := filepath.Join(incomingName, f.Name())
		sum, _, ok := strings.Cut(f.Name(), "-")
		if ok && storage.IsSHA256(sum) && !strings.HasPrefix(f.Name(), tmpPrefix) {
			named, err := d.named(ctx, sum)
			if err != nil {
				return err
			}
			if named {
				final := d.packFile(sum)
				_, err := os.Stat(final)
				missing := errors.Is(err, fs.ErrNotExist)
				// A file there already is replaced only when it no longer
				// matches its hash and the staged one does: an interrupted
				// repair (ImportRequest.Rewrite) is finished.
				if missing || replaces(filepath.Join(d.path, rel), final, sum) {
					if err := os.Rename(filepath.Join(d.path, rel), final); err != nil {
						return opErr("open", "", "recover", final, err)
					}
					d.report.Recovered = append(d.report.Recovered, filepath.Join(packsName, sum))
					d.log.Warn("store: moved the file of an interrupted commit into place", "file", final)
					continue
				}
			}
		}
		if err := os.Remove(filepath.Join(d.path, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return opErr("open", "", "recover", filepath.Join(d.path, rel), err)
		}
		d.report.Removed = append(d.report.Removed, rel)
		d.log.Info("store: deleted a file an interrupted change left", "file", rel)
	}
	if len(d.report.Recovered) > 0 {
		if err := syncDir(filepath.Join(d.path, packsName)); err != nil {
			return opErr("open", "", "sync", filepath.Join(d.path, packsName), err)
		}
	}
	garbage, err := d.garbage(ctx)
	if err != nil {
		return err
	}
	if len(garbage) == 0 {
		return nil
	}
	for _, sum := range garbage {
		named, err := d.named(ctx, sum)
		if err != nil {
			return err
		}
		if named {
			continue
		}
		p := d.packFile(sum)
		if err := os.Remove(p); err == nil {
			d.report.Removed = append(d.report.Removed, filepath.Join(packsName, sum))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return opErr("open", "", "recover", p, err)
		}
	}
	if _, err := d.db.ExecContext(ctx, `DELETE FROM garbage`); err != nil {
		return d.dbErr("open", "", err)
	}
	return nil
}

// replaces reports whether the staged file should replace final, the
// pack file of the hash sum: final's bytes do not hash to sum and staged's
// do (staged is synced first, since it may be the file of a change that
// never reached its commit, and so was never synced).
func replaces(staged, final, sum string) bool {
	if ok, err := hashesTo(final, sum); err != nil || ok {
		return false
	}
	f, err := os.Open(staged)
	if err != nil {
		return false
	}
	defer f.Close()
	if f.Sync() != nil {
		return false
	}
	ok, err := hashesTo(staged, sum)
	return err == nil && ok
}

// hashesTo reports whether the file at p hashes to sum.
func hashesTo(p, sum string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sum, nil
}

// named reports whether an entry names the file sum.
func (d *Dir) named(ctx context.Context, sum string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM files WHERE sha256 = ?`, sum).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, d.dbErr("open", "", err)
	}
	return true, nil
}

func (d *Dir) garbage(ctx context.Context) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT sha256 FROM garbage`)
	if err != nil {
		return nil, d.dbErr("open", "", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, d.dbErr("open", "", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.dbErr("open", "", err)
	}
	return out, nil
}

// rebuildInfo is what Rebuild records in the info table under "rebuild".
type rebuildInfo struct {
	At         time.Time    `json:"at"`
	Reason     string       `json:"reason"`
	Restored   []string     `json:"restored,omitempty"`
	Unrestored []Unrestored `json:"unrestored,omitempty"`
	Dropped    []string     `json:"dropped,omitempty"`
}

const rebuildKey = "rebuild"

func (d *Dir) readRebuildInfo() error {
	var b []byte
	err := d.db.QueryRow(`SELECT value FROM info WHERE key = ?`, rebuildKey).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return d.dbErr("open", "", err)
	}
	var ri rebuildInfo
	if err := json.Unmarshal(b, &ri); err != nil {
		return opErr("open", "", "database", d.dbPath(), fmt.Errorf("%w: the rebuild record does not decode: %w", ErrDamaged, err))
	}
	d.report.Rebuilt = true
	d.report.RebuildReason = ri.Reason
	d.report.RebuiltAt = ri.At
	d.report.Restored = ri.Restored
	d.report.Unrestored = ri.Unrestored
	d.report.Dropped = ri.Dropped
	return nil
}

// ReadMeta returns the meta record with the given name (what WriteMeta
// wrote followed by what AppendMeta appended since), or an error wrapping
// [storage.ErrNotFound].
func (d *Dir) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	const op = "read meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return nil, err
	}
	defer d.inflight.Done()
	var base []byte
	found := true
	err := d.db.QueryRowContext(ctx, `SELECT data FROM meta WHERE name = ?`, name).Scan(&base)
	if errors.Is(err, sql.ErrNoRows) {
		found = false
	} else if err != nil {
		return nil, d.dbErr(op, name, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT data FROM meta_appends WHERE name = ? ORDER BY seq`, name)
	if err != nil {
		return nil, d.dbErr(op, name, err)
	}
	defer rows.Close()
	out := append([]byte{}, base...)
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, d.dbErr(op, name, err)
		}
		out = append(out, b...)
		found = true
	}
	if err := rows.Err(); err != nil {
		return nil, d.dbErr(op, name, err)
	}
	if !found {
		return nil, opErr(op, name, "", "", storage.ErrNotFound)
	}
	return out, nil
}

// WriteMeta replaces the meta record with the given name in one database
// transaction: a reader, or a crash, sees the old record or the new one.
func (d *Dir) WriteMeta(ctx context.Context, name string, data []byte) error {
	const op = "write meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return err
	}
	defer d.inflight.Done()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.dbErr(op, name, err)
	}
	defer tx.Rollback()
	if data == nil {
		data = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data`, name, data); err != nil {
		return d.dbErr(op, name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM meta_appends WHERE name = ?`, name); err != nil {
		return d.dbErr(op, name, err)
	}
	if err := tx.Commit(); err != nil {
		return d.dbErr(op, name, err)
	}
	return nil
}

// AppendMeta appends data to the meta record with the given name, creating
// it if needed: one row appended in one database transaction, durable when
// it returns. An append is there whole or not at all, after a crash too; an
// error means nothing was appended (it never wraps
// [storage.ErrPartialAppend]).
func (d *Dir) AppendMeta(ctx context.Context, name string, data []byte) error {
	const op = "append meta"
	if err := d.beginMeta(ctx, op, name); err != nil {
		return err
	}
	defer d.inflight.Done()
	if data == nil {
		data = []byte{}
	}
	if _, err := d.db.ExecContext(ctx, `INSERT INTO meta_appends (name, data) VALUES (?, ?)`, name, data); err != nil {
		return d.dbErr(op, name, err)
	}
	return nil
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

// generationKey names the info row that counts the transactions that
// changed packs ([Dir.Generation]).
const generationKey = "generation"

// bumpGeneration counts a transaction that changes packs.
func bumpGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE info SET value = value + 1 WHERE key = ?`, generationKey)
	return err
}

// Generation implements [storage.Generationer]: a number that changes with
// every transaction that imports, removes or rolls back a pack, whichever
// process made it, and not with metadata records. A store made anew by
// [Rebuild] starts from another random number.
func (d *Dir) Generation(ctx context.Context) (uint64, error) {
	if err := d.begin("generation", ""); err != nil {
		return 0, err
	}
	defer d.inflight.Done()
	var g int64
	if err := d.db.QueryRowContext(ctx, `SELECT value FROM info WHERE key = ?`, generationKey).Scan(&g); err != nil {
		return 0, d.dbErr("generation", "", err)
	}
	return uint64(g), nil
}
