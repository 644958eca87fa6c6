//go:build unix

package store_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

// Issue 15: a waiter read the holder file whole and unchecked, so a holder
// that is a named pipe hung it (and /dev/zero would fill memory); it reads
// only a regular file, and only its first 256 bytes.
func TestHolderFIFODoesNotHangAWaiter(t *testing.T) {
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)
	defer d.Close()
	holder := filepath.Join(dir, "holder")
	require.NoError(t, os.Remove(holder))
	require.NoError(t, syscall.Mkfifo(holder, 0o600))

	done := make(chan error, 1)
	go func() {
		_, err := store.OpenDir(dir, &store.DirOptions{LockTimeout: -1})
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		require.Contains(t, err.Error(), holder+" is not a regular file (a named pipe)", "the error names the file and what it is")
	case <-time.After(10 * time.Second):
		// Unblock the reader so the test binary can finish.
		if f, err := os.OpenFile(holder, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("OpenDir hung reading a holder file that is a named pipe")
	}
}
