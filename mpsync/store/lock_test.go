package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

func TestSecondOpenInProcessIsLocked(t *testing.T) {
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)

	start := time.Now()
	_, err = store.OpenDir(dir, &store.DirOptions{LockTimeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, store.ErrLocked)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the second opener waits the lock timeout")
	assert.Contains(t, err.Error(), dir, "the error names the directory")
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()), "the error names the holder")

	require.NoError(t, d.Close())
	d2, err := store.OpenDir(dir, nil)
	require.NoError(t, err, "the lock is released by Close")
	require.NoError(t, d2.Close())
}

// TestSecondProcessIsLocked runs this test binary as a second process that
// holds the store open, and checks that OpenDir here fails at once, and
// succeeds once that process has exited.
func TestSecondProcessIsLocked(t *testing.T) {
	if os.Getenv("STORE_LOCK_HELPER_DIR") != "" {
		t.Skip("running as the helper process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "STORE_LOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = store.OpenDir(dir, &store.DirOptions{LockTimeout: -1})
	require.ErrorIs(t, err, store.ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid))

	// A shared opener reads beside the holder, and writes meta records.
	sh, err := store.OpenDir(dir, &store.DirOptions{Shared: true})
	require.NoError(t, err)
	require.NoError(t, sh.WriteMeta(context.Background(), "approvals", []byte("queued")))
	_, err = sh.Import(context.Background(), store.ImportRequest{ID: "Contoso.X"}, strings.NewReader(""))
	require.ErrorIs(t, err, store.ErrShared)
	require.NoError(t, sh.Close())

	// A waiting opener gets the store once the holder exits.
	done := make(chan error, 1)
	go func() {
		d, err := store.OpenDir(dir, &store.DirOptions{LockTimeout: 20 * time.Second})
		if err == nil {
			err = d.Close()
		}
		done <- err
	}()

	time.Sleep(100 * time.Millisecond)
	require.NoError(t, stdin.Close()) // the helper exits without closing the store
	require.NoError(t, cmd.Wait())
	require.NoError(t, <-done, "the OS releases the lock when the holder exits, and the waiter gets it")
}

// TestLockHelperProcess is the second process of TestSecondProcessIsLocked.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("STORE_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestSecondProcessIsLocked")
	}
	_, err := store.OpenDir(dir, nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until stdin closes
	os.Exit(0)                                        // exit holding the lock, as a crash would
}

// Issue 15: a symlinked lock or holder file was written through (the
// holder's target was overwritten with "pid N on HOST since ...").
func TestSymlinkedLockFilesAreRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	for _, name := range []string{"lock", "holder"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := store.OpenDir(dir, nil)
			require.NoError(t, err)
			require.NoError(t, d.Close())

			victim := filepath.Join(t.TempDir(), "victim")
			require.NoError(t, os.WriteFile(victim, []byte("precious\n"), 0o600))
			require.NoError(t, os.Remove(filepath.Join(dir, name)))
			require.NoError(t, os.Symlink(victim, filepath.Join(dir, name)))

			_, err = store.OpenDir(dir, nil)
			require.Error(t, err, "a symlinked %s file is refused", name)
			assert.Contains(t, err.Error(), filepath.Join(dir, name), "the error names the file")
			assert.Contains(t, err.Error(), "symbolic link")
			b, err := os.ReadFile(victim)
			require.NoError(t, err)
			assert.Equal(t, "precious\n", string(b), "the link's target is untouched")

			// A dangling link is not created through either.
			require.NoError(t, os.Remove(victim))
			_, err = store.OpenDir(dir, nil)
			require.Error(t, err)
			assert.NoFileExists(t, victim)

			// The documented recovery: remove the link.
			require.NoError(t, os.Remove(filepath.Join(dir, name)))
			d, err = store.OpenDir(dir, nil)
			require.NoError(t, err)
			require.NoError(t, d.Close())
		})
	}
}
