package main

import (
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
)

// maxSecretFile bounds a secret file: a workspace key is 88 characters, a
// password rarely more than a few hundred.
const maxSecretFile = 64 << 10

// readSecretFile reads a file that holds one secret (a key, a password) and
// trims the white space around it. flagName names the flag in errors.
//
// Regression (issue 15, point 6): the file was read without a limit
// (/dev/zero grew the process to 1.6 GB) and a FIFO hung the command. Only
// a regular file (or a symbolic link to one) of at most maxSecretFile
// bytes is read; the check is made on the opened file, so the file cannot
// be swapped between the check and the read.
func readSecretFile(flagName, path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", usagef("flag --%s: cannot read %s: %v", flagName, path, unwrapPathError(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", usagef("flag --%s: cannot read %s: %v", flagName, path, unwrapPathError(err))
	}
	if !fi.Mode().IsRegular() {
		return "", usagef("flag --%s: %s is not a regular file (%s); give the file that holds the secret", flagName, path, fileKind(fi.Mode()))
	}
	if fi.Size() > maxSecretFile {
		return "", usagef("flag --%s: %s has %d bytes, more than the %d a secret file may have", flagName, path, fi.Size(), maxSecretFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", usagef("flag --%s: cannot read %s: %v", flagName, path, unwrapPathError(err))
	}
	if len(b) > maxSecretFile {
		return "", usagef("flag --%s: %s has more than the %d bytes a secret file may have", flagName, path, maxSecretFile)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", usagef("flag --%s: %s is empty", flagName, path)
	}
	return s, nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "type " + m.Type().String()
}

// unwrapPathError drops the path an *os.PathError repeats, so an error line
// names the file once.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
