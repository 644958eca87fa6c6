//go:build !linux

package store

import "os"

// syncFiles makes the contents of the files durable: on this platform one
// fsync per file (Linux uses one syncfs(2) for all of them).
func syncFiles(dir string, files []string) error {
	for _, p := range files {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
