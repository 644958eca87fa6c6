//go:build unix

package main

import (
	"os"
	"syscall"
)

// The signals that pause and resume a process, for the SIGSTOP test of
// database_test.go.
var sigStop, sigCont os.Signal = syscall.SIGSTOP, syscall.SIGCONT
