//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression (issue 15, point 6): the key file was read without a size
// limit (/dev/zero grew the process to 1.6 GB) and a FIFO hung the command.
func TestRegressionReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	key := file("key", []byte("  c2VjcmV0\n"))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(key, link))
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{"regular file, trimmed", key, "c2VjcmV0", ""},
		{"symbolic link to a regular file", link, "c2VjcmV0", ""},
		{"at the limit", file("max", []byte(strings.Repeat("k", maxSecretFile))), strings.Repeat("k", maxSecretFile), ""},
		{"over the limit", file("big", []byte(strings.Repeat("k", maxSecretFile+1))), "", "more than the 65536"},
		{"empty", file("empty", nil), "", "is empty"},
		{"missing", filepath.Join(dir, "nope"), "", "cannot read"},
		{"directory", dir, "", "not a regular file (a directory)"},
		{"named pipe", fifo, "", "not a regular file (a named pipe)"},
		{"/dev/zero", "/dev/zero", "", "not a regular file (a character device)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				s   string
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := readSecretFile("workspace-key-file", tc.path)
				done <- result{s, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("readSecretFile hangs")
			}
			if tc.wantErr == "" {
				require.NoError(t, r.err)
				assert.Equal(t, tc.want, r.s)
				return
			}
			require.Error(t, r.err)
			assert.Contains(t, r.err.Error(), tc.wantErr)
			assert.Contains(t, r.err.Error(), "--workspace-key-file")
			assert.Equal(t, exitUsage, exitCode(r.err))
		})
	}
}
