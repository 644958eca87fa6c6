// Command mpsync keeps a System Center Operations Manager management group's
// management packs in step with what its workspace wants, from the command
// line. It is a thin layer over the mpsync.dev libraries: everything it does,
// a Go program can do through mpsync.Engine, store.Dir, workspace.Client and
// the approvers of package approval.
//
// Usage:
//
//	mpsync [flags] <command> [args] [flags]
//
// Flags may come before or after the command. The commands are:
//
//	plan                  fetch the catalog, diff, print the plan; changes nothing
//	sync                  run the selected rule(s) once: plan, approve, apply
//	status                packs, rules, pending approvals, service and connection
//	approve CHANGE-ID...  approve pending changes (or --all)
//	import FILE...        import packs by hand, owned by the operator (custom)
//	connect               bind the store to the workspace and run MPUpdate once
//	disconnect            remove the integration (every workspace pack)
//	run                   run both rules on their schedules until SIGINT/SIGTERM
//	validate              check the integration as the product docs describe
//	rollback PACK-ID      restore the previous version of a pack
//	serve-workspace       serve a catalog directory over the workspace protocol
//	help [COMMAND]        explain the command or one command
//
// A first sync against the fake workspace the repository ships:
//
//	go run ./examples/mpsync serve-workspace --dir testdata/workspace --addr 127.0.0.1:8080 --key-out /tmp/ws.key &
//	go run ./examples/mpsync --workspace-url http://127.0.0.1:8080/ --allow-http \
//	    --workspace-id 6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 --workspace-key-file /tmp/ws.key sync
//
// Against a real service through an authenticating proxy:
//
//	export MPSYNC_STORE=/var/lib/mpsync MPSYNC_WORKSPACE_URL=https://workspace.example.com/
//	export MPSYNC_WORKSPACE_ID=6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 MPSYNC_WORKSPACE_KEY_FILE=/etc/mpsync/key
//	mpsync --proxy http://corpproxy:80 --proxy-user 'CONTOSO\svc-scom' \
//	    --proxy-password-file /etc/mpsync/proxy-password --mg-name PROD --mg-version 7.2.11719.0 connect
//
// Exit codes: 0 the command did what it was asked (a sync whose changes are
// only pending or denied is a success); 1 something failed (a change failed,
// the catalog could not be fetched, the store could not be read, a connect
// was refused); 2 bad usage or bad configuration (unknown flag, unreadable key
// file, invalid override pack, malformed --mg-version, invalid --approval).
// Errors go to stderr as one line naming what failed and where; with --json
// they are also in the document on stdout, as its "error" field.
//
// Run "mpsync help" for every flag, the environment variables that set them,
// and the JSON documents.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a terminal, for the progress line.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Exit codes (CLI.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	programName = "mpsync"
)

// commands lists every command and whether it takes positional arguments.
func commands() map[string]bool {
	return map[string]bool{
		"plan": false, "sync": false, "status": false, "approve": true, "import": true,
		"connect": false, "disconnect": false, "run": false, "validate": false,
		"rollback": true, "serve-workspace": false, "help": true,
	}
}

// run is the command: it parses args, runs one command and returns the exit
// code. ctx is cancelled by SIGINT and SIGTERM. tty says whether stderr is a
// terminal (progress is shown only then).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, tty bool) int {
	cfg, pos, err := parseArgs(args, getenv)
	if err != nil {
		wantJSON := slices.ContainsFunc(args, func(s string) bool { return s == "--json" || s == "-json" })
		return report(stdout, stderr, wantJSON, "", err)
	}
	if cfg.help {
		if len(pos) > 0 {
			return helpCommand(stdout, stderr, pos[0])
		}
		io.WriteString(stdout, usageText)
		return exitOK
	}
	if len(pos) == 0 {
		return report(stdout, stderr, cfg.json, "", usagef("no command given"))
	}
	cmd, cmdArgs := pos[0], pos[1:]
	takesArgs, ok := commands()[cmd]
	if !ok {
		return report(stdout, stderr, cfg.json, "", usagef("unknown command %q", cmd))
	}
	if cmd == "help" {
		if len(cmdArgs) == 0 {
			io.WriteString(stdout, usageText)
			return exitOK
		}
		return helpCommand(stdout, stderr, cmdArgs[0])
	}
	if !takesArgs && len(cmdArgs) > 0 {
		return report(stdout, stderr, cfg.json, cmd, usagef("unexpected argument %q (%s takes no arguments)", cmdArgs[0], cmd))
	}
	if err := cfg.checkCommandFlags(cmd); err != nil {
		return report(stdout, stderr, cfg.json, cmd, err)
	}

	level := slog.LevelWarn
	if cmd == "run" || cmd == "serve-workspace" {
		level = slog.LevelInfo // long-running commands log what they do
	}
	if cfg.verbose {
		level = slog.LevelDebug
	}
	lv := new(slog.LevelVar)
	lv.Set(level)
	a := &app{
		cfg: cfg, cmd: cmd, stdout: stdout, stderr: stderr, getenv: getenv,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv})), level: lv,
		progress: newProgress(stderr, tty && !cfg.json),
	}
	err = a.dispatch(ctx, cmdArgs)
	a.progress.done()
	return report(stdout, stderr, cfg.json && !a.wroteJSON, cmd, err)
}

// report writes err as one line to stderr (and, when json is true, as an
// error document to stdout) and returns the exit code it calls for.
func report(stdout, stderr io.Writer, json bool, cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	line := errorLine(cmd, err)
	fmt.Fprintln(stderr, line)
	if json {
		writeJSON(stdout, errorDoc{Error: line, ExitCode: code})
	}
	return code
}

// errorLine is the one line an error is reported as: the program, the
// command, and the error folded onto one line. A mistake in the command
// line's shape also points at the help.
func errorLine(cmd string, err error) string {
	prefix := programName
	if cmd != "" {
		prefix += " " + cmd
	}
	line := prefix + ": " + oneLine(err.Error())
	if exitCode(err) == exitUsage && !isConfigError(err) {
		line += fmt.Sprintf(" (run '%s --help' for usage)", programName)
	}
	return line
}

// exitCode maps an error to the exit code CLI.md gives it.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// isConfigError reports whether a usage error is about configuration (a
// file, a value) rather than the command line's shape; those get no usage
// hint, since the line already says what to fix.
func isConfigError(err error) bool {
	var ue *usageError
	if !errors.As(err, &ue) {
		return false
	}
	return !strings.HasPrefix(ue.msg, "unknown flag") && !strings.HasPrefix(ue.msg, "unknown command") &&
		!strings.HasPrefix(ue.msg, "no command") && !strings.HasPrefix(ue.msg, "unexpected argument") &&
		!strings.Contains(ue.msg, "needs a value")
}
