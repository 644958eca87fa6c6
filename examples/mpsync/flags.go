package main

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

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
	mgName            string
	mgVersion         string
	language          string
	retries           int
	// maxRemovalShare is --max-removal-share as given ("50%" or "0.5");
	// removalShare is its value in [0, 1], set by validate.
	maxRemovalShare string
	removalShare    float64

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

// Type names the flag's value in pflag's messages.
func (l *stringList) Type() string { return "FILE" }

// flagKind is the type of a flag's value.
type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindDuration
	kindInt
	kindList // repeatable; its variable is a path list added to the flags
)

// Groups of the global flags. A command's help lists the global flags of
// the groups that apply to it (commandSpec.globals); every command accepts
// every global flag, wherever it stands on the command line.
const (
	groupOutput  = "output"  // --json, --verbose: every command
	groupStore   = "store"   // where the store is
	groupService = "service" // how the workspace service is reached
	groupGroup   = "group"   // the management group
	groupPolicy  = "policy"  // what the engine runs: the rules and their overrides
	groupApprove = "approve" // who approves: sync, connect and run
	groupLease   = "lease"   // several run processes on one database
)

// flagSpec is one flag of the command: the one table the parser, the help,
// the completion and the contract test read. Adding a flag is adding an
// entry here (and a field to config).
type flagSpec struct {
	name  string
	short string // one letter, or ""
	kind  flagKind
	def   string // the default, as the flag would be given
	// env is the environment variable that sets the flag when it is not on
	// the command line ("" for none).
	env string
	// envExample completes the error line of a malformed duration in env.
	envExample string
	// usage is the help line; a `word` in backquotes names the value.
	usage string
	// commands lists the commands the flag belongs to, by their path
	// ("approve", "approval check"); empty for a global flag.
	commands []string
	// group is a global flag's group (see groupOutput).
	group string
	// value points into config.
	value func(c *config) any
	// complete lists the values shell completion offers; dirs and files
	// ask the shell to complete directories or files instead.
	complete []string
	dirs     bool
	files    bool
}

// global reports whether every command accepts the flag.
func (s flagSpec) global() bool { return len(s.commands) == 0 }

// flagTable is every flag of the command, globals first, in help order.
func flagTable() []flagSpec {
	return []flagSpec{
		{name: "store", kind: kindString, def: "./mpsync-store", env: "MPSYNC_STORE", group: groupStore, dirs: true,
			usage: "the directory store `DIR`, e.g. /var/lib/mpsync or C:\\ProgramData\\mpsync; the catalog cache is DIR/cache [MPSYNC_STORE]",
			value: func(c *config) any { return &c.store }},
		{name: "database", kind: kindString, env: "MPSYNC_DATABASE", group: groupStore,
			usage: "a PostgreSQL store `URL` shared by the group's management servers instead of --store, e.g. postgres://mpsync@db/mpsync (the password never appears in output) [MPSYNC_DATABASE]",
			value: func(c *config) any { return &c.database }},
		{name: "lease-ttl", kind: kindDuration, def: "0s", env: "MPSYNC_LEASE_TTL", envExample: "30s", group: groupLease,
			usage: "with --database, for how long (`DURATION`) run holds the lease between renewals (0: the default, 3m) [MPSYNC_LEASE_TTL]",
			value: func(c *config) any { return &c.leaseTTL }},
		{name: "workspace-url", kind: kindString, env: "MPSYNC_WORKSPACE_URL", group: groupService,
			usage: "base `URL` of the workspace service [MPSYNC_WORKSPACE_URL]",
			value: func(c *config) any { return &c.workspaceURL }},
		{name: "workspace-id", kind: kindString, env: "MPSYNC_WORKSPACE_ID", group: groupService,
			usage: "workspace `ID` [MPSYNC_WORKSPACE_ID]",
			value: func(c *config) any { return &c.workspaceID }},
		{name: "workspace-key-file", kind: kindString, env: "MPSYNC_WORKSPACE_KEY_FILE", group: groupService, files: true,
			usage: "`FILE` holding the base64 workspace key, e.g. /etc/mpsync/key or C:\\ProgramData\\mpsync\\key [MPSYNC_WORKSPACE_KEY_FILE]",
			value: func(c *config) any { return &c.workspaceKeyFile }},
		{name: "proxy", kind: kindString, env: "MPSYNC_PROXY", group: groupService,
			usage: "HTTP proxy `URL`, e.g. http://corpproxy:80 [MPSYNC_PROXY]",
			value: func(c *config) any { return &c.proxy }},
		{name: "proxy-user", kind: kindString, env: "MPSYNC_PROXY_USER", group: groupService,
			usage: "proxy account `NAME` (the Run As account) [MPSYNC_PROXY_USER]",
			value: func(c *config) any { return &c.proxyUser }},
		{name: "proxy-password-file", kind: kindString, env: "MPSYNC_PROXY_PASSWORD_FILE", group: groupService, files: true,
			usage: "`FILE` holding the proxy password [MPSYNC_PROXY_PASSWORD_FILE]",
			value: func(c *config) any { return &c.proxyPasswordFile }},
		{name: "overrides", kind: kindList, env: "MPSYNC_OVERRIDES", group: groupPolicy, files: true,
			usage: "override management pack (XML) `FILE` for the rules; repeatable; a directory adds its *.xml files [MPSYNC_OVERRIDES, a path list, added to the flags]",
			value: func(c *config) any { return &c.overrides }},
		{name: "platform", kind: kindString, env: "MPSYNC_PLATFORM", group: groupGroup, files: true,
			usage: "the group's installed packs, `FILE` exported by Get-SCOMManagementPack | Select-Object Name, Version with Export-Csv or ConvertTo-Json [MPSYNC_PLATFORM]",
			value: func(c *config) any { return &c.platform }},
		{name: "lock-timeout", kind: kindDuration, def: store.DefaultLockTimeout.String(), env: "MPSYNC_LOCK_TIMEOUT", envExample: "10s or 0", group: groupStore,
			usage: "how long (`DURATION`) a command that changes packs waits while another process holds the store (0 fails at once) [MPSYNC_LOCK_TIMEOUT]",
			value: func(c *config) any { return &c.lockTimeout }},
		{name: "approval", kind: kindString, def: "auto", env: "MPSYNC_APPROVAL", group: groupApprove,
			complete: []string{"auto", "manual", "freeze", "freeze:", "window:"},
			usage:    "who approves, `MODE`: auto, manual, freeze[:REASON] or window:<cron>:<duration>[:<tz>] [MPSYNC_APPROVAL]",
			value:    func(c *config) any { return &c.approval }},
		{name: "approval-file", kind: kindString, env: "MPSYNC_APPROVAL_FILE", group: groupApprove, files: true,
			usage: "an approval policy `FILE` (YAML or JSON; mpsync help approval) instead of --approval [MPSYNC_APPROVAL_FILE]",
			value: func(c *config) any { return &c.approvalFile }},
		{name: "max-removal-share", kind: kindString, def: "50%", env: "MPSYNC_MAX_REMOVAL_SHARE", group: groupApprove,
			complete: []string{"50%", "100%"},
			usage:    "the `SHARE` of the workspace's packs one run may remove unconfirmed, e.g. 50% or 0.5; a run that would remove more (and more than one pack) holds its removals (denied by removal-guard); 100% confirms [MPSYNC_MAX_REMOVAL_SHARE]",
			value:    func(c *config) any { return &c.maxRemovalShare }},
		{name: "rule", kind: kindString, def: "all", env: "MPSYNC_RULE", group: groupPolicy,
			complete: []string{"all", "MPUpdate", "GetIntelligencePacks"},
			usage:    "the rule(s) to run, `RULE`: MPUpdate, GetIntelligencePacks, a full rule id, or all [MPSYNC_RULE]",
			value:    func(c *config) any { return &c.rule }},
		{name: "allow-http", kind: kindBool, def: "false", env: "MPSYNC_ALLOW_HTTP", group: groupService,
			usage: "accept plain http:// URLs (tests, the quickstart) [MPSYNC_ALLOW_HTTP]",
			value: func(c *config) any { return &c.allowHTTP }},
		{name: "json", kind: kindBool, def: "false", group: groupOutput,
			usage: "machine-readable output: one JSON document on stdout",
			value: func(c *config) any { return &c.json }},
		{name: "verbose", short: "v", kind: kindBool, def: "false", group: groupOutput,
			usage: "debug logs; plan and sync also list packs kept as they are",
			value: func(c *config) any { return &c.verbose }},
		{name: "mg-name", kind: kindString, env: "MPSYNC_MG_NAME", group: groupGroup,
			usage: "the management group's `NAME` [MPSYNC_MG_NAME]",
			value: func(c *config) any { return &c.mgName }},
		{name: "mg-version", kind: kindString, env: "MPSYNC_MG_VERSION", group: groupGroup,
			usage: "its 4-part Operations Manager `VERSION`, checked against the connection requirement [MPSYNC_MG_VERSION]",
			value: func(c *config) any { return &c.mgVersion }},
		{name: "language", kind: kindString, def: "ENU", env: "MPSYNC_LANGUAGE", group: groupGroup,
			usage: "its UI language `CODE` [MPSYNC_LANGUAGE]",
			value: func(c *config) any { return &c.language }},
		{name: "retries", kind: kindInt, def: "4", env: "MPSYNC_RETRIES", group: groupService,
			usage: "`N` retries of a failed request to the service (0: none) [MPSYNC_RETRIES]",
			value: func(c *config) any { return &c.retries }},

		{name: "all", kind: kindBool, def: "false", commands: []string{"approve"},
			usage: "approve every pending change",
			value: func(c *config) any { return &c.all }},
		{name: "by", kind: kindString, commands: []string{"approve"},
			usage: "who approves, `NAME` (default $USER, on Windows %USERNAME% when USER is not set)",
			value: func(c *config) any { return &c.by }},
		{name: "force", kind: kindBool, def: "false", commands: []string{"import"},
			usage: "take over a pack the workspace imported",
			value: func(c *config) any { return &c.force }},
		{name: "dir", kind: kindString, commands: []string{"serve-workspace"}, dirs: true,
			usage: "the workspace `DIR` (workspace.json and packs/*.xml)",
			value: func(c *config) any { return &c.dir }},
		{name: "addr", kind: kindString, def: "127.0.0.1:8080", commands: []string{"serve-workspace"},
			usage: "listen on `HOST:PORT` (port 0 picks one)",
			value: func(c *config) any { return &c.addr }},
		{name: "key-out", kind: kindString, commands: []string{"serve-workspace"}, files: true,
			usage: "write the workspace key to `FILE` (mode 0600) instead of printing it",
			value: func(c *config) any { return &c.keyOut }},
		{name: "enabled", kind: kindString, commands: []string{"override"}, complete: []string{"true", "false"},
			usage: "the rules' Enabled override: true or false",
			value: func(c *config) any { return &c.enabled }},
		{name: "frequency", kind: kindString, commands: []string{"override"},
			usage: "the rules' Frequency override in whole `SECONDS` (1 to 2147483647)",
			value: func(c *config) any { return &c.frequency }},
		{name: "pack", kind: kindString, commands: []string{"override"},
			usage: "the override pack's `ID` (default MPSync.Advisor.Overrides)",
			value: func(c *config) any { return &c.packID }},
		{name: "export", kind: kindString, commands: []string{"override"}, files: true,
			usage: "write the override pack from the store to `FILE`",
			value: func(c *config) any { return &c.export }},
		{name: "module", kind: kindString, commands: []string{"override"},
			usage: "the Module `ID` of a Frequency override (default the pack's existing one, else Scheduler)",
			value: func(c *config) any { return &c.module }},
		{name: "at", kind: kindString, commands: []string{"approval check"},
			usage: "check the windows at `TIME` (RFC 3339; default now)",
			value: func(c *config) any { return &c.at }},
		{name: "metrics-addr", kind: kindString, env: "MPSYNC_METRICS_ADDR", commands: []string{"run"},
			usage: "serve /metrics, /healthz and /readyz on `HOST:PORT` [MPSYNC_METRICS_ADDR]",
			value: func(c *config) any { return &c.metricsAddr }},
	}
}

// lookupFlag finds a flag of the table by its name or its one-letter form.
func lookupFlag(name string) (flagSpec, bool) {
	for _, s := range flagTable() {
		if s.name == name || (s.short != "" && s.short == name) {
			return s, true
		}
	}
	return flagSpec{}, false
}

// define adds the flag to fs, bound to its field of c.
func (s flagSpec) define(fs *pflag.FlagSet, c *config) {
	switch p := s.value(c).(type) {
	case *string:
		fs.StringVarP(p, s.name, s.short, s.def, s.usage)
	case *bool:
		fs.BoolVarP(p, s.name, s.short, s.def == "true", s.usage)
	case *time.Duration:
		d, err := time.ParseDuration(s.def)
		if err != nil {
			panic(fmt.Sprintf("flag --%s: default %q: %v", s.name, s.def, err))
		}
		fs.DurationVarP(p, s.name, s.short, d, s.usage)
	case *int:
		n, err := strconv.Atoi(s.def)
		if err != nil {
			panic(fmt.Sprintf("flag --%s: default %q: %v", s.name, s.def, err))
		}
		fs.IntVarP(p, s.name, s.short, n, s.usage)
	case *stringList:
		fs.VarP(p, s.name, s.short, s.usage)
	default:
		panic(fmt.Sprintf("flag --%s: unsupported value %T", s.name, p))
	}
}

// applyEnv sets the flag from its environment variable: a flag on the
// command line beats the variable, except for a list, which the variable
// extends. A malformed value is bad configuration even when the flag is
// given, as the command has always read it.
func (s flagSpec) applyEnv(f *pflag.Flag, c *config, getenv func(string) string) error {
	v := getenv(s.env)
	if s.env == "" || v == "" {
		return nil
	}
	switch s.kind {
	case kindBool:
		if _, err := strconv.ParseBool(v); err != nil {
			return usagef("environment variable %s=%q: want true or false", s.env, v)
		}
	case kindDuration:
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return usagef("%s %q is not a duration such as %s", s.env, v, s.envExample)
		}
	case kindInt:
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return usagef("environment variable %s=%q: want a whole number >= 0", s.env, v)
		}
	case kindList:
		list := s.value(c).(*stringList)
		var fromEnv stringList
		for _, p := range filepath.SplitList(v) {
			if p != "" {
				fromEnv = append(fromEnv, p)
			}
		}
		*list = append(fromEnv, *list...)
		return nil
	}
	if f.Changed {
		return nil
	}
	if err := f.Value.Set(v); err != nil {
		return usagef("environment variable %s=%q: %v", s.env, v, err)
	}
	return nil
}

// usageError is bad usage or bad configuration: exit code 2.
type usageError struct {
	msg string
	// shape is true for a mistake in the command line's shape (an unknown
	// flag or command, missing arguments): its error line points at --help.
	// A bad value or file says what to fix and needs no pointer.
	shape bool
	// cmd is the command the error line names, for errors found while the
	// command line is read ("" names the program alone).
	cmd string
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

// finish completes the configuration once the command line is read: it
// records which flags were given, applies the environment and checks what
// depends on more than one flag. fs holds the command's flags, path is the
// command's path ("approval check").
func (c *config) finish(fs *pflag.FlagSet, path string, getenv func(string) string) error {
	c.set = map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { c.set[f.Name] = true })
	for _, s := range flagTable() {
		f := fs.Lookup(s.name)
		if f == nil {
			continue // a flag of another command: its variable does not apply
		}
		if err := s.applyEnv(f, c, getenv); err != nil {
			return err
		}
	}
	// --approval and --approval-file (or their variables) both name the
	// approver: which one is meant cannot be told.
	if c.approvalFile != "" && (c.set["approval"] || getenv("MPSYNC_APPROVAL") != "") {
		return shapef("give --approval or --approval-file, not both (%s and %s)",
			source(c.set["approval"], "--approval", "MPSYNC_APPROVAL"), source(c.set["approval-file"], "--approval-file", "MPSYNC_APPROVAL_FILE"))
	}
	if c.retries < 0 {
		return usagef("flag --retries %d: want a whole number >= 0", c.retries)
	}
	share, err := parseShare(c.maxRemovalShare)
	if err != nil {
		if c.set["max-removal-share"] {
			return usagef("invalid value %q for flag --max-removal-share: %v", c.maxRemovalShare, err)
		}
		return usagef("environment variable MPSYNC_MAX_REMOVAL_SHARE=%q: %v", c.maxRemovalShare, err)
	}
	c.removalShare = share
	if err := c.checkCommandFlags(path); err != nil {
		err.(*usageError).cmd = firstWord(path)
		return err
	}
	return nil
}

// parseShare reads a share of the workspace's packs: a percentage ("50%")
// or a fraction ("0.5"), from 0 to 100%. Empty is the library's default.
func parseShare(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	t, pct := strings.CutSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("want a percentage such as 50% or a fraction such as 0.5")
	}
	if pct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, errors.New("want a share from 0% to 100%")
	}
	if v == 0 {
		// 0 would mean "the default" to the library; nothing may be removed
		// in bulk is what the operator asked for.
		v = math.SmallestNonzeroFloat64
	}
	return v, nil
}

// source says where a setting came from: the flag or the environment.
func source(onCommandLine bool, flagName, envName string) string {
	if onCommandLine {
		return flagName + " on the command line"
	}
	return envName + " in the environment"
}

// flagError rewrites pflag's messages into the command's words: "unknown
// flag --x", "flag --x needs a value", "invalid value "v" for flag --x: why",
// and, for a flag another command owns, which command that is. cmdPath is
// the command being read.
func flagError(cmdPath string, err error) error {
	var (
		notExist *pflag.NotExistError
		required *pflag.ValueRequiredError
		invalid  *pflag.InvalidValueError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &notExist):
		name := notExist.GetSpecifiedName()
		if name == "" {
			name = notExist.GetSpecifiedShortnames()
			if len(name) > 1 {
				name = name[:1]
			}
		}
		if s, ok := lookupFlag(name); ok && !s.global() && !slices.Contains(s.commands, cmdPath) {
			e := shapef("flag --%s applies only to the %s command", s.name, strings.Join(s.commands, ", "))
			e.(*usageError).cmd = firstWord(cmdPath)
			return e
		}
		return shapef("unknown flag %s", dashes(name))
	case errors.As(err, &required):
		return shapef("flag %s needs a value", dashes(required.GetFlag().Name))
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		why := err.Error()
		if u := errors.Unwrap(invalid); u != nil {
			why = u.Error()
		}
		if s, ok := lookupFlag(f.Name); ok {
			switch s.kind {
			case kindBool:
				why = "want true or false"
			case kindInt:
				why = "want a whole number"
			case kindDuration:
				why = "want a duration such as 30s, 10m or 0"
			}
		}
		// As the flag package's were, a malformed value on the command
		// line is reported with the pointer to the help.
		return shapef("invalid value %q for flag %s: %s", invalid.GetValue(), dashes(f.Name), why)
	case errors.As(err, &syntax):
		return shapef("bad flag syntax: %s", syntax.GetSpecifiedFlag())
	}
	return shapef("%s", err.Error())
}

// firstWord is the command of a command path ("approval check" ->
// "approval"), the name error lines and the dispatcher use.
func firstWord(path string) string {
	w, _, _ := strings.Cut(path, " ")
	return w
}

// dashes writes a flag name the way the help shows it: --name.
func dashes(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// checkCommandFlags refuses flags that belong to another command. path is
// the command's path ("approve", "approval check"); a flag of the table
// belongs to a command when the command or its parent owns it.
func (c *config) checkCommandFlags(path string) error {
	for _, s := range flagTable() {
		if !c.set[s.name] || s.global() {
			continue
		}
		ok := slices.ContainsFunc(s.commands, func(owner string) bool {
			return owner == path || firstWord(owner) == path
		})
		if !ok {
			return shapef("flag --%s applies only to the %s command", s.name, strings.Join(s.commands, ", "))
		}
	}
	return nil
}

// arrange prepares the command line for the parser. Flags may come before
// the command ("mpsync --json status" is "mpsync status --json", and a
// command's own flag may precede it: "mpsync --all approve"), and the
// command has always read -name as --name (Go's flag package): arrange
// moves the command's words (its path in tree) to the front and writes
// every flag with the dashes pflag expects. "--" ends the flags; what
// follows it stays as it is.
func arrange(args []string, tree map[string][]string) []string {
	var path, rest []string
	parent := "" // the command path found so far
	takesPath := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			tail := args[i+1:]
			for takesPath && len(tail) > 0 && slices.Contains(tree[parent], tail[0]) {
				path = append(path, tail[0])
				parent = strings.TrimSpace(parent + " " + tail[0])
				tail = tail[1:]
			}
			rest = append(append(rest, "--"), tail...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			norm := normalizeFlag(a)
			rest = append(rest, norm)
			name, _, hasValue := strings.Cut(strings.TrimLeft(norm, "-"), "=")
			if s, ok := lookupFlag(name); ok && s.kind != kindBool && !hasValue && i+1 < len(args) {
				rest = append(rest, args[i+1]) // the flag's value, whatever it looks like
				i++
			}
			continue
		}
		if takesPath && slices.Contains(tree[parent], a) {
			path = append(path, a)
			parent = strings.TrimSpace(parent + " " + a)
			continue
		}
		takesPath = false // the first argument: no command word follows
		rest = append(rest, a)
	}
	return append(path, rest...)
}

// normalizeFlag writes a flag as pflag reads it: --name for a name of
// several letters, -n for one letter, whichever dashes it was given with.
func normalizeFlag(a string) string {
	body := strings.TrimLeft(a, "-")
	name, _, _ := strings.Cut(body, "=")
	if body == "" {
		return a
	}
	if len([]rune(name)) == 1 {
		return "-" + body
	}
	return "--" + body
}
