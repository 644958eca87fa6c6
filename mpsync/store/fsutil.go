package store

import (
	"os"
	"runtime"
)

// syncDir flushes a directory's entries (new, renamed and removed names) to
// stable storage. Windows cannot open a directory for syncing; there the
// rename itself is the best available guarantee.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
