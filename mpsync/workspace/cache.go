package workspace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"mpsync.dev/internal/wire"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
)

// The cache file, catalog.<WorkspaceID>.cache, holds the held catalog as
// decoded and validated when it was served, in a compact binary form (the
// record layout of encodeCache), followed by a CRC-32C of everything
// before it. It replaced a JSON file holding the served bytes, which every
// start of the command decoded and validated again: 8 ms of a 40 ms idle
// sync at 1,000 packs. Loading decodes the binary form (about 0.2 ms at
// 1,000 packs) and validates it again with [catalog.Catalog.Validate], so
// a cache written by another version of the rules is refused as before.
const (
	cacheMagic   = "mpsync catalog cache\x00"
	cacheFormat  = 1
	cacheSuffix  = ".cache"
	legacySuffix = ".json" // the JSON cache file, deleted when a new cache is written
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *Client) cachePath() string {
	return filepath.Join(c.s.CacheDir, "catalog."+c.s.WorkspaceID+cacheSuffix)
}

// loadCache returns the cached catalog, nil when there is none.
func (c *Client) loadCache() (*heldCatalog, error) {
	p := c.cachePath()
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h, wsID, err := decodeCache(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if wsID != c.s.WorkspaceID {
		return nil, fmt.Errorf("%s: cached for workspace %q", p, wsID)
	}
	if h.cat.WorkspaceID != c.s.WorkspaceID {
		return nil, fmt.Errorf("%s: catalog is for workspace %q", p, h.cat.WorkspaceID)
	}
	if err := h.cat.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return h, nil
}

// saveCache replaces the cache file atomically: a temporary file in the same
// directory, synced, then renamed over the old one. A cache file of the
// earlier JSON form is deleted.
func (c *Client) saveCache(h *heldCatalog) error {
	if err := writeFileAtomic(c.cachePath(), encodeCache(c.s.WorkspaceID, h)); err != nil {
		return err
	}
	legacy := filepath.Join(c.s.CacheDir, "catalog."+c.s.WorkspaceID+legacySuffix)
	if err := os.Remove(legacy); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Debug("could not delete the earlier catalog cache file", "file", legacy, "error", err)
	}
	return nil
}

// encodeCache returns the cache file's bytes for h, held for workspace wsID.
func encodeCache(wsID string, h *heldCatalog) []byte {
	cat := h.cat
	e := wire.NewEncoder(make([]byte, 0, 256+200*len(cat.Packs)))
	e.Raw([]byte(cacheMagic))
	e.Uint(cacheFormat)
	e.String(wsID)
	e.String(h.etag)
	encodeTime(e, h.fetchedAt)
	e.String(cat.SchemaVersion)
	e.String(cat.WorkspaceID)
	e.Int(cat.Serial)
	encodeTime(e, cat.GeneratedAt)
	e.Uint(uint64(len(cat.Solutions)))
	for _, s := range cat.Solutions {
		e.String(s.Name)
		e.Bool(s.Enabled)
	}
	e.Uint(uint64(len(cat.Packs)))
	for _, p := range cat.Packs {
		e.String(p.ID)
		e.Uint(uint64(p.Version.Major))
		e.Uint(uint64(p.Version.Minor))
		e.Uint(uint64(p.Version.Build))
		e.Uint(uint64(p.Version.Revision))
		e.String(string(p.Channel))
		e.String(p.Solution)
		e.String(p.SHA256)
		e.Int(p.Size)
		e.String(p.Href)
	}
	b := e.Bytes()
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeCache reads what encodeCache wrote and returns the held catalog and
// the workspace it was held for. It checks the form, not the catalog.
func decodeCache(b []byte) (*heldCatalog, string, error) {
	if !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, "", errors.New("not a catalog cache file")
	}
	if len(b) < len(cacheMagic)+4 {
		return nil, "", errors.New("catalog cache file is truncated")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, "", errors.New("catalog cache file is damaged (checksum mismatch)")
	}
	d := wire.NewDecoder(body[len(cacheMagic):])
	if f := d.Uint(); d.Err() == nil && f != cacheFormat {
		return nil, "", fmt.Errorf("catalog cache file is in format %d, which this version does not read", f)
	}
	wsID := d.String()
	h := &heldCatalog{etag: d.String(), fetchedAt: decodeTime(d)}
	cat := &catalog.Catalog{SchemaVersion: d.String(), WorkspaceID: d.String(), Serial: d.Int(), GeneratedAt: decodeTime(d)}
	if n := d.Count(2); n > 0 {
		cat.Solutions = make([]catalog.Solution, n)
		for i := range cat.Solutions {
			cat.Solutions[i] = catalog.Solution{Name: d.String(), Enabled: d.Bool()}
		}
	} else {
		cat.Solutions = []catalog.Solution{}
	}
	cat.Packs = make([]catalog.Pack, d.Count(11))
	for i := range cat.Packs {
		p := &cat.Packs[i]
		p.ID = d.String()
		p.Version = pack.Version{Major: d.Uint32(), Minor: d.Uint32(), Build: d.Uint32(), Revision: d.Uint32()}
		p.Channel = catalog.Channel(d.String())
		p.Solution = d.String()
		p.SHA256 = d.String()
		p.Size = d.Int()
		p.Href = d.String()
	}
	if err := d.Finish(); err != nil {
		return nil, "", fmt.Errorf("catalog cache file: %w", err)
	}
	h.cat = cat
	return h, wsID, nil
}

// encodeTime keeps t's instant and its zone offset (not the zone's name):
// what time.Time's own binary form keeps.
func encodeTime(e *wire.Encoder, t time.Time) {
	b, err := t.MarshalBinary()
	if err != nil { // a zone offset that is not whole minutes: keep the instant
		b, _ = t.UTC().MarshalBinary()
	}
	e.String(string(b))
}

func decodeTime(d *wire.Decoder) time.Time {
	s := d.String()
	var t time.Time
	if d.Err() == nil {
		if err := t.UnmarshalBinary([]byte(s)); err != nil {
			d.Fail("time: " + err.Error())
		}
	}
	return t
}

func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
