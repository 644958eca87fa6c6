package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Rebuild recovers the store at path from a damaged or lost database: the
// documented way out of [ErrDamaged]. It takes the store's lock (waiting as
// OpenDir does), moves the old database files to path/quarantine/, and
// builds a new database from the pack files, reading each one's manifest
// and checking its bytes against its name.
//
// What the old database still gives is kept: Rebuild first reads it as far
// as it can, and each pack whose current file is there keeps its entry
// (owner, workspace, rule, solution, import time, previous version) and is
// listed in [OpenReport.Restored]; its meta records (the connection, the
// approvals, the ledger) are kept too. A pack the old database does not give
// is recorded from its files alone: the highest version current, the next
// previous, owned by [storage.OwnerCustom] (sync leaves it alone until an
// operator re-adopts it) with its file's modification time as ImportedAt,
// and listed in [OpenReport.Unrestored] with the reason, so that no owner
// or workspace is lost silently. An entry whose file is missing is listed
// in [OpenReport.Dropped]. Files that do not hold what their name says are
// moved to the quarantine too.
//
// The report is also recorded in the database: [Dir.Report] of the next
// OpenDir shows it until a pack is next imported, removed or rolled back.
func Rebuild(path string, opts *DirOptions) (OpenReport, error) {
	if opts == nil {
		opts = &DirOptions{}
	}
	log := discardIfNil(opts.Logger)
	path = filepath.Clean(path)
	for _, sub := range []string{packsName, incomingName} {
		if err := os.MkdirAll(filepath.Join(path, sub), 0o755); err != nil {
			return OpenReport{}, opErr("rebuild", "", "create", filepath.Join(path, sub), err)
		}
	}
	l, err := takeLock(path, opts.LockTimeout)
	if err != nil {
		return OpenReport{}, err
	}
	defer l.release()

	now := time.Now().UTC()
	dbp := filepath.Join(path, dbName)
	salvaged, meta, reason := salvage(dbp)
	if _, err := os.Stat(dbp); err == nil {
		q := filepath.Join(path, quarantineName)
		if err := os.MkdirAll(q, 0o755); err != nil {
			return OpenReport{}, opErr("rebuild", "", "quarantine", q, err)
		}
		stamp := now.Format("20060102T150405Z")
		for _, suf := range []string{"", "-wal", "-shm"} {
			from := dbp + suf
			if _, err := os.Stat(from); err != nil {
				continue
			}
			to := filepath.Join(q, stamp+"-"+dbName+suf)
			if err := os.Rename(from, to); err != nil {
				return OpenReport{}, opErr("rebuild", "", "quarantine", from, err)
			}
			log.Warn("store: moved the old database aside", "from", from, "to", to)
		}
	} else if reason == "" {
		reason = dbName + " is missing"
	}

	files, err := scanPackFiles(path, salvaged, log)
	if err != nil {
		return OpenReport{}, err
	}
	byID := map[string][]packFile{}
	for _, f := range files {
		byID[f.man.ID] = append(byID[f.man.ID], f)
	}
	rep := OpenReport{Rebuilt: true, RebuildReason: "rebuilt from the pack files: " + reason, RebuiltAt: now}
	entries := map[string]storage.Entry{}
	used := map[string]bool{}
	for id, fs := range byID {
		have := map[string]packFile{}
		for _, f := range fs {
			have[f.sum] = f
		}
		if e, ok := salvaged[id]; ok {
			if _, ok := have[e.SHA256]; ok {
				if e.Previous != nil {
					if _, ok := have[e.Previous.SHA256]; !ok {
						rep.Dropped = append(rep.Dropped, id+" (previous)")
						e.Previous = nil
					}
				}
				entries[id] = e
				for _, s := range fileSums(e) {
					used[s] = true
				}
				rep.Restored = append(rep.Restored, id)
				continue
			}
			rep.Dropped = append(rep.Dropped, id)
		}
		slices.SortFunc(fs, func(a, b packFile) int {
			if c := b.man.Version.Compare(a.man.Version); c != 0 {
				return c
			}
			return b.mod.Compare(a.mod)
		})
		cur := fs[0]
		e := fileEntry(cur)
		if len(fs) > 1 {
			p := fileEntry(fs[1])
			e.Previous = p.AsPrevious()
			used[fs[1].sum] = true
		}
		used[cur.sum] = true
		entries[id] = e
		why := "not in the database (" + reason + ")"
		if _, ok := salvaged[id]; ok {
			why = "the file the database named is missing"
		}
		rep.Unrestored = append(rep.Unrestored, Unrestored{ID: id, File: filepath.Join(packsName, cur.sum), Reason: why})
		log.Warn("store: rebuilt pack recorded as custom: its provenance is lost", "id", id, "reason", why)
	}
	for id := range salvaged {
		if _, ok := byID[id]; !ok {
			rep.Dropped = append(rep.Dropped, id)
		}
	}
	slices.Sort(rep.Restored)
	slices.Sort(rep.Dropped)
	slices.SortFunc(rep.Unrestored, func(a, b Unrestored) int { return cmp.Compare(a.ID, b.ID) })

	db, err := openDB(dbp, false, true)
	if err != nil {
		return OpenReport{}, err
	}
	defer db.Close()
	if err := writeRebuilt(db, entries, meta, rep); err != nil {
		return OpenReport{}, dbError("rebuild", "", dbp, err)
	}
	for _, f := range files {
		if !used[f.sum] {
			if err := os.Remove(f.path); err == nil {
				rep.Removed = append(rep.Removed, filepath.Join(packsName, f.sum))
			}
		}
	}
	log.Warn("store: rebuilt the database", "dir", path, "packs", len(entries), "restored", len(rep.Restored), "custom", len(rep.Unrestored), "dropped", len(rep.Dropped))
	return rep, nil
}

// packFile is a pack file a rebuild found.
type packFile struct {
	path string
	sum  string
	size int64
	mod  time.Time
	man  pack.Manifest
}

func fileEntry(f packFile) storage.Entry {
	return storage.Entry{
		ID: f.man.ID, Version: f.man.Version, Name: f.man.Name, References: f.man.References,
		SHA256: f.sum, Size: f.size, Sealed: f.man.Sealed, PublicKeyToken: f.man.PublicKeyToken,
		ImportedAt: f.mod.UTC().Round(0), Provenance: storage.Provenance{Owner: storage.OwnerCustom},
	}
}

// scanPackFiles reads every pack file: the staged files a committed batch
// left (moved into place when the salvaged entries name them, else
// deleted) and packs/*, each hashed and its manifest read. Files that do
// not hold what their name says are quarantined.
func scanPackFiles(path string, salvaged map[string]storage.Entry, log interface {
	Warn(string, ...any)
}) ([]packFile, error) {
	named := map[string]bool{}
	for _, e := range salvaged {
		for _, s := range fileSums(e) {
			named[s] = true
		}
	}
	inc := filepath.Join(path, incomingName)
	ents, err := os.ReadDir(inc)
	if err != nil {
		return nil, opErr("rebuild", "", "scan", inc, err)
	}
	for _, f := range ents {
		sum, _, _ := strings.Cut(f.Name(), "-")
		p := filepath.Join(inc, f.Name())
		final := filepath.Join(path, packsName, sum)
		if _, err := os.Stat(final); named[sum] && errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(p, final); err != nil {
				return nil, opErr("rebuild", "", "recover", p, err)
			}
			continue
		}
		_ = os.Remove(p)
	}
	dir := filepath.Join(path, packsName)
	ents, err = os.ReadDir(dir)
	if err != nil {
		return nil, opErr("rebuild", "", "scan", dir, err)
	}
	var out []packFile
	for _, f := range ents {
		p := filepath.Join(dir, f.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, opErr("rebuild", "", "read", p, err)
		}
		h := sha256.Sum256(data)
		sum := hex.EncodeToString(h[:])
		why := ""
		var man pack.Manifest
		if sum != f.Name() {
			why = "its content's SHA-256 is " + sum
		} else if man, err = pack.ReadManifest(bytes.NewReader(data)); err != nil {
			why = "its manifest cannot be read: " + err.Error()
		} else if err := pack.CheckID(man.ID); err != nil {
			why = err.Error()
		}
		if why != "" {
			q := filepath.Join(path, quarantineName)
			_ = os.MkdirAll(q, 0o755)
			to := filepath.Join(q, f.Name())
			if err := os.Rename(p, to); err != nil {
				return nil, opErr("rebuild", "", "quarantine", p, err)
			}
			_ = os.WriteFile(to+".reason", []byte(why+"\n"), 0o644)
			log.Warn("store: quarantined a pack file", "file", p, "reason", why)
			continue
		}
		info, err := f.Info()
		if err != nil {
			return nil, opErr("rebuild", "", "read", p, err)
		}
		out = append(out, packFile{path: p, sum: sum, size: int64(len(data)), mod: info.ModTime(), man: man})
	}
	return out, nil
}

type metaRow struct {
	name   string
	data   []byte
	append bool
}

// salvage reads what it can of the database at p: the entries and the meta
// records. reason says why nothing, or not everything, could be read.
func salvage(p string) (map[string]storage.Entry, []metaRow, string) {
	if _, err := os.Stat(p); err != nil {
		return nil, nil, ""
	}
	db, err := openDB(p, true, false)
	if err != nil {
		return nil, nil, "the database cannot be read: " + err.Error()
	}
	defer db.Close()
	ctx := context.Background()
	entries, err := loadEntries(ctx, db)
	reason := "the database was damaged"
	if err != nil {
		entries = nil
		reason = "the database's index cannot be read: " + err.Error()
	}
	var meta []metaRow
	for _, q := range []struct {
		sql    string
		append bool
	}{{`SELECT name, data FROM meta`, false}, {`SELECT name, data FROM meta_appends ORDER BY seq`, true}} {
		rows, err := db.QueryContext(ctx, q.sql)
		if err != nil {
			reason += "; meta records lost: " + err.Error()
			continue
		}
		for rows.Next() {
			var r metaRow
			if err := rows.Scan(&r.name, &r.data); err != nil {
				break
			}
			r.append = q.append
			meta = append(meta, r)
		}
		if err := rows.Err(); err != nil {
			reason += "; some meta records lost: " + err.Error()
		}
		rows.Close()
	}
	return entries, meta, reason
}

func writeRebuilt(db *sql.DB, entries map[string]storage.Entry, meta []metaRow, rep OpenReport) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, e := range entries {
		if err := putTx(ctx, tx, e); err != nil {
			return err
		}
		for _, s := range fileSums(e) {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO files (sha256, id) VALUES (?, ?)`, s, e.ID); err != nil {
				return err
			}
		}
	}
	for _, m := range meta {
		q := `INSERT OR REPLACE INTO meta (name, data) VALUES (?, ?)`
		if m.append {
			q = `INSERT INTO meta_appends (name, data) VALUES (?, ?)`
		}
		if _, err := tx.ExecContext(ctx, q, m.name, m.data); err != nil {
			return err
		}
	}
	b, err := json.Marshal(rebuildInfo{At: rep.RebuiltAt, Reason: rep.RebuildReason, Restored: rep.Restored, Unrestored: rep.Unrestored, Dropped: rep.Dropped})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO info (key, value) VALUES (?, ?)`, rebuildKey, b); err != nil {
		return fmt.Errorf("record the rebuild: %w", err)
	}
	return tx.Commit()
}
