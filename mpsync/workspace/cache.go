package workspace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mpsync.dev/mpsync/catalog"
)

// cacheFile is the on-disk form of the held catalog. The catalog is kept as
// the bytes the service served and is validated again when loaded.
type cacheFile struct {
	WorkspaceID string          `json:"workspaceId"`
	ETag        string          `json:"etag"`
	FetchedAt   time.Time       `json:"fetchedAt"`
	Catalog     json.RawMessage `json:"catalog"`
}

func (c *Client) cachePath() string {
	return filepath.Join(c.s.CacheDir, "catalog."+c.s.WorkspaceID+".json")
}

// loadCache returns the cached catalog, nil when there is none.
func (c *Client) loadCache() (*heldCatalog, error) {
	p := c.cachePath()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f cacheFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if f.WorkspaceID != c.s.WorkspaceID {
		return nil, fmt.Errorf("%s: cached for workspace %q", p, f.WorkspaceID)
	}
	cat, err := catalog.Decode(bytes.NewReader(f.Catalog))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if cat.WorkspaceID != c.s.WorkspaceID {
		return nil, fmt.Errorf("%s: catalog is for workspace %q", p, cat.WorkspaceID)
	}
	return &heldCatalog{cat: cat, raw: f.Catalog, etag: f.ETag, fetchedAt: f.FetchedAt}, nil
}

// saveCache replaces the cache file atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func (c *Client) saveCache(h *heldCatalog) error {
	var raw json.RawMessage = h.raw
	if !json.Valid(raw) {
		return fmt.Errorf("catalog bytes are not JSON")
	}
	b, err := json.Marshal(cacheFile{WorkspaceID: c.s.WorkspaceID, ETag: h.etag, FetchedAt: h.fetchedAt, Catalog: raw})
	if err != nil {
		return err
	}
	return writeFileAtomic(c.cachePath(), b)
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
