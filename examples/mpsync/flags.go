package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mpsync.dev/mpsync/store"
)

// config is everything the command line and the environment say.
type config struct {
	store             string
	database          string // --database: the PostgreSQL store
	leaseTTL          time.Duration
	workspaceURL      string
	workspaceID       string
	workspaceKeyFile  string
	proxy             string
	proxyUser         string
	proxyPasswordFile string
	overrides         stringList
	platform          string
	lockTimeout       time.Duration
	approval          string
	approvalFile      string
	rule              string
	allowHTTP         bool
	json              bool
	verbose           bool
	help              bool
	mgName            string
	mgVersion         string
	language          string
	retries           int

	// Command-specific flags.
	all    bool   // approve
	by     string // approve
	force  bool   // import
	dir    string // serve-workspace
	addr   string // serve-workspace
	keyOut string // serve-workspace

	enabled   string // override
	frequency string // override
	packID    string // override
	export    string // override
	module    string // override

	at          string // approval check
	metricsAddr string // run

	// set records the flags given on the command line (by name, without
	// dashes), for checks that depend on the command.
	set map[string]bool
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if s == "" {
		return errors.New("empty file name")
	}
	*l = append(*l, s)
	return nil
}

// commandFlags lists the flags that belong to one command only, in the
// order they are checked, with the command each belongs to.
func commandFlags() [][2]string {
	return [][2]string{
		{"all", "approve"},
		{"by", "approve"},
		{"force", "import"},
		{"dir", "serve-workspace"},
		{"addr", "serve-workspace"},
		{"key-out", "serve-workspace"},
		{"enabled", "override"},
		{"frequency", "override"},
		{"pack", "override"},
		{"export", "override"},
		{"module", "override"},
		{"at", "approval"},
		{"metrics-addr", "run"},
	}
}

// usageError is bad usage or bad configuration: exit code 2.
type usageError struct {
	msg string
	// shape is true for a mistake in the command line's shape (an unknown
	// flag or command, missing arguments): its error line points at --help.
	// A bad value or file says what to fix and needs no pointer.
	shape bool
}

func (e *usageError) Error() string { return e.msg }

// usagef is bad configuration: a value or a file that cannot be used.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// shapef is bad usage: the command line's shape is wrong.
func shapef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), shape: true}
}

// newFlagSet defines every flag of the command on a FlagSet bound to cfg,
// with defaults taken from the environment through getenv.
func newFlagSet(cfg *config, getenv func(string) string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("mpsync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.store, "store", env("MPSYNC_STORE", "./mpsync-store"), "")
	fs.StringVar(&cfg.database, "database", env("MPSYNC_DATABASE", ""), "")
	var leaseTTL time.Duration
	if v := getenv("MPSYNC_LEASE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, usagef("MPSYNC_LEASE_TTL %q is not a duration such as 30s", v)
		}
		leaseTTL = d
	}
	fs.DurationVar(&cfg.leaseTTL, "lease-ttl", leaseTTL, "")
	fs.StringVar(&cfg.workspaceURL, "workspace-url", env("MPSYNC_WORKSPACE_URL", ""), "")
	fs.StringVar(&cfg.workspaceID, "workspace-id", env("MPSYNC_WORKSPACE_ID", ""), "")
	fs.StringVar(&cfg.workspaceKeyFile, "workspace-key-file", env("MPSYNC_WORKSPACE_KEY_FILE", ""), "")
	fs.StringVar(&cfg.proxy, "proxy", env("MPSYNC_PROXY", ""), "")
	fs.StringVar(&cfg.proxyUser, "proxy-user", env("MPSYNC_PROXY_USER", ""), "")
	fs.StringVar(&cfg.proxyPasswordFile, "proxy-password-file", env("MPSYNC_PROXY_PASSWORD_FILE", ""), "")
	if v := getenv("MPSYNC_OVERRIDES"); v != "" {
		for _, p := range filepath.SplitList(v) {
			if p != "" {
				cfg.overrides = append(cfg.overrides, p)
			}
		}
	}
	fs.Var(&cfg.overrides, "overrides", "")
	fs.StringVar(&cfg.platform, "platform", env("MPSYNC_PLATFORM", ""), "")
	lockTimeout := store.DefaultLockTimeout
	if v := getenv("MPSYNC_LOCK_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, usagef("MPSYNC_LOCK_TIMEOUT %q is not a duration such as 10s or 0", v)
		}
		lockTimeout = d
	}
	fs.DurationVar(&cfg.lockTimeout, "lock-timeout", lockTimeout, "")
	fs.StringVar(&cfg.approval, "approval", env("MPSYNC_APPROVAL", "auto"), "")
	fs.StringVar(&cfg.approvalFile, "approval-file", env("MPSYNC_APPROVAL_FILE", ""), "")
	fs.StringVar(&cfg.rule, "rule", env("MPSYNC_RULE", "all"), "")
	fs.StringVar(&cfg.mgName, "mg-name", env("MPSYNC_MG_NAME", ""), "")
	fs.StringVar(&cfg.mgVersion, "mg-version", env("MPSYNC_MG_VERSION", ""), "")
	fs.StringVar(&cfg.language, "language", env("MPSYNC_LANGUAGE", "ENU"), "")

	retries := 4
	if v := getenv("MPSYNC_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, usagef("environment variable MPSYNC_RETRIES=%q: want a whole number >= 0", v)
		}
		retries = n
	}
	fs.IntVar(&cfg.retries, "retries", retries, "")

	allowHTTP, err := envBool(getenv, "MPSYNC_ALLOW_HTTP")
	if err != nil {
		return nil, err
	}
	fs.BoolVar(&cfg.allowHTTP, "allow-http", allowHTTP, "")
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.BoolVar(&cfg.verbose, "verbose", false, "")
	fs.BoolVar(&cfg.verbose, "v", false, "")
	fs.BoolVar(&cfg.help, "help", false, "")
	fs.BoolVar(&cfg.help, "h", false, "")

	fs.BoolVar(&cfg.all, "all", false, "")
	fs.StringVar(&cfg.by, "by", "", "")
	fs.BoolVar(&cfg.force, "force", false, "")
	fs.StringVar(&cfg.dir, "dir", "", "")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "")
	fs.StringVar(&cfg.keyOut, "key-out", "", "")
	fs.StringVar(&cfg.enabled, "enabled", "", "")
	fs.StringVar(&cfg.frequency, "frequency", "", "")
	fs.StringVar(&cfg.packID, "pack", "", "")
	fs.StringVar(&cfg.export, "export", "", "")
	fs.StringVar(&cfg.module, "module", "", "")
	fs.StringVar(&cfg.at, "at", "", "")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", env("MPSYNC_METRICS_ADDR", ""), "")
	return fs, nil
}

func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, usagef("environment variable %s=%q: want true or false", name, v)
	}
	return b, nil
}

// parseArgs reads the command line. Flags may come before and after the
// command and its arguments ("mpsync --json status" and "mpsync status
// --json" mean the same); "--" ends the flags. It returns the configuration
// and the positional arguments, the command first.
func parseArgs(args []string, getenv func(string) string) (*config, []string, error) {
	cfg := &config{set: map[string]bool{}}
	fs, err := newFlagSet(cfg, getenv)
	if err != nil {
		return nil, nil, err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, shapef("%s", flagError(err))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	fs.Visit(func(f *flag.Flag) { cfg.set[f.Name] = true })
	if cfg.set["v"] {
		cfg.set["verbose"] = true
	}
	// --approval and --approval-file (or their variables) both name the
	// approver: which one is meant cannot be told.
	if cfg.approvalFile != "" && (cfg.set["approval"] || getenv("MPSYNC_APPROVAL") != "") {
		return nil, nil, shapef("give --approval or --approval-file, not both (%s and %s)",
			source(cfg.set["approval"], "--approval", "MPSYNC_APPROVAL"), source(cfg.set["approval-file"], "--approval-file", "MPSYNC_APPROVAL_FILE"))
	}
	if cfg.retries < 0 {
		return nil, nil, usagef("flag --retries %d: want a whole number >= 0", cfg.retries)
	}
	return cfg, pos, nil
}

// source says where a setting came from: the flag or the environment.
func source(onCommandLine bool, flagName, envName string) string {
	if onCommandLine {
		return flagName + " on the command line"
	}
	return envName + " in the environment"
}

// flagError rewrites the flag package's messages into the command's words.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + dashes(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return "flag " + dashes(name) + " needs a value"
	}
	return msg
}

// dashes writes a flag name the way the help shows it: --name.
func dashes(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// checkCommandFlags refuses flags that belong to another command.
func (c *config) checkCommandFlags(cmd string) error {
	for _, f := range commandFlags() {
		name, owner := f[0], f[1]
		if c.set[name] && owner != cmd {
			return shapef("flag --%s applies only to the %s command", name, owner)
		}
	}
	return nil
}

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
