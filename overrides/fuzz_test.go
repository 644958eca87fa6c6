package overrides_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
)

// FuzzReadPack feeds override packs, good and broken, to the reader: it
// never panics, and what it refuses it refuses with one of the documented
// errors.
func FuzzReadPack(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "overrides", "*.xml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("MZ\x90\x00"))
	f.Add([]byte(`<ManagementPack><Manifest/></ManagementPack>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := overrides.ReadPack(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, overrides.ErrInvalid) && !errors.Is(err, pack.ErrMalformed) && !errors.Is(err, pack.ErrNotManagementPack) &&
				!errors.Is(err, pack.ErrInvalidID) && !errors.Is(err, pack.ErrInvalidVersion) {
				t.Fatalf("ReadPack refused with an undocumented error: %v", err)
			}
			return
		}
		if p == nil {
			t.Fatal("ReadPack returned neither a pack nor an error")
		}
	})
}
