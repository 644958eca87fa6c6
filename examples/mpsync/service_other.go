//go:build !windows

package main

// runService reports that the process is not a Windows service: on other
// systems the command runs in the foreground (systemd and launchd stop it
// with SIGTERM).
func runService([]string) (int, bool) { return 0, false }
