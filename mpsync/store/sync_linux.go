package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFiles makes the contents of the files durable. On Linux one
// syncfs(2) of the file system holding dir flushes them all, whatever
// their number: a batch costs one sync, not one per pack.
func syncFiles(dir string, files []string) error {
	if len(files) == 0 {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
