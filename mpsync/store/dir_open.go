package store

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// errCorrupt marks an index.json that cannot be used and is rebuilt.
var errCorrupt = errors.New("index is corrupt")

// load reads or rebuilds the index and repairs the directory. It runs in
// OpenDir, with the lock held and before the Dir is shared.
func (d *Dir) load() error {
	d.removeTemps("")
	entries, err := d.readIndex()
	dirty := false
	switch {
	case err == nil:
		dirty = d.verify(entries)
	case errors.Is(err, fs.ErrNotExist):
		has, herr := d.hasPackFiles()
		if herr != nil {
			return opErr("open", "", "scan", d.packsDir(), herr)
		}
		entries = map[string]storage.Entry{}
		if has {
			entries, err = d.rebuild("index.json is missing")
			if err != nil {
				return err
			}
			dirty = true
		}
	case errors.Is(err, errCorrupt):
		d.quarantine(indexName, err.Error())
		entries, err = d.rebuild(err.Error())
		if err != nil {
			return err
		}
		dirty = true
	default:
		return err
	}
	if err := d.sweepPacks(entries); err != nil {
		return err
	}
	d.removeTemps(metaName)
	if dirty {
		data, err := encodeIndex(sortEntries(entries))
		if err == nil {
			err = replaceFile(d.path, indexName, data)
		}
		if err != nil {
			return opErr("open", "", "index", filepath.Join(d.path, indexName), err)
		}
	}
	d.gens = d.syncSidecars(entries)
	d.entries = entries
	d.sorted = sortEntries(entries)
	return nil
}

// readIndex reads index.json. A missing file wraps fs.ErrNotExist; one that
// cannot be decoded or holds impossible entries wraps errCorrupt; one
// written by a newer format is refused, so that it is never overwritten.
func (d *Dir) readIndex() (map[string]storage.Entry, error) {
	p := filepath.Join(d.path, indexName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, opErr("open", "", "index", p, err)
	}
	var idx indexFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %w", errCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: index.json: data after the JSON object", errCorrupt)
	}
	switch {
	case idx.Format > indexFormat:
		return nil, opErr("open", "", "index", p, fmt.Errorf("index format %d is newer than this library reads (%d); use a newer version", idx.Format, indexFormat))
	case idx.Format != indexFormat:
		return nil, fmt.Errorf("%w: index.json: format %d, want %d", errCorrupt, idx.Format, indexFormat)
	}
	entries := make(map[string]storage.Entry, len(idx.Packs))
	for i, e := range idx.Packs {
		if err := checkIndexEntry(e); err != nil {
			return nil, fmt.Errorf("%w: index.json: pack %d (%q): %w", errCorrupt, i+1, e.ID, err)
		}
		if _, dup := entries[e.ID]; dup {
			return nil, fmt.Errorf("%w: index.json: pack %q is listed twice", errCorrupt, e.ID)
		}
		entries[e.ID] = e
	}
	return entries, nil
}

func checkIndexEntry(e storage.Entry) error {
	if err := checkFileID(e.ID); err != nil {
		return err
	}
	if !isSHA256Hex(e.SHA256) || e.Size < 0 {
		return errors.New("bad sha256 or size")
	}
	if e.Owner != storage.OwnerWorkspace && e.Owner != storage.OwnerCustom {
		return fmt.Errorf("unknown owner %q", e.Owner)
	}
	if p := e.Previous; p != nil && (!isSHA256Hex(p.SHA256) || p.Size < 0) {
		return errors.New("bad sha256 or size of the previous version")
	}
	return nil
}

// verify checks that the pack file of every entry exists with the recorded
// size (the files are not hashed: that would make opening cost as much as
// reading every pack). Entries whose file is missing or damaged are dropped
// and their files quarantined. It reports whether entries changed.
func (d *Dir) verify(entries map[string]storage.Entry) bool {
	dirty := false
	for _, id := range slices.Sorted(maps.Keys(entries)) {
		e := entries[id]
		if why := d.checkFile(id, e.SHA256, e.Size); why != "" {
			d.report.Dropped = append(d.report.Dropped, id)
			d.log.Warn("store: dropping an index entry whose pack file is missing or damaged", "id", id, "reason", why)
			if p := e.Previous; p != nil && d.checkFile(id, p.SHA256, p.Size) == "" {
				d.quarantinePack(id, p.SHA256,
					"previous version of "+id+", kept aside because the current version's file "+why)
			}
			delete(entries, id)
			dirty = true
			continue
		}
		if p := e.Previous; p != nil {
			if why := d.checkFile(id, p.SHA256, p.Size); why != "" {
				d.report.Dropped = append(d.report.Dropped, id+" (previous)")
				d.log.Warn("store: dropping a previous version whose pack file is missing or damaged", "id", id, "reason", why)
				e.Previous = nil
				entries[id] = e
				dirty = true
			}
		}
	}
	return dirty
}

// checkFile returns why the pack file for id and sum is unusable, or "".
// A file of the wrong size is quarantined.
func (d *Dir) checkFile(id, sum string, size int64) string {
	rel := filepath.Join(packsName, id, sum+packExt)
	fi, err := os.Stat(filepath.Join(d.path, rel))
	switch {
	case err != nil:
		return "is missing (" + err.Error() + ")"
	case !fi.Mode().IsRegular():
		why := "is not a regular file"
		d.quarantinePack(id, sum, "the index refers to it, but it "+why)
		return why
	case fi.Size() != size:
		why := fmt.Sprintf("has %d bytes, the index records %d", fi.Size(), size)
		d.quarantinePack(id, sum, "the index refers to it, but it "+why)
		return why
	}
	return ""
}

// hasPackFiles reports whether packs/ holds anything but temporary files.
func (d *Dir) hasPackFiles() (bool, error) {
	ents, err := os.ReadDir(d.packsDir())
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			return true, nil
		}
	}
	return false, nil
}

// candidate is a pack file a rebuild found usable, with its sidecar.
type candidate struct {
	m     pack.Manifest
	sum   string
	size  int64
	mtime time.Time

	side       sidecar // its sidecar, when sideWhy is ""
	sideWhy    string  // why its sidecar cannot be used, or ""
	sideExists bool    // whether it has a sidecar file at all
}

// orderCandidates sorts the files a rebuild found for one pack, the one to
// make current first. When every file's sidecar records a generation, the
// highest generation comes first: the file that became current last, by an
// import or a rollback. Otherwise (a store written before generations
// existed, or a sidecar lost) the highest version comes first, the newest
// file (modification time) on a tie. Equal generations fall back the same
// way.
func orderCandidates(cands []candidate) {
	byGen := true
	for _, c := range cands {
		if c.sideWhy != "" || c.side.Generation == 0 {
			byGen = false
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if byGen {
			if c := cmp.Compare(b.side.Generation, a.side.Generation); c != 0 {
				return c
			}
		}
		if c := b.m.Version.Compare(a.m.Version); c != 0 {
			return c
		}
		if c := b.mtime.Compare(a.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.sum, b.sum)
	})
}

// rebuild recreates the index from the pack files, reading only their
// manifests and sidecars. For each id the file whose sidecar records the
// highest generation becomes current and the next one previous (without
// generations: the highest version, the newest file on a tie; see
// orderCandidates); files that fail
// their checks, and versions beyond two, are quarantined with their
// sidecars. Each kept file takes its provenance and import time from its
// sidecar; a file without a usable sidecar is recorded as OwnerCustom,
// imported at its modification time.
func (d *Dir) rebuild(reason string) (map[string]storage.Entry, error) {
	d.report.Rebuilt = true
	d.report.RebuildReason = reason
	d.log.Warn("store: rebuilding the index from the pack files", "dir", d.path, "reason", reason)
	ents, err := os.ReadDir(d.packsDir())
	if err != nil {
		return nil, opErr("open", "", "rebuild", d.packsDir(), err)
	}
	entries := map[string]storage.Entry{}
	for _, de := range ents {
		id := de.Name()
		if strings.HasPrefix(id, tmpPrefix) || !de.IsDir() || checkFileID(id) != nil {
			continue // sweepPacks deals with these
		}
		var cands []candidate
		files, err := os.ReadDir(filepath.Join(d.packsDir(), id))
		if err != nil {
			return nil, opErr("open", id, "rebuild", filepath.Join(d.packsDir(), id), err)
		}
		for _, f := range files {
			rel := filepath.Join(packsName, id, f.Name())
			sum, isSidecar, ok := parsePackFileName(f.Name())
			if !ok || isSidecar || !f.Type().IsRegular() {
				continue // sweepPacks deals with these
			}
			c, why := d.readCandidate(rel, id, sum)
			if why != "" {
				d.quarantinePack(id, sum, why)
				continue
			}
			c.side, c.sideWhy, c.sideExists = d.readCandidateSidecar(id, c)
			cands = append(cands, c)
		}
		if len(cands) == 0 {
			continue
		}
		orderCandidates(cands)
		for _, c := range cands[min(2, len(cands)):] {
			d.quarantinePack(id, c.sum,
				fmt.Sprintf("a third version (%s) of %s found while rebuilding the index; only two are kept", c.m.Version, id))
		}
		cur := cands[0]
		prov, at, restored := d.provenanceOf(id, cur)
		e := storage.Entry{
			ID: id, Version: cur.m.Version, Name: cur.m.Name, References: cur.m.References,
			SHA256: cur.sum, Size: cur.size, ImportedAt: at, Provenance: prov,
			Sealed: cur.m.Sealed, PublicKeyToken: cur.m.PublicKeyToken,
		}
		if len(cands) > 1 && cands[1].sum != cur.sum {
			p := cands[1]
			prov, at, _ := d.provenanceOf(id, p)
			e.Previous = &storage.Previous{
				Version: p.m.Version, Name: p.m.Name, SHA256: p.sum, Size: p.size, ImportedAt: at,
				References: p.m.References, Provenance: prov,
				Sealed: p.m.Sealed, PublicKeyToken: p.m.PublicKeyToken,
			}
		}
		entries[id] = e
		d.report.Adopted = append(d.report.Adopted, id)
		if restored {
			d.report.Restored = append(d.report.Restored, id)
		}
	}
	slices.Sort(d.report.Adopted)
	slices.Sort(d.report.Restored)
	slices.SortFunc(d.report.Unrestored, func(a, b Unrestored) int { return strings.Compare(a.File, b.File) })
	if len(d.report.Unrestored) == 0 {
		d.log.Warn("store: index rebuilt; every pack's provenance was restored from its sidecar",
			"dir", d.path, "packs", len(entries), "restored", len(d.report.Restored), "quarantined", len(d.report.Quarantined))
	} else {
		d.log.Warn("store: index rebuilt; pack files without a usable sidecar are recorded as custom",
			"dir", d.path, "packs", len(entries), "restored", len(d.report.Restored),
			"unrestored", len(d.report.Unrestored), "quarantined", len(d.report.Quarantined))
	}
	return entries, nil
}

// provenanceOf returns the provenance and import time a rebuild records for
// the kept pack file c of id, and whether they come from its sidecar. A file
// without a usable sidecar is recorded as OwnerCustom, imported at its
// modification time, and reported in OpenReport.Unrestored; its sidecar, if
// it has one, is quarantined.
func (d *Dir) provenanceOf(id string, c candidate) (storage.Provenance, time.Time, bool) {
	why := c.sideWhy
	if why == "" {
		return c.side.Provenance, c.side.ImportedAt, true
	}
	rel := filepath.Join(packsName, id, c.sum+packExt)
	if c.sideExists {
		d.quarantine(filepath.Join(packsName, id, c.sum+sidecarExt), "the sidecar of "+rel+
			", set aside while rebuilding the index: "+strings.TrimPrefix(why, "its sidecar "))
	}
	d.log.Warn("store: pack file has no usable sidecar; its provenance is unknown, so it is recorded as custom",
		"id", id, "version", c.m.Version.String(), "file", rel, "reason", why)
	d.report.Unrestored = append(d.report.Unrestored, Unrestored{ID: id, File: rel, Reason: why})
	return storage.Provenance{Owner: storage.OwnerCustom}, c.mtime, false
}

// readCandidate hashes the file and reads its manifest. It returns why the
// file cannot be adopted, or "".
func (d *Dir) readCandidate(rel, id, sum string) (candidate, string) {
	f, err := os.Open(filepath.Join(d.path, rel))
	if err != nil {
		return candidate{}, "cannot be read: " + err.Error()
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return candidate{}, "cannot be read: " + err.Error()
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return candidate{}, "cannot be read: " + err.Error()
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return candidate{}, "its content (sha256 " + got + ") does not match its name; the file is damaged"
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return candidate{}, "cannot be read: " + err.Error()
	}
	m, err := pack.ReadManifest(bufio.NewReader(f))
	if err != nil {
		return candidate{}, "its manifest cannot be read: " + err.Error()
	}
	if m.ID != id {
		return candidate{}, "it declares pack " + m.ID + " but is stored under " + id
	}
	return candidate{m: m, sum: sum, size: n, mtime: fi.ModTime().Round(0).UTC()}, ""
}

// sweepPacks deletes temporary files, pack files no entry refers to and
// sidecars of such files or of no file at all (the leftovers of interrupted
// changes), and quarantines everything that does not belong to the layout
// packs/<id>/<sha256>.xml and packs/<id>/<sha256>.json. A pack file without
// a sidecar is fine (a store written before sidecars existed); syncSidecars
// writes it.
func (d *Dir) sweepPacks(entries map[string]storage.Entry) error {
	ents, err := os.ReadDir(d.packsDir())
	if err != nil {
		return opErr("open", "", "scan", d.packsDir(), err)
	}
	for _, de := range ents {
		name := de.Name()
		rel := filepath.Join(packsName, name)
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			d.removeLeftover(rel)
			continue
		case !de.IsDir():
			d.quarantine(rel, "not part of the store layout (packs/<id>/<sha256>.xml and .json); import packs with Import")
			continue
		case checkFileID(name) != nil:
			d.quarantine(rel, "directory name is not a valid pack id")
			continue
		}
		e, had := entries[name]
		files, err := os.ReadDir(filepath.Join(d.path, rel))
		if err != nil {
			return opErr("open", name, "scan", filepath.Join(d.path, rel), err)
		}
		for _, f := range files {
			frel := filepath.Join(rel, f.Name())
			sum, _, ok := parsePackFileName(f.Name())
			switch {
			case strings.HasPrefix(f.Name(), tmpPrefix) && f.Type().IsRegular():
				d.removeLeftover(frel) // a sidecar being written
			case !ok || !f.Type().IsRegular():
				d.quarantine(frel, "not part of the store layout (packs/<id>/<sha256>.xml and .json)")
			case !referenced(e, had, sum):
				// A pack file no entry refers to, or its sidecar, or a
				// sidecar whose pack file is gone (the index refers only to
				// files verify or rebuild found).
				d.removeLeftover(frel)
			}
		}
		if !had {
			if err := os.Remove(filepath.Join(d.path, rel)); err == nil {
				d.report.Removed = append(d.report.Removed, rel)
			}
		}
	}
	return nil
}

// removeTemps deletes temporary files left in the store's sub directory.
func (d *Dir) removeTemps(sub string) {
	ents, err := os.ReadDir(filepath.Join(d.path, sub))
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) && e.Type().IsRegular() {
			d.removeLeftover(filepath.Join(sub, e.Name()))
		}
	}
}

// removeLeftover deletes a file an interrupted change of this store left.
func (d *Dir) removeLeftover(rel string) {
	if err := os.Remove(filepath.Join(d.path, rel)); err != nil {
		d.log.Warn("store: cannot delete a leftover file", "file", rel, "err", err)
		return
	}
	d.log.Info("store: deleted a leftover of an interrupted change", "file", rel)
	d.report.Removed = append(d.report.Removed, rel)
}

// quarantinePack quarantines the pack file of id and sum, and its sidecar
// with it when there is one.
func (d *Dir) quarantinePack(id, sum, reason string) {
	rel := filepath.Join(packsName, id, sum+packExt)
	if !d.quarantine(rel, reason) {
		return // the sidecar stays beside its file
	}
	srel := filepath.Join(packsName, id, sum+sidecarExt)
	if _, err := os.Lstat(filepath.Join(d.path, srel)); err == nil {
		d.quarantine(srel, "sidecar of "+rel+", set aside with it: "+reason)
	}
}

// quarantine moves the file or directory rel to quarantine/, with the
// reason written beside it, and reports whether it moved. It never
// deletes: if the move fails, the file stays where it is and the failure is
// logged.
func (d *Dir) quarantine(rel, reason string) bool {
	qdir := filepath.Join(d.path, quarantineName)
	if err := os.MkdirAll(qdir, 0o755); err != nil {
		d.log.Error("store: cannot create the quarantine folder; file left in place", "file", rel, "reason", reason, "err", err)
		return false
	}
	base := d.now().UTC().Format("20060102T150405Z") + "_" + strings.ReplaceAll(rel, string(filepath.Separator), "_")
	dst := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(filepath.Join(qdir, dst)); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = base + "." + strconv.Itoa(i)
	}
	to := filepath.Join(quarantineName, dst)
	if err := os.Rename(filepath.Join(d.path, rel), filepath.Join(d.path, to)); err != nil {
		d.log.Error("store: cannot quarantine a file; left in place", "file", rel, "reason", reason, "err", err)
		return false
	}
	note := fmt.Sprintf("%s\nmoved from %s on %s\n", reason, rel, d.now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(d.path, to)+".reason", []byte(note), 0o644); err != nil {
		d.log.Warn("store: cannot write the quarantine reason file", "file", to, "err", err)
	}
	d.log.Warn("store: quarantined a file", "file", rel, "to", to, "reason", reason)
	d.report.Quarantined = append(d.report.Quarantined, Quarantined{From: rel, To: to, Reason: reason})
	return true
}
