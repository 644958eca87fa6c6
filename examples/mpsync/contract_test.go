package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The contract of docs/cli.md, written out here independently of the flag
// and command tables, so that a change to the tables that breaks a script
// fails a test: every flag name (before and after its command, --name=V,
// -name), every environment variable and its precedence, every exit code,
// the JSON field names and the help and completion commands.

// contractFlag is one flag of docs/cli.md: the command it is given to, a
// value, and what the configuration holds then.
type contractFlag struct {
	flag  string // without dashes
	cmd   []string
	value string // "" for a switch
	got   func(c *config) any
	want  any
}

func contractFlags() []contractFlag {
	dur := func(s string) time.Duration { d, _ := time.ParseDuration(s); return d }
	return []contractFlag{
		{"store", []string{"status"}, "/var/lib/mpsync", func(c *config) any { return c.store }, "/var/lib/mpsync"},
		{"workspace-url", []string{"status"}, "https://ws.example/", func(c *config) any { return c.workspaceURL }, "https://ws.example/"},
		{"workspace-id", []string{"status"}, "6f0c3a52", func(c *config) any { return c.workspaceID }, "6f0c3a52"},
		{"workspace-key-file", []string{"status"}, "/etc/mpsync/key", func(c *config) any { return c.workspaceKeyFile }, "/etc/mpsync/key"},
		{"proxy", []string{"sync"}, "http://corpproxy:80", func(c *config) any { return c.proxy }, "http://corpproxy:80"},
		{"proxy-user", []string{"sync"}, `CONTOSO\svc`, func(c *config) any { return c.proxyUser }, `CONTOSO\svc`},
		{"proxy-password-file", []string{"sync"}, "/etc/mpsync/pw", func(c *config) any { return c.proxyPasswordFile }, "/etc/mpsync/pw"},
		{"overrides", []string{"sync"}, "o.xml", func(c *config) any { return []string(c.overrides) }, []string{"o.xml"}},
		{"approval", []string{"sync"}, "window:0 2 * * SAT:4h:Europe/Berlin", func(c *config) any { return c.approval }, "window:0 2 * * SAT:4h:Europe/Berlin"},
		{"approval-file", []string{"run"}, "prod.yaml", func(c *config) any { return c.approvalFile }, "prod.yaml"},
		{"rule", []string{"plan"}, "MPUpdate", func(c *config) any { return c.rule }, "MPUpdate"},
		{"allow-http", []string{"plan"}, "", func(c *config) any { return c.allowHTTP }, true},
		{"json", []string{"status"}, "", func(c *config) any { return c.json }, true},
		{"verbose", []string{"plan"}, "", func(c *config) any { return c.verbose }, true},
		{"v", []string{"plan"}, "", func(c *config) any { return c.verbose }, true},
		{"platform", []string{"plan"}, "packs.csv", func(c *config) any { return c.platform }, "packs.csv"},
		{"lock-timeout", []string{"sync"}, "30s", func(c *config) any { return c.lockTimeout }, dur("30s")},
		{"database", []string{"status"}, "postgres://mpsync@db/mpsync", func(c *config) any { return c.database }, "postgres://mpsync@db/mpsync"},
		{"lease-ttl", []string{"run"}, "1m", func(c *config) any { return c.leaseTTL }, dur("1m")},
		{"mg-name", []string{"connect"}, "PROD", func(c *config) any { return c.mgName }, "PROD"},
		{"mg-version", []string{"connect"}, "7.2.11719.0", func(c *config) any { return c.mgVersion }, "7.2.11719.0"},
		{"language", []string{"connect"}, "DEU", func(c *config) any { return c.language }, "DEU"},
		{"retries", []string{"sync"}, "2", func(c *config) any { return c.retries }, 2},
		{"max-removal-share", []string{"sync"}, "75%", func(c *config) any { return c.removalShare }, 0.75},
		{"all", []string{"approve"}, "", func(c *config) any { return c.all }, true},
		{"by", []string{"approve"}, "alice", func(c *config) any { return c.by }, "alice"},
		{"force", []string{"import"}, "", func(c *config) any { return c.force }, true},
		{"enabled", []string{"override"}, "false", func(c *config) any { return c.enabled }, "false"},
		{"frequency", []string{"override"}, "3600", func(c *config) any { return c.frequency }, "3600"},
		{"pack", []string{"override"}, "Contoso.Overrides", func(c *config) any { return c.packID }, "Contoso.Overrides"},
		{"module", []string{"override"}, "Scheduler", func(c *config) any { return c.module }, "Scheduler"},
		{"export", []string{"override"}, "out.xml", func(c *config) any { return c.export }, "out.xml"},
		{"metrics-addr", []string{"run"}, "127.0.0.1:9410", func(c *config) any { return c.metricsAddr }, "127.0.0.1:9410"},
		{"at", []string{"approval", "check"}, "2026-06-03T12:00:00Z", func(c *config) any { return c.at }, "2026-06-03T12:00:00Z"},
		{"dir", []string{"serve-workspace"}, "testdata/workspace", func(c *config) any { return c.dir }, "testdata/workspace"},
		{"addr", []string{"serve-workspace"}, "127.0.0.1:0", func(c *config) any { return c.addr }, "127.0.0.1:0"},
		{"key-out", []string{"serve-workspace"}, "/tmp/ws.key", func(c *config) any { return c.keyOut }, "/tmp/ws.key"},
	}
}

func TestContractFlags(t *testing.T) {
	for _, tc := range contractFlags() {
		dash := "--"
		if len(tc.flag) == 1 {
			dash = "-"
		}
		flag := []string{dash + tc.flag}
		if tc.value != "" {
			flag = append(flag, tc.value)
		}
		forms := map[string][]string{
			"after the command":  append(slices.Clone(tc.cmd), flag...),
			"before the command": append(slices.Clone(flag), tc.cmd...),
		}
		if tc.value != "" {
			forms["--name=value"] = append(slices.Clone(tc.cmd), dash+tc.flag+"="+tc.value)
			if len(tc.flag) > 1 {
				forms["-name value, as Go's flag package reads it"] = append(slices.Clone(tc.cmd), "-"+tc.flag, tc.value)
			}
		}
		if len(tc.cmd) == 2 {
			forms["between the command's words"] = append(append([]string{tc.cmd[0]}, flag...), tc.cmd[1])
		}
		for name, args := range forms {
			t.Run(tc.flag+"/"+name, func(t *testing.T) {
				c, pos, err := parseArgs(args, noEnv)
				require.NoError(t, err, "%v", args)
				assert.Equal(t, tc.cmd, pos)
				assert.Equal(t, tc.want, tc.got(c))
				want := tc.flag
				if want == "v" {
					want = "verbose"
				}
				assert.True(t, c.set[want], "the flag counts as given")
			})
		}
	}
}

// TestContractCommandFlagsElsewhere: a command's own flag on another
// command is bad usage naming the command it belongs to.
func TestContractCommandFlagsElsewhere(t *testing.T) {
	for _, tc := range contractFlags() {
		if _, ok := lookupFlag(tc.flag); !ok {
			t.Fatalf("--%s is not in the flag table", tc.flag)
		}
		s, _ := lookupFlag(tc.flag)
		if s.global() {
			continue
		}
		other := []string{"status"}
		args := append(slices.Clone(other), "--"+tc.flag)
		if tc.value != "" {
			args = append(args, tc.value)
		}
		_, _, err := parseArgs(args, noEnv)
		require.Error(t, err, "%v", args)
		assert.Equal(t, exitUsage, exitCode(err))
		assert.Contains(t, err.Error(), "--"+tc.flag+" applies only to the "+strings.Join(tc.cmd, " ")+" command")
	}
}

// contractEnv is one environment variable of docs/cli.md.
type contractEnv struct {
	env, value string
	cmd        []string
	flag       []string // the same setting on the command line, which wins
	got        func(c *config) any
	want       any // from the variable
	wantFlag   any // with the flag given as well
}

func TestContractEnvironment(t *testing.T) {
	tests := []contractEnv{
		{"MPSYNC_STORE", "/var/lib/mpsync", []string{"status"}, []string{"--store", "mine"}, func(c *config) any { return c.store }, "/var/lib/mpsync", "mine"},
		{"MPSYNC_WORKSPACE_URL", "https://ws/", []string{"plan"}, []string{"--workspace-url", "https://flag/"}, func(c *config) any { return c.workspaceURL }, "https://ws/", "https://flag/"},
		{"MPSYNC_WORKSPACE_ID", "id-env", []string{"plan"}, []string{"--workspace-id", "id-flag"}, func(c *config) any { return c.workspaceID }, "id-env", "id-flag"},
		{"MPSYNC_WORKSPACE_KEY_FILE", "/k", []string{"plan"}, []string{"--workspace-key-file", "/f"}, func(c *config) any { return c.workspaceKeyFile }, "/k", "/f"},
		{"MPSYNC_PROXY", "http://p:80", []string{"plan"}, []string{"--proxy", "http://q:80"}, func(c *config) any { return c.proxy }, "http://p:80", "http://q:80"},
		{"MPSYNC_PROXY_USER", "u", []string{"plan"}, []string{"--proxy-user", "v"}, func(c *config) any { return c.proxyUser }, "u", "v"},
		{"MPSYNC_PROXY_PASSWORD_FILE", "/pw", []string{"plan"}, []string{"--proxy-password-file", "/qw"}, func(c *config) any { return c.proxyPasswordFile }, "/pw", "/qw"},
		{"MPSYNC_PLATFORM", "a.csv", []string{"plan"}, []string{"--platform", "b.csv"}, func(c *config) any { return c.platform }, "a.csv", "b.csv"},
		{"MPSYNC_DATABASE", "postgres://a", []string{"status"}, []string{"--database", "postgres://b"}, func(c *config) any { return c.database }, "postgres://a", "postgres://b"},
		{"MPSYNC_LEASE_TTL", "1m", []string{"run"}, []string{"--lease-ttl", "2m"}, func(c *config) any { return c.leaseTTL }, time.Minute, 2 * time.Minute},
		{"MPSYNC_LOCK_TIMEOUT", "0", []string{"sync"}, []string{"--lock-timeout", "5s"}, func(c *config) any { return c.lockTimeout }, time.Duration(0), 5 * time.Second},
		{"MPSYNC_APPROVAL", "manual", []string{"sync"}, []string{"--approval", "freeze"}, func(c *config) any { return c.approval }, "manual", "freeze"},
		{"MPSYNC_APPROVAL_FILE", "a.yaml", []string{"sync"}, []string{"--approval-file", "b.yaml"}, func(c *config) any { return c.approvalFile }, "a.yaml", "b.yaml"},
		{"MPSYNC_RULE", "MPUpdate", []string{"plan"}, []string{"--rule", "all"}, func(c *config) any { return c.rule }, "MPUpdate", "all"},
		{"MPSYNC_ALLOW_HTTP", "true", []string{"plan"}, []string{"--allow-http=false"}, func(c *config) any { return c.allowHTTP }, true, false},
		{"MPSYNC_MG_NAME", "QA", []string{"connect"}, []string{"--mg-name", "PROD"}, func(c *config) any { return c.mgName }, "QA", "PROD"},
		{"MPSYNC_MG_VERSION", "7.1.10226.1239", []string{"connect"}, []string{"--mg-version", "7.2.11719.0"}, func(c *config) any { return c.mgVersion }, "7.1.10226.1239", "7.2.11719.0"},
		{"MPSYNC_LANGUAGE", "DEU", []string{"connect"}, []string{"--language", "FRA"}, func(c *config) any { return c.language }, "DEU", "FRA"},
		{"MPSYNC_RETRIES", "0", []string{"sync"}, []string{"--retries", "3"}, func(c *config) any { return c.retries }, 0, 3},
		{"MPSYNC_MAX_REMOVAL_SHARE", "1", []string{"run"}, []string{"--max-removal-share", "0.25"}, func(c *config) any { return c.removalShare }, 1.0, 0.25},
		{"MPSYNC_METRICS_ADDR", "127.0.0.1:9410", []string{"run"}, []string{"--metrics-addr", "127.0.0.1:9411"}, func(c *config) any { return c.metricsAddr }, "127.0.0.1:9410", "127.0.0.1:9411"},
		// A path list that the flags extend rather than replace.
		{"MPSYNC_OVERRIDES", "a.xml" + string(os.PathListSeparator) + "b.xml", []string{"sync"}, []string{"--overrides", "c.xml"},
			func(c *config) any { return []string(c.overrides) }, []string{"a.xml", "b.xml"}, []string{"a.xml", "b.xml", "c.xml"}},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tc.env {
					return tc.value
				}
				return ""
			}
			c, pos, err := parseArgs(tc.cmd, getenv)
			require.NoError(t, err)
			assert.Equal(t, tc.cmd, pos)
			assert.Equal(t, tc.want, tc.got(c), "from the environment")
			if tc.env == "MPSYNC_APPROVAL" || tc.env == "MPSYNC_APPROVAL_FILE" {
				return // given with the other one it is bad usage (TestContractExitCodes)
			}
			for _, args := range [][]string{append(slices.Clone(tc.flag), tc.cmd...), append(slices.Clone(tc.cmd), tc.flag...)} {
				c, _, err = parseArgs(args, getenv)
				require.NoError(t, err, "%v", args)
				assert.Equal(t, tc.wantFlag, tc.got(c), "the flag beats the environment: %v", args)
			}
		})
	}
}

// TestContractExitCodes runs the command for every kind of outcome
// docs/cli.md gives an exit code, with and without --json.
func TestContractExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())
	key := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(key, []byte("a2V5\n"), 0o600))
	policy := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("policy:\n  frobnicate: {}\n"), 0o600))
	service := []string{"--store", store, "--workspace-url", closed, "--allow-http", "--workspace-id", "ws", "--workspace-key-file", key, "--retries", "0"}

	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string // in the error line; "" for success
	}{
		{"help", nil, []string{"--help"}, 0, ""},
		{"help command", nil, []string{"help", "sync"}, 0, ""},
		{"command --help", nil, []string{"sync", "--help"}, 0, ""},
		{"completion", nil, []string{"completion", "bash"}, 0, ""},
		{"no command", nil, []string{}, 2, "no command given"},
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown help topic", nil, []string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown completion shell", nil, []string{"completion", "frobnicate"}, 2, "frobnicate"},
		{"unknown flag", nil, []string{"status", "--frobnicate"}, 2, "unknown flag --frobnicate"},
		{"unknown flag before the command", nil, []string{"--frobnicate", "status"}, 2, "unknown flag --frobnicate"},
		{"unknown short flag", nil, []string{"status", "-x"}, 2, "unknown flag -x"},
		{"flag without its value", nil, []string{"status", "--store"}, 2, "flag --store needs a value"},
		{"malformed flag value", nil, []string{"status", "--lock-timeout", "soon"}, 2, `invalid value "soon" for flag --lock-timeout`},
		{"flag of another command", nil, []string{"status", "--force"}, 2, "mpsync status: flag --force applies only to the import command"},
		{"argument to a command without", nil, []string{"status", "extra"}, 2, `mpsync status: unexpected argument "extra"`},
		{"malformed variable", []string{"MPSYNC_LOCK_TIMEOUT=soon"}, []string{"status"}, 2, "MPSYNC_LOCK_TIMEOUT"},
		{"malformed switch variable", []string{"MPSYNC_ALLOW_HTTP=maybe"}, []string{"status"}, 2, "MPSYNC_ALLOW_HTTP"},
		{"malformed retries variable", []string{"MPSYNC_RETRIES=-1"}, []string{"status"}, 2, "MPSYNC_RETRIES"},
		{"approval and approval file", []string{"MPSYNC_APPROVAL=manual"}, []string{"sync", "--approval-file", policy}, 2, "not both"},
		{"invalid approval", nil, []string{"sync", "--approval", "sometimes"}, 2, "--approval"},
		// Regression: robfig/cron panicked on a zone prefix alone (the command died with a stack trace).
		{"approval window of a zone alone", nil, []string{"sync", "--approval", "window:TZ=:1h"}, 2, "a time zone prefix needs a schedule after it"},
		{"invalid approval file", nil, []string{"approval", "check", policy}, 2, "frobnicate"},
		{"malformed mg-version", nil, []string{"connect", "--mg-version", "7.x"}, 2, "--mg-version"},
		{"malformed metrics address", nil, []string{"run", "--metrics-addr", "nonsense"}, 2, "--metrics-addr"},
		{"unreadable key file", nil, append(slices.Clone(service), "sync", "--workspace-key-file", filepath.Join(dir, "none")), 2, "--workspace-key-file"},
		{"service unreachable", nil, append(slices.Clone(service), "sync"), 1, ln.Addr().String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.code == 2 && !slices.Contains(args, "--store") {
				args = append([]string{"--store", store}, args...)
			}
			r := runCLI(t, cleanEnv(tc.env...), args...)
			assert.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			if tc.code == 0 {
				assert.NotEmpty(t, r.stdout)
				assert.Empty(t, r.stderr)
				return
			}
			line := oneLineErr(t, r.stderr)
			assert.Contains(t, line, tc.want)

			// --json first: after "--store" it would be the store's name.
			r = runCLI(t, cleanEnv(tc.env...), append([]string{"--json"}, args...)...)
			assert.Equal(t, tc.code, r.code)
			var doc map[string]json.RawMessage
			oneJSON(t, r.stdout, &doc)
			var msg string
			require.NoError(t, json.Unmarshal(doc["error"], &msg), "stdout: %s", r.stdout)
			assert.Equal(t, oneLineErr(t, r.stderr), msg, "the document holds the error line")
		})
	}
}

// TestContractErrorDocument: a command that fails before it has a document
// writes {"error", "exitCode"}, exactly those keys.
func TestContractErrorDocument(t *testing.T) {
	t.Parallel()
	r := runCLI(t, cleanEnv(), "status", "--frobnicate", "--json")
	assert.Equal(t, 2, r.code)
	var doc map[string]json.RawMessage
	oneJSON(t, r.stdout, &doc)
	assert.Equal(t, []string{"error", "exitCode"}, keys(doc))
	assert.JSONEq(t, "2", string(doc["exitCode"]))
}

// TestContractJSONFields checks the field names docs/cli.md gives the
// documents of sync, status and approval check.
func TestContractJSONFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "sync", "--json")
	var syncDoc map[string]json.RawMessage
	oneJSON(t, r.stdout, &syncDoc)
	assert.Subset(t, keys(syncDoc), []string{"workspaceId", "changes"})
	var changes []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(syncDoc["changes"], &changes))
	require.NotEmpty(t, changes)
	for _, c := range changes {
		assert.Subset(t, keys(c), []string{"id", "rule", "action", "pack", "from", "to", "solution", "reason", "result", "error"})
	}

	r = f.mustOK(t, "status", "--json")
	var st map[string]json.RawMessage
	oneJSON(t, r.stdout, &st)
	assert.Subset(t, keys(st), []string{"workspaceId", "packs", "rules", "pending", "workspace", "connection", "overrides", "corruptRecords"})
	sub := func(raw json.RawMessage, want ...string) {
		t.Helper()
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err == nil {
			require.NotEmpty(t, list)
			for _, m := range list {
				assert.Subset(t, keys(m), want)
			}
			return
		}
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &m))
		assert.Subset(t, keys(m), want)
	}
	sub(st["packs"], "id", "version", "owner", "rule", "solution", "sha256", "importedAt")
	sub(st["rules"], "id", "enabled", "frequencySeconds", "lastRun", "lastResult", "nextRun")
	sub(st["workspace"], "reachable", "lastCatalogSerial", "lastError")
	sub(st["connection"], "state", "workspaceId", "managementGroup", "since", "requirementChecked", "requirement")
	sub(st["overrides"], "packs", "warnings", "error")

	policy := filepath.Join(f.dir, "p.yaml")
	require.NoError(t, os.WriteFile(policy, []byte("policy:\n  window:\n    allow:\n      - {cron: \"0 2 * * SAT\", duration: 4h}\n"), 0o600))
	r = runCLI(t, cleanEnv(), "approval", "check", policy, "--at", "2026-06-03T12:00:00Z", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var pc map[string]json.RawMessage
	oneJSON(t, r.stdout, &pc)
	assert.Subset(t, keys(pc), []string{"file", "version", "at", "approver", "policy", "windows", "notes"})
	sub(pc["policy"], "kind", "field", "line", "approver")
	sub(pc["windows"], "field", "line", "open", "nextOpen")
}

// TestPerCommandHelp: "mpsync help X" and "mpsync X --help" print the same
// text, the command's usage first, with its own flags and only the global
// flags that apply to it.
func TestPerCommandHelp(t *testing.T) {
	for _, spec := range commandTable() {
		t.Run(spec.path, func(t *testing.T) {
			words := strings.Fields(spec.path)
			help, err := runInProcess(append([]string{"help"}, words...))
			require.NoError(t, err)
			flag, err := runInProcess(append(slices.Clone(words), "--help"))
			require.NoError(t, err)
			short, err := runInProcess(append([]string{"-h"}, words...))
			require.NoError(t, err)
			assert.Equal(t, help, flag)
			assert.Equal(t, help, short, "-h before the command")
			assert.True(t, strings.HasPrefix(help, "mpsync "+words[0]), help)
			for _, s := range flagTable() {
				own := slices.Contains(s.commands, spec.path) ||
					(len(words) == 1 && slices.ContainsFunc(s.commands, func(c string) bool { return firstWord(c) == spec.path }))
				applies := own || (s.global() && slices.Contains(spec.globals, s.group))
				if applies {
					assert.Contains(t, help, "--"+s.name+" ", "the help of %s lists --%s", spec.path, s.name)
				} else {
					assert.NotContains(t, help, "\n      --"+s.name+" ", "the help of %s does not list --%s", spec.path, s.name)
				}
			}
		})
	}
	root, err := runInProcess([]string{"help"})
	require.NoError(t, err)
	assert.Equal(t, usageText, root)
	for _, s := range flagTable() {
		assert.Contains(t, usageText, "--"+s.name, "the usage text documents --%s", s.name)
		if s.env != "" {
			assert.Contains(t, usageText, s.env, "the usage text documents %s", s.env)
		}
	}
	for _, c := range commandTable() {
		assert.Contains(t, usageText, "\n  "+c.path, "the usage text lists %s", c.path)
	}
}

// runInProcess runs the command in this process with no environment and
// returns its stdout; a non-zero exit is an error holding stderr.
func runInProcess(args []string) (string, error) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), args, &stdout, &stderr, noEnv, false); code != exitOK {
		return stdout.String(), &usageError{msg: stderr.String()}
	}
	return stdout.String(), nil
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	scripts := map[string]*regexp.Regexp{
		"bash":       regexp.MustCompile(`__start_mpsync`),
		"zsh":        regexp.MustCompile(`#compdef mpsync`),
		"fish":       regexp.MustCompile(`complete -c mpsync`),
		"powershell": regexp.MustCompile(`Register-ArgumentCompleter`),
	}
	for shell, want := range scripts {
		r := runCLI(t, cleanEnv(), "completion", shell)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, want, r.stdout, shell)
	}

	// What the scripts ask the command: commands, flags, flag values.
	complete := func(args ...string) []string {
		t.Helper()
		r := runCLI(t, cleanEnv(), append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, r.code, r.stderr)
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if !strings.HasPrefix(line, ":") {
				name, _, _ := strings.Cut(line, "\t")
				out = append(out, name)
			}
		}
		return out
	}
	assert.Subset(t, complete("sy"), []string{"sync"})
	assert.Subset(t, complete("--json", "st"), []string{"status"}, "after a global flag")
	assert.Subset(t, complete("approval", ""), []string{"check"})
	assert.Subset(t, complete("sync", "--rule", ""), []string{"all", "MPUpdate", "GetIntelligencePacks"})
	assert.Subset(t, complete("override", "--enabled", ""), []string{"true", "false"})
	assert.Subset(t, complete("approve", "--"), []string{"--all", "--by", "--store", "--json"})
	assert.NotContains(t, complete("sync", "--"), "--all", "a flag of approve is not offered to sync")
	assert.Subset(t, complete("help", "ser"), []string{"serve-workspace"})
}

// TestContractAgainstSharedCLI adds the flag names and variables of the
// team's copy of the contract, when it is there.
func TestContractAgainstSharedCLI(t *testing.T) {
	b, err := os.ReadFile("../../../shared/CLI.md")
	if err != nil {
		t.Skip("../shared/CLI.md is not there:", err)
	}
	text := string(b)
	for _, m := range regexp.MustCompile("`--([a-z][a-z-]*)").FindAllStringSubmatch(text, -1) {
		_, ok := lookupFlag(m[1])
		assert.True(t, ok, "--%s of CLI.md is a flag", m[1])
	}
	envs := map[string]bool{}
	for _, s := range flagTable() {
		envs[s.env] = true
	}
	for _, m := range regexp.MustCompile(`MPSYNC_[A-Z_]+`).FindAllString(text, -1) {
		assert.True(t, envs[m], "%s of CLI.md sets a flag", m)
	}
	commands, _, _ := strings.Cut(text[strings.Index(text, "## Commands"):], "\n## JSON")
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)[ `]").FindAllStringSubmatch(commands, -1) {
		if strings.HasPrefix(m[1], "-") {
			continue
		}
		assert.Contains(t, commandTree(newRoot(&parsed{cfg: &config{}}, noEnv))[""], m[1], "the command %s of CLI.md", m[1])
	}
}
