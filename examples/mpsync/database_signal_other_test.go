//go:build !unix

package main

import "os"

// No signal pauses a process here; the SIGSTOP test of database_test.go
// skips.
var sigStop, sigCont os.Signal
