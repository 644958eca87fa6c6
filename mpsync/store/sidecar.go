package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mpsync.dev/mpsync/pack"
)

// Every pack file packs/<id>/<sha256>.xml has a sidecar packs/<id>/<sha256>.json
// holding what only the index otherwise knows about that file: its
// provenance and import time. The index stays the commit point and the only
// thing List and Get read; the sidecars let a rebuild (index.json lost or
// corrupt) restore the provenance instead of recording every pack as custom.
// Import writes a file's sidecar durably before the index commit, Remove
// and the gc after an import delete it with its pack file, and OpenDir
// rewrites any sidecar that is missing or disagrees with the index, so that
// a crash between a sidecar and the index leaves nothing stale.

const (
	sidecarExt    = ".json"
	sidecarFormat = 1
	// maxSidecarBytes bounds what a rebuild reads of a sidecar; a real one
	// is a few hundred bytes.
	maxSidecarBytes = 64 << 10
)

// sidecar is the shape of packs/<id>/<sha256>.json. Id, version, name,
// hash and size repeat what the file itself says, so that a sidecar can be
// checked against the file it sits beside and read by a person.
type sidecar struct {
	// Format is the sidecar layout version; this code reads and writes 1.
	Format     int          `json:"format"`
	ID         string       `json:"id"`
	Version    pack.Version `json:"version"`
	Name       string       `json:"name,omitempty"`
	SHA256     string       `json:"sha256"`
	Size       int64        `json:"size"`
	ImportedAt time.Time    `json:"importedAt"`
	Provenance
}

// sidecarOf returns the sidecar recording the current version of e.
func sidecarOf(e Entry) sidecar {
	return sidecar{
		Format: sidecarFormat, ID: e.ID, Version: e.Version, Name: e.Name,
		SHA256: e.SHA256, Size: e.Size, ImportedAt: e.ImportedAt, Provenance: e.Provenance,
	}
}

// previousSidecarOf returns the sidecar recording p, the previous version of
// the pack id.
func previousSidecarOf(id string, p *Previous) sidecar {
	return sidecar{
		Format: sidecarFormat, ID: id, Version: p.Version, Name: p.Name,
		SHA256: p.SHA256, Size: p.Size, ImportedAt: p.ImportedAt, Provenance: p.Provenance,
	}
}

// sidecarsOf returns the sidecars of every file e refers to.
func sidecarsOf(e Entry) []sidecar {
	out := []sidecar{sidecarOf(e)}
	if e.Previous != nil {
		out = append(out, previousSidecarOf(e.ID, e.Previous))
	}
	return out
}

func (s sidecar) encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeSidecar parses a sidecar and checks it against the pack file it sits
// beside: id and hash from the file's name, size from the file, version from
// its manifest.
func decodeSidecar(data []byte, id, sum string, size int64, v pack.Version) (sidecar, error) {
	var s sidecar
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return sidecar{}, err
	}
	if dec.More() {
		return sidecar{}, errors.New("data after the JSON object")
	}
	switch {
	case s.Format != sidecarFormat:
		return sidecar{}, fmt.Errorf("format %d, want %d", s.Format, sidecarFormat)
	case s.ID != id:
		return sidecar{}, fmt.Errorf("it describes pack %q, not %q", s.ID, id)
	case s.SHA256 != sum:
		return sidecar{}, fmt.Errorf("it describes the file with sha256 %q", s.SHA256)
	case s.Size != size:
		return sidecar{}, fmt.Errorf("it records %d bytes, the file has %d", s.Size, size)
	case s.Version != v:
		return sidecar{}, fmt.Errorf("it records version %s, the manifest declares %s", s.Version, v)
	case s.Owner != OwnerWorkspace && s.Owner != OwnerCustom:
		return sidecar{}, fmt.Errorf("unknown owner %q", s.Owner)
	case s.ImportedAt.IsZero():
		return sidecar{}, errors.New("no import time")
	}
	s.ImportedAt = s.ImportedAt.UTC()
	return s, nil
}

func (d *Dir) sidecarFile(id, sum string) string {
	return filepath.Join(d.path, packsName, id, sum+sidecarExt)
}

// writeSidecar replaces the sidecar of s's pack file durably: temporary file
// in the same directory, fsync, rename, fsync of the directory.
func (d *Dir) writeSidecar(s sidecar) error {
	data, err := s.encode()
	if err != nil {
		return err
	}
	return replaceFile(filepath.Join(d.packsDir(), s.ID), s.SHA256+sidecarExt, data)
}

// parsePackFileName splits a file name of a pack directory: a pack file
// <sha256>.xml (sidecar false) or its sidecar <sha256>.json (sidecar true).
func parsePackFileName(name string) (sum string, isSidecar, ok bool) {
	if s, found := strings.CutSuffix(name, packExt); found && isSHA256Hex(s) {
		return s, false, true
	}
	if s, found := strings.CutSuffix(name, sidecarExt); found && isSHA256Hex(s) {
		return s, true, true
	}
	return "", false, false
}

// restoreProvenance reads the sidecar of a pack file a rebuild keeps. It
// returns the sidecar, or why it cannot be used; a sidecar that exists but
// cannot be used is quarantined.
func (d *Dir) restoreProvenance(id string, c candidate) (sidecar, string) {
	rel := filepath.Join(packsName, id, c.sum+sidecarExt)
	f, err := os.Open(filepath.Join(d.path, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return sidecar{}, "it has no sidecar (written before sidecars existed, or lost)"
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(f, maxSidecarBytes+1))
		f.Close()
		if err == nil && len(data) > maxSidecarBytes {
			err = fmt.Errorf("larger than %d bytes", maxSidecarBytes)
		}
	}
	why := ""
	if err != nil {
		why = "its sidecar cannot be read: " + err.Error()
	} else if s, err := decodeSidecar(data, id, c.sum, c.size, c.m.Version); err != nil {
		why = "its sidecar is not valid: " + err.Error()
	} else {
		return s, ""
	}
	d.quarantine(rel, "the sidecar of "+filepath.Join(packsName, id, c.sum+packExt)+
		", set aside while rebuilding the index: "+strings.TrimPrefix(why, "its sidecar "))
	return sidecar{}, why
}

// syncSidecars makes the sidecar of every file the index refers to agree
// with the index, writing those that are missing (stores written before
// sidecars existed, or a rebuild's custom packs) or that differ (a crash
// between an import's sidecar and its index commit). The index is the
// commit point, so it wins. Failures are logged, not returned: the sidecars
// matter only to a later rebuild. It runs in OpenDir, after the index is
// settled.
func (d *Dir) syncSidecars(entries map[string]Entry) {
	for _, id := range slices.Sorted(maps.Keys(entries)) {
		for _, s := range sidecarsOf(entries[id]) {
			want, err := s.encode()
			if err != nil {
				d.log.Warn("store: cannot encode a sidecar", "id", id, "sha256", s.SHA256, "err", err)
				continue
			}
			rel := filepath.Join(packsName, id, s.SHA256+sidecarExt)
			got, err := os.ReadFile(filepath.Join(d.path, rel))
			if err == nil && bytes.Equal(got, want) {
				continue
			}
			why := "missing"
			if err == nil {
				why = "disagrees with the index"
			} else if !errors.Is(err, fs.ErrNotExist) {
				why = "unreadable (" + err.Error() + ")"
			}
			if err := replaceFile(filepath.Dir(filepath.Join(d.path, rel)), s.SHA256+sidecarExt, want); err != nil {
				d.log.Warn("store: cannot write the sidecar of a pack file; a rebuild would not know its provenance",
					"file", rel, "err", err)
				continue
			}
			d.log.Info("store: wrote the sidecar of a pack file from the index", "file", rel, "was", why)
			d.report.SidecarsWritten = append(d.report.SidecarsWritten, rel)
		}
	}
}
