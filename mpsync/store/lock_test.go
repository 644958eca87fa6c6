//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

func TestSecondOpenInProcessIsLocked(t *testing.T) {
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err)

	_, err = store.OpenDir(dir, nil)
	require.ErrorIs(t, err, store.ErrLocked)
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

	_, err = store.OpenDir(dir, nil)
	require.ErrorIs(t, err, store.ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid))

	require.NoError(t, stdin.Close()) // the helper exits without closing the store
	require.NoError(t, cmd.Wait())
	d, err := store.OpenDir(dir, nil)
	require.NoError(t, err, "the kernel releases the lock when the holder exits")
	require.NoError(t, d.Close())
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
