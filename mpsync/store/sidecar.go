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
	"mpsync.dev/mpsync/storage"
)

// Every pack file packs/<id>/<sha256>.xml has a sidecar packs/<id>/<sha256>.json
// holding what only the index otherwise knows about that file: its
// provenance and import time. The index stays the commit point and the only
// thing List and Get read; the sidecars let a rebuild (index.json lost or
// corrupt) restore the provenance instead of recording every pack as custom.
// Import writes a file's sidecar durably before the index commit, Rollback
// rewrites the restored file's sidecar before its commit, Remove and the gc
// after an import delete it with its pack file, and OpenDir rewrites any
// sidecar that is missing or disagrees with the index, so that a crash
// between a sidecar and the index leaves nothing stale.
//
// Each sidecar also records the generation at which its file became its
// pack's current version: a per-pack counter that only grows. The current
// file's generation is always above the previous file's, so a rebuild knows
// which of the two is current after a rollback, or after an import of a
// lower version, instead of guessing from the versions.

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
	storage.Provenance
	// Generation is the value of the pack's generation counter when this
	// file became its current version (by an import or a rollback); the
	// current file has the highest. 0 (absent) in sidecars written before
	// generations existed.
	Generation uint64 `json:"generation,omitempty"`
}

// sidecarOf returns the sidecar recording the current version of e, which
// became current at generation gen.
func sidecarOf(e storage.Entry, gen uint64) sidecar {
	return sidecar{
		Format: sidecarFormat, ID: e.ID, Version: e.Version, Name: e.Name,
		SHA256: e.SHA256, Size: e.Size, ImportedAt: e.ImportedAt, Provenance: e.Provenance,
		Generation: gen,
	}
}

// previousSidecarOf returns the sidecar recording p, the previous version of
// the pack id, which became current at generation gen.
func previousSidecarOf(id string, p *storage.Previous, gen uint64) sidecar {
	return sidecar{
		Format: sidecarFormat, ID: id, Version: p.Version, Name: p.Name,
		SHA256: p.SHA256, Size: p.Size, ImportedAt: p.ImportedAt, Provenance: p.Provenance,
		Generation: gen,
	}
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
	case s.Owner != storage.OwnerWorkspace && s.Owner != storage.OwnerCustom:
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

// readCandidateSidecar reads the sidecar of a pack file a rebuild found.
// It returns the sidecar, or why it cannot be used and whether it exists
// (a sidecar that exists but cannot be used is quarantined if its file is
// kept; see provenanceOf).
func (d *Dir) readCandidateSidecar(id string, c candidate) (s sidecar, why string, exists bool) {
	rel := filepath.Join(packsName, id, c.sum+sidecarExt)
	f, err := os.Open(filepath.Join(d.path, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return sidecar{}, "it has no sidecar (written before sidecars existed, or lost)", false
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(f, maxSidecarBytes+1))
		f.Close()
		if err == nil && len(data) > maxSidecarBytes {
			err = fmt.Errorf("larger than %d bytes", maxSidecarBytes)
		}
	}
	if err != nil {
		return sidecar{}, "its sidecar cannot be read: " + err.Error(), true
	}
	s, err = decodeSidecar(data, id, c.sum, c.size, c.m.Version)
	if err != nil {
		return sidecar{}, "its sidecar is not valid: " + err.Error(), true
	}
	return s, "", true
}

// generationIn returns the generation a sidecar's bytes record for the file
// with hash sum, or 0 when they record none, cannot be decoded or describe
// another file.
func generationIn(data []byte, sum string) uint64 {
	var s struct {
		SHA256     string `json:"sha256"`
		Generation uint64 `json:"generation"`
	}
	if json.Unmarshal(data, &s) != nil || s.SHA256 != sum {
		return 0
	}
	return s.Generation
}

// generations returns the generations to record for the current (cur) and
// previous (prev, when hasPrev) files of a pack, given those their sidecars
// record now (0 for none): the recorded ones when they are in the right
// order, else the smallest change that puts them in order without lowering
// either (the current file is moved above the previous one).
func generations(cur, prev uint64, hasPrev bool) (uint64, uint64) {
	if !hasPrev {
		return max(cur, 1), 0
	}
	prev = max(prev, 1)
	if cur <= prev {
		cur = prev + 1
	}
	return cur, prev
}

// syncSidecars makes the sidecar of every file the index refers to agree
// with the index, writing those that are missing (stores written before
// sidecars existed, or a rebuild's custom packs), that differ (a crash
// between an import's sidecar and its index commit), or whose generations
// do not put the current file above the previous one (a crash between a
// rollback's sidecar and its commit, or sidecars written before generations
// existed: the current file's generation is raised above the previous
// one's). The index is the commit point, so it wins. Failures are logged,
// not returned: the sidecars matter only to a later rebuild. It runs in
// OpenDir, after the index is settled, and returns the generation of each
// pack's current file, from which the next import or rollback counts.
func (d *Dir) syncSidecars(entries map[string]storage.Entry) map[string]uint64 {
	gens := make(map[string]uint64, len(entries))
	for _, id := range slices.Sorted(maps.Keys(entries)) {
		e := entries[id]
		sums := []string{e.SHA256}
		if e.Previous != nil {
			sums = append(sums, e.Previous.SHA256)
		}
		got := make([][]byte, len(sums))
		errs := make([]error, len(sums))
		recorded := make([]uint64, 2)
		for i, sum := range sums {
			got[i], errs[i] = os.ReadFile(d.sidecarFile(id, sum))
			if errs[i] == nil {
				recorded[i] = generationIn(got[i], sum)
			}
		}
		cur, prev := generations(recorded[0], recorded[1], e.Previous != nil)
		gens[id] = cur
		want := []sidecar{sidecarOf(e, cur)}
		if e.Previous != nil {
			want = append(want, previousSidecarOf(id, e.Previous, prev))
		}
		for i, s := range want {
			data, err := s.encode()
			if err != nil {
				d.log.Warn("store: cannot encode a sidecar", "id", id, "sha256", s.SHA256, "err", err)
				continue
			}
			if errs[i] == nil && bytes.Equal(got[i], data) {
				continue
			}
			rel := filepath.Join(packsName, id, s.SHA256+sidecarExt)
			why := "missing"
			switch {
			case errs[i] == nil && recorded[i] == 0:
				why = "disagrees with the index or records no generation"
			case errs[i] == nil:
				why = "disagrees with the index"
			case !errors.Is(errs[i], fs.ErrNotExist):
				why = "unreadable (" + errs[i].Error() + ")"
			}
			if err := replaceFile(filepath.Join(d.packsDir(), id), s.SHA256+sidecarExt, data); err != nil {
				d.log.Warn("store: cannot write the sidecar of a pack file; a rebuild would not know its provenance",
					"file", rel, "err", err)
				continue
			}
			d.log.Info("store: wrote the sidecar of a pack file from the index", "file", rel, "was", why)
			d.report.SidecarsWritten = append(d.report.SidecarsWritten, rel)
		}
	}
	return gens
}
