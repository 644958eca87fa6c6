package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/term"

	"mpsync.dev/internal/safetext"
)

func main() {
	// Started by the service control manager (sc.exe create mpsync
	// binPath= "...\mpsync.exe run ..."): Stop and Shutdown stop the command.
	if code, ok := runService(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a terminal, for the progress line.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Exit codes (docs/cli.md).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	programName = "mpsync"
)

// run is the command: it parses args, runs one command and returns the exit
// code. ctx is cancelled by SIGINT and SIGTERM (and, as a Windows service,
// by Stop and Shutdown). tty says whether stderr is a terminal (progress is
// shown only then).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, tty bool) int {
	p, err := parse(args, getenv, stdout, stderr)
	if err != nil {
		wantJSON := slices.ContainsFunc(args, func(s string) bool { return s == "--json" || s == "-json" })
		cmd := ""
		var ue *usageError
		if errors.As(err, &ue) {
			cmd = ue.cmd
		}
		return report(stdout, stderr, wantJSON, cmd, err)
	}
	if p.handled {
		return exitOK // help or a completion script was written
	}
	cfg, cmd, cmdArgs := p.cfg, p.pos[0], p.pos[1:]
	if !takesArgs(p.path) && len(cmdArgs) > 0 {
		return report(stdout, stderr, cfg.json, cmd, shapef("unexpected argument %q (%s takes no arguments)", cmdArgs[0], cmd))
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
	// A one-shot command holds its log records back until it ends: when it
	// succeeds they follow its output, when it fails its one error line says
	// what went wrong and they are dropped (-v shows every record as it
	// happens). Long-running commands log as they go.
	logOut := stderr
	var held *lockedBuffer
	if !cfg.verbose && cmd != "run" && cmd != "serve-workspace" {
		held = new(lockedBuffer)
		logOut = held
	}
	a := &app{
		cfg: cfg, cmd: cmd, stdout: stdout, stderr: stderr, getenv: getenv,
		log: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: lv})), level: lv,
		progress: newProgress(stderr, tty && !cfg.json),
	}
	err = a.dispatch(ctx, cmdArgs)
	a.progress.done()
	if held != nil && err == nil {
		held.writeTo(stderr)
	}
	return report(stdout, stderr, cfg.json && !a.wroteJSON, cmd, err)
}

// takesArgs reports whether the command of path takes positional arguments.
func takesArgs(path string) bool {
	for _, c := range commandTable() {
		if c.path == path {
			return c.args
		}
	}
	return false
}

// lockedBuffer collects log records for a one-shot command.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) writeTo(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w.Write(b.buf.Bytes())
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
	// Cleaned (issue 15, points 4 and 6): an error may carry text a
	// service or proxy sent, with credentials it echoed or escape
	// sequences for the terminal.
	line := prefix + ": " + safetext.Clean(oneLine(err.Error()))
	if needsHelp(err) {
		line += fmt.Sprintf(" (run '%s --help' for usage)", programName)
	}
	return line
}

// exitCode maps an error to the exit code docs/cli.md gives it.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// needsHelp reports whether err is a mistake in the command line's shape,
// whose error line points at the help.
func needsHelp(err error) bool {
	var ue *usageError
	return errors.As(err, &ue) && ue.shape
}
