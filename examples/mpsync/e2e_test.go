package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/pgtest"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/store"
)

// The end-to-end tests run the command as a user would: the binary is built
// once in TestMain and run against the fake workspace server (loopback, in
// this process) with its own store directory per test.

// binary is the command built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mpsync-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdir temp:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "mpsync")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared() // the database tests' server, if one started
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	workspaceDir = "../../testdata/workspace"
	overridesDir = "../../testdata/overrides"
	advisorID    = "Microsoft.SystemCenter.Advisor"
	resourcesID  = "Microsoft.SystemCenter.Advisor.Resources.ENU"
	alertID      = "Microsoft.IntelligencePacks.AlertManagement"
)

// cliResult is what one run of the command produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cleanEnv is the test process's environment without MPSYNC_* variables,
// so that the developer's settings do not leak into the tests.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MPSYNC_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runCLI runs the command with args and the given environment.
func runCLI(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "run %v: %v", args, err)
		code = ee.ExitCode()
	}
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// fixture is a fake workspace served from testdata/workspace and a store.
type fixture struct {
	srv     *mpsynctest.Server
	store   string
	keyFile string
	dir     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	opts, err := mpsynctest.LoadDir(workspaceDir)
	require.NoError(t, err)
	srv := mpsynctest.NewServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f := &fixture{srv: srv, store: filepath.Join(dir, "store"), keyFile: filepath.Join(dir, "key"), dir: dir}
	require.NoError(t, os.WriteFile(f.keyFile, []byte(srv.Key()+"\n"), 0o600))
	return f
}

// args returns the flags that point the command at the fixture, then extra.
func (f *fixture) args(extra ...string) []string {
	return append([]string{
		"--store", f.store, "--workspace-url", f.srv.URL(), "--allow-http",
		"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", f.keyFile, "--retries", "0",
	}, extra...)
}

func (f *fixture) run(t *testing.T, extra ...string) cliResult {
	t.Helper()
	return runCLI(t, cleanEnv("USER=tester"), f.args(extra...)...)
}

// mustOK runs the command and requires exit 0.
func (f *fixture) mustOK(t *testing.T, extra ...string) cliResult {
	t.Helper()
	r := f.run(t, extra...)
	require.Equal(t, 0, r.code, "mpsync %v\nstdout: %s\nstderr: %s", extra, r.stdout, r.stderr)
	return r
}

// oneJSON requires s to hold exactly one JSON document and decodes it into v.
func oneJSON(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	require.NoError(t, dec.Decode(v), "stdout: %s", s)
	var extra json.RawMessage
	require.ErrorIs(t, dec.Decode(&extra), io.EOF, "stdout holds more than one JSON document: %s", s)
}

// oneLineErr requires stderr to be exactly one line starting with
// "mpsync" and returns it.
func oneLineErr(t *testing.T, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	require.Len(t, lines, 1, "stderr must be one line: %q", stderr)
	require.True(t, strings.HasPrefix(lines[0], "mpsync"), "stderr: %q", stderr)
	return lines[0]
}

// The exact shapes of docs/cli.md, decoded with these field names.
type planOut struct {
	WorkspaceID string `json:"workspaceId"`
	Changes     []struct {
		ID       string `json:"id"`
		Rule     string `json:"rule"`
		Action   string `json:"action"`
		Pack     string `json:"pack"`
		From     string `json:"from"`
		To       string `json:"to"`
		Solution string `json:"solution"`
		Reason   string `json:"reason"`
		Result   string `json:"result"`
		Error    string `json:"error"`
	} `json:"changes"`
	Error string `json:"error"`
}

type statusOut struct {
	WorkspaceID string `json:"workspaceId"`
	Packs       []struct {
		ID         string `json:"id"`
		Version    string `json:"version"`
		Owner      string `json:"owner"`
		Rule       string `json:"rule"`
		Solution   string `json:"solution"`
		SHA256     string `json:"sha256"`
		ImportedAt string `json:"importedAt"`
	} `json:"packs"`
	Rules []struct {
		ID               string `json:"id"`
		Enabled          bool   `json:"enabled"`
		FrequencySeconds int64  `json:"frequencySeconds"`
		LastRun          string `json:"lastRun"`
		LastResult       string `json:"lastResult"`
		NextRun          string `json:"nextRun"`
	} `json:"rules"`
	Pending []struct {
		ID     string `json:"id"`
		Pack   string `json:"pack"`
		To     string `json:"to"`
		Action string `json:"action"`
	} `json:"pending"`
	Workspace struct {
		Reachable         bool   `json:"reachable"`
		LastCatalogSerial int64  `json:"lastCatalogSerial"`
		LastError         string `json:"lastError"`
	} `json:"workspace"`
	Connection struct {
		State           string `json:"state"`
		WorkspaceID     string `json:"workspaceId"`
		ManagementGroup struct {
			Name     string `json:"name"`
			Version  string `json:"version"`
			Language string `json:"language"`
		} `json:"managementGroup"`
		Since string `json:"since"`
	} `json:"connection"`
}

func (f *fixture) status(t *testing.T, extra ...string) statusOut {
	t.Helper()
	r := f.mustOK(t, append([]string{"status", "--json"}, extra...)...)
	var st statusOut
	oneJSON(t, r.stdout, &st)
	return st
}

// packs returns id -> "version owner" of the store, as status reports it.
func (f *fixture) packs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range f.status(t).Packs {
		out[p.ID] = p.Version + " " + p.Owner
	}
	return out
}

func changeFor(t *testing.T, p planOut, pack string) (id, action, result string) {
	t.Helper()
	for _, c := range p.Changes {
		if c.Pack == pack {
			return c.ID, c.Action, c.Result
		}
	}
	t.Fatalf("no change for %s in %+v", pack, p.Changes)
	return "", "", ""
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var changeIDPattern = regexp.MustCompile(`^chg-[0-9a-f]+$`)

func TestPlanJSONShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "plan", "--json")
	assert.Empty(t, r.stderr)
	var p planOut
	oneJSON(t, r.stdout, &p)
	assert.Equal(t, f.srv.WorkspaceID(), p.WorkspaceID)
	require.Len(t, p.Changes, 6, "3 base packs and the packs of the 2 enabled solutions")

	order := map[string]int{}
	for i, c := range p.Changes {
		order[c.Pack] = i
		assert.Regexp(t, changeIDPattern, c.ID)
		assert.Equal(t, "import", c.Action)
		assert.Empty(t, c.From, "an import has no from version")
		assert.NotEmpty(t, c.To)
		assert.NotEmpty(t, c.Reason)
		assert.Empty(t, c.Result, "plan applies nothing")
		assert.Empty(t, c.Error)
		if strings.HasPrefix(c.Pack, "Microsoft.IntelligencePacks.") {
			assert.Equal(t, "Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule", c.Rule)
			assert.NotEmpty(t, c.Solution)
		} else {
			assert.Equal(t, "Microsoft.SystemCenter.Advisor.MPUpdate", c.Rule)
			assert.Empty(t, c.Solution)
		}
	}
	assert.Less(t, order[advisorID], order[alertID], "references are imported first")
	assert.NotContains(t, order, "Microsoft.IntelligencePacks.ChangeTracking", "a disabled solution is not wanted")

	// The raw keys are exactly docs/cli.md's (plus the documented additions).
	var raw struct {
		Changes []map[string]json.RawMessage `json:"changes"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	for _, c := range raw.Changes {
		for _, k := range []string{"id", "rule", "action", "pack", "from", "to", "solution", "reason", "result", "error"} {
			assert.Contains(t, keys(c), k)
		}
	}
	assert.Empty(t, f.packs(t), "plan changes nothing")
}

func TestSyncJSONResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "sync", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	require.Len(t, p.Changes, 6)
	for _, c := range p.Changes {
		assert.Equal(t, "applied", c.Result, "%s: %s %s", c.Pack, c.Reason, c.Error)
	}
	assert.Len(t, f.packs(t), 6)

	// Nothing left to do: keep entries are left out unless --verbose.
	r = f.mustOK(t, "sync", "--json")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	assert.Empty(t, p.Changes)
	r = f.mustOK(t, "sync", "--json", "--verbose")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	require.Len(t, p.Changes, 6)
	assert.Equal(t, "keep", p.Changes[0].Action)

	// --rule selects one rule.
	f.srv.Publish(alertID, "7.2.11720.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11720.0"))
	r = f.mustOK(t, "--rule", "MPUpdate", "sync", "--json")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	assert.Empty(t, p.Changes, "MPUpdate does not keep solution packs")
	r = f.mustOK(t, "sync", "--json", "--rule", "GetIntelligencePacks")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	require.Len(t, p.Changes, 1)
	assert.Equal(t, "upgrade", p.Changes[0].Action)
	assert.Equal(t, "7.2.11719.0", p.Changes[0].From)
	assert.Equal(t, "7.2.11720.0", p.Changes[0].To)
	assert.Equal(t, "applied", p.Changes[0].Result)
}

func TestStatusJSONShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st := f.status(t)
	assert.Equal(t, "never", st.Connection.State)
	assert.Empty(t, st.Packs)
	assert.NotNil(t, st.Pending)

	f.mustOK(t, "--mg-name", "MG1", "sync")
	r := f.mustOK(t, "status", "--json", "--mg-name", "MG1")
	oneJSON(t, r.stdout, &st)
	assert.Equal(t, f.srv.WorkspaceID(), st.WorkspaceID)
	require.Len(t, st.Packs, 6)
	for _, p := range st.Packs {
		assert.Equal(t, "workspace", p.Owner)
		assert.Regexp(t, `^[0-9a-f]{64}$`, p.SHA256)
		_, err := time.Parse(time.RFC3339, p.ImportedAt)
		assert.NoError(t, err)
		assert.NotEmpty(t, p.Rule)
	}
	require.Len(t, st.Rules, 2)
	assert.Equal(t, "Microsoft.SystemCenter.Advisor.MPUpdate", st.Rules[0].ID)
	assert.Equal(t, int64(43200), st.Rules[0].FrequencySeconds)
	assert.Equal(t, int64(300), st.Rules[1].FrequencySeconds)
	for _, rl := range st.Rules {
		assert.True(t, rl.Enabled)
		assert.Equal(t, "ok", rl.LastResult)
		_, err := time.Parse(time.RFC3339, rl.LastRun)
		assert.NoError(t, err)
		_, err = time.Parse(time.RFC3339, rl.NextRun)
		assert.NoError(t, err)
	}
	assert.True(t, st.Workspace.Reachable)
	assert.Equal(t, int64(1), st.Workspace.LastCatalogSerial)
	assert.Equal(t, "connected", st.Connection.State)
	assert.Equal(t, f.srv.WorkspaceID(), st.Connection.WorkspaceID)
	assert.Equal(t, "MG1", st.Connection.ManagementGroup.Name)
	assert.Equal(t, "ENU", st.Connection.ManagementGroup.Language)
	_, err := time.Parse(time.RFC3339, st.Connection.Since)
	assert.NoError(t, err)

	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	for _, k := range []string{"workspaceId", "packs", "rules", "pending", "workspace", "connection"} {
		assert.Contains(t, keys(raw), k)
	}
	var conn map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw["connection"], &conn))
	for _, k := range []string{"state", "workspaceId", "managementGroup", "since"} {
		assert.Contains(t, keys(conn), k)
	}

	// An override pack changes the effective settings status reports.
	r = f.mustOK(t, "status", "--json", "--overrides", filepath.Join(overridesDir, "gip-hourly.xml"))
	st = statusOut{}
	oneJSON(t, r.stdout, &st)
	assert.Equal(t, int64(3600), st.Rules[1].FrequencySeconds)

	// With the service down, status still works from local state and says so.
	f.srv.Close()
	r = f.mustOK(t, "status", "--json")
	st = statusOut{}
	oneJSON(t, r.stdout, &st)
	assert.False(t, st.Workspace.Reachable)
	assert.NotEmpty(t, st.Workspace.LastError)
	assert.Len(t, st.Packs, 6)
	r = f.mustOK(t, "status")
	assert.Contains(t, r.stdout, "UNREACHABLE")

	// A sync then works from the last-known catalog, removes nothing, and
	// exits 1: the catalog could not be fetched.
	r = f.run(t, "sync", "--json")
	assert.Equal(t, 1, r.code)
	var p struct {
		Stale bool   `json:"stale"`
		Error string `json:"error"`
	}
	oneJSON(t, r.stdout, &p)
	assert.True(t, p.Stale)
	assert.Contains(t, p.Error, "catalog could not be fetched")
	assert.Contains(t, oneLineErr(t, r.stderr), "last-known catalog")
	assert.Len(t, f.packs(t), 6)
}

func TestManualApproval(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "--approval", "manual", "sync", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	advisorChange, _, result := changeFor(t, p, advisorID)
	assert.Equal(t, "pending", result)
	assert.Empty(t, f.packs(t), "nothing applied without approval")

	st := f.status(t)
	var pending []string
	for _, c := range st.Pending {
		pending = append(pending, c.ID)
	}
	assert.Contains(t, pending, advisorChange)

	r = f.mustOK(t, "approve", advisorChange, "--json")
	var ad approveDoc
	oneJSON(t, r.stdout, &ad)
	assert.Equal(t, []string{advisorChange}, ad.Approved)

	r = f.mustOK(t, "--approval", "manual", "sync", "--json")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	_, _, result = changeFor(t, p, advisorID)
	assert.Equal(t, "applied", result)
	alertChange, _, result := changeFor(t, p, alertID)
	assert.Equal(t, "pending", result)

	// An approval given before the catalog changed does not apply.
	f.mustOK(t, "approve", alertChange)
	f.srv.Publish(alertID, "7.2.11720.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11720.0"))
	r = f.mustOK(t, "--approval", "manual", "sync", "--json")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	newChange, _, result := changeFor(t, p, alertID)
	assert.Equal(t, "pending", result)
	assert.NotEqual(t, alertChange, newChange)
	assert.NotContains(t, f.packs(t), alertID)

	r = f.run(t, "approve", alertChange)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), alertChange)

	// --all approves what waits.
	f.mustOK(t, "approve", "--all")
	f.mustOK(t, "--approval", "manual", "sync")
	assert.Equal(t, "7.2.11720.0 workspace", f.packs(t)[alertID])
}

func TestApproveChangeFromPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "plan", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	id, _, _ := changeFor(t, p, advisorID)

	r = f.mustOK(t, "approve", id, "--json")
	var ad approveDoc
	oneJSON(t, r.stdout, &ad)
	assert.Equal(t, []string{id}, ad.Preapproved)

	r = f.mustOK(t, "--approval", "manual", "sync", "--json", "--rule", "MPUpdate")
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	_, _, result := changeFor(t, p, advisorID)
	assert.Equal(t, "applied", result)

	r = f.run(t, "approve", "chg-00000000deadbeef")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "chg-00000000deadbeef")
}

func TestImportedCustomPackIsNeverTouched(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	custom := filepath.Join(f.dir, "custom.xml")
	require.NoError(t, os.WriteFile(custom, mpsynctest.Pack("Contoso.Advisor.Custom", "1.0.0.0"), 0o600))
	older := filepath.Join(f.dir, "alert.xml")
	require.NoError(t, os.WriteFile(older, mpsynctest.Pack(alertID, "7.2.100.0"), 0o600))

	r := f.mustOK(t, "import", custom, older, "--json")
	var id importDoc
	oneJSON(t, r.stdout, &id)
	require.Len(t, id.Imported, 2)
	assert.Equal(t, "custom", id.Imported[0].Owner)

	r = f.mustOK(t, "sync", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	_, action, _ := changeFor(t, p, alertID)
	assert.Equal(t, "blocked", action, "a pack owned by the operator is not upgraded")
	packs := f.packs(t)
	assert.Equal(t, "1.0.0.0 custom", packs["Contoso.Advisor.Custom"])
	assert.Equal(t, "7.2.100.0 custom", packs[alertID])

	f.mustOK(t, "disconnect")
	packs = f.packs(t)
	assert.Equal(t, "1.0.0.0 custom", packs["Contoso.Advisor.Custom"], "disconnect keeps custom packs")
	assert.Equal(t, "7.2.100.0 custom", packs[alertID])

	r = f.run(t, "import", filepath.Join(f.dir, "missing.xml"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "missing.xml")
}

func TestDisconnectThenSyncChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	r := f.mustOK(t, "disconnect", "--json")
	var d disconnectDoc
	oneJSON(t, r.stdout, &d)
	assert.NotEmpty(t, d.Removed)
	assert.NotEmpty(t, d.PartsRemoved)
	before := f.packs(t)
	assert.Contains(t, before, advisorID, "the Advisor pack stays")
	assert.NotContains(t, before, alertID)

	r = f.run(t, "sync")
	assert.Equal(t, 1, r.code)
	line := oneLineErr(t, r.stderr)
	assert.Contains(t, line, "disconnected")
	assert.Empty(t, r.stdout)
	assert.Equal(t, before, f.packs(t), "a refused sync changes nothing")

	r = f.run(t, "sync", "--json")
	assert.Equal(t, 1, r.code)
	var p planOut
	oneJSON(t, r.stdout, &p)
	assert.Contains(t, p.Error, "disconnected")

	st := f.status(t)
	assert.Equal(t, "disconnected", st.Connection.State)
	f.mustOK(t, "plan")

	// Reconnecting brings the solutions back, once the operator has
	// imported the Resources pack (the catalog serving it does not count).
	f.mustOK(t, "import", filepath.Join(workspaceDir, "packs", resourcesID+".xml"))
	f.mustOK(t, "connect")
	f.mustOK(t, "sync")
	assert.Contains(t, f.packs(t), alertID)
}

func TestConnectVersionRequirement(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "connect", "--mg-version", "7.1.10226.0") // 2012 R2 RTM
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "7.1.10226.0")
	assert.Equal(t, "never", f.status(t).Connection.State)
	assert.Empty(t, f.packs(t))

	r = f.mustOK(t, "connect", "--mg-version", "7.2.11719.0", "--mg-name", "MG2016", "--json") // 2016
	var p planOut
	oneJSON(t, r.stdout, &p)
	for _, c := range p.Changes {
		assert.Equal(t, "Microsoft.SystemCenter.Advisor.MPUpdate", c.Rule, "connect runs MPUpdate only")
		assert.Equal(t, "applied", c.Result)
	}
	st := f.status(t)
	assert.Equal(t, "connected", st.Connection.State)
	assert.Equal(t, "7.2.11719.0", st.Connection.ManagementGroup.Version)
	assert.Equal(t, "MG2016", st.Connection.ManagementGroup.Name)
	assert.Contains(t, f.packs(t), advisorID)
}

func TestReconnectNeedsResourcesPack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	f.mustOK(t, "disconnect")
	require.NotContains(t, f.packs(t), resourcesID)
	f.srv.Unpublish(resourcesID)

	r := f.run(t, "connect")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), resourcesID)
	assert.Equal(t, "disconnected", f.status(t).Connection.State)
}

func TestUsageAndConfigurationErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	badKey := filepath.Join(f.dir, "no-such-key")
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of the error line
	}{
		{"unknown flag", []string{"sync", "--bogus"}, 2, []string{"unknown flag --bogus", "--help"}},
		{"unknown flag before command", []string{"--bogus", "sync"}, 2, []string{"--bogus"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"frobnicate"}},
		{"no command", []string{}, 2, []string{"no command"}},
		{"unreadable key file", []string{"sync", "--workspace-key-file", badKey}, 2, []string{"--workspace-key-file", badKey}},
		{"malformed mg-version", []string{"connect", "--mg-version", "7.1.x"}, 2, []string{"--mg-version", "7.1.x"}},
		{"malformed override pack", []string{"sync", "--overrides", filepath.Join(overridesDir, "malformed.xml")}, 2, []string{"malformed.xml"}},
		{"invalid frequency override", []string{"sync", "--overrides", filepath.Join(overridesDir, "invalid-frequency.xml")},
			2, []string{"invalid-frequency.xml", "Contoso.Advisor.BadValue.Frequency", "1.5h"}},
		{"invalid approval", []string{"sync", "--approval", "sometimes"}, 2, []string{"--approval", "sometimes"}},
		{"invalid rule", []string{"plan", "--rule", "Nope"}, 2, []string{"--rule", "Nope"}},
		{"flag of another command", []string{"sync", "--all"}, 2, []string{"--all", "approve"}},
		{"approve without ids", []string{"approve"}, 2, []string{"CHANGE-ID"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc.args...)
			assert.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			line := oneLineErr(t, r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, line, w)
			}
			assert.Empty(t, r.stdout)

			// With --json the error is also the document on stdout.
			r = f.run(t, append(tc.args, "--json")...)
			assert.Equal(t, tc.code, r.code)
			var doc map[string]any
			oneJSON(t, r.stdout, &doc)
			assert.Equal(t, oneLineErr(t, r.stderr), doc["error"])
		})
	}
	assert.Empty(t, f.packs(t), "no bad invocation changed the store")
}

func TestServiceFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := "http://" + ln.Addr().String() + "/"
		require.NoError(t, ln.Close())
		r := runCLI(t, cleanEnv(), "--store", filepath.Join(t.TempDir(), "s"), "--workspace-url", closed, "--allow-http",
			"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", f.keyFile, "--retries", "0", "sync")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, oneLineErr(t, r.stderr), ln.Addr().String())
	})

	t.Run("wrong key", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "wrong-key")
		require.NoError(t, os.WriteFile(wrong, []byte("d3Jvbmcta2V5\n"), 0o600))
		r := runCLI(t, cleanEnv(), "--store", filepath.Join(t.TempDir(), "s"), "--workspace-url", f.srv.URL(), "--allow-http",
			"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", wrong, "sync")
		assert.Equal(t, 1, r.code)
		line := strings.ToLower(oneLineErr(t, r.stderr))
		assert.True(t, strings.Contains(line, "401") || strings.Contains(line, "unauthorized"), line)
		assert.NotContains(t, line, "d3Jvbmcta2V5", "the key never appears in errors")
	})

	t.Run("failed pack", func(t *testing.T) {
		f.srv.Fail(alertID, mpsynctest.Fault{Status: 404})
		defer f.srv.ClearFaults()
		r := runCLI(t, cleanEnv(), f.args("--store", filepath.Join(t.TempDir(), "s"), "sync", "--json")...)
		assert.Equal(t, 1, r.code, "stderr: %s", r.stderr)
		var p planOut
		oneJSON(t, r.stdout, &p)
		assert.NotEmpty(t, p.Error)
		assert.Contains(t, oneLineErr(t, r.stderr), alertID)
	})
}

func TestFlagsAnywhereAndEnvironment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	a := runCLI(t, cleanEnv(), append(f.args(), "--json", "status")...)
	b := runCLI(t, cleanEnv(), append(f.args(), "status", "--json")...)
	require.Equal(t, 0, a.code, a.stderr)
	require.Equal(t, 0, b.code, b.stderr)
	var sa, sb statusOut
	oneJSON(t, a.stdout, &sa)
	oneJSON(t, b.stdout, &sb)
	assert.Equal(t, sa.Packs, sb.Packs)

	env := cleanEnv(
		"MPSYNC_STORE="+f.store, "MPSYNC_WORKSPACE_URL="+f.srv.URL(), "MPSYNC_WORKSPACE_ID="+f.srv.WorkspaceID(),
		"MPSYNC_WORKSPACE_KEY_FILE="+f.keyFile,
	)
	r := runCLI(t, env, "--allow-http", "status", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var se statusOut
	oneJSON(t, r.stdout, &se)
	assert.Len(t, se.Packs, 6, "the store came from MPSYNC_STORE")
	assert.True(t, se.Workspace.Reachable, "the service came from MPSYNC_WORKSPACE_*")
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runCLI(t, cleanEnv(), "--help")
	require.Equal(t, 0, r.code)
	for _, w := range []string{"plan", "sync", "status", "approve", "import", "connect", "disconnect", "run", "serve-workspace",
		"--store", "--workspace-url", "--workspace-id", "--workspace-key-file", "--proxy", "--proxy-user", "--proxy-password-file",
		"--overrides", "--approval", "--rule", "--allow-http", "--json", "--mg-name", "--mg-version", "--language",
		"--platform", "MPSYNC_PLATFORM", "MPSYNC_STORE", "MPSYNC_WORKSPACE_URL", "MPSYNC_WORKSPACE_ID", "MPSYNC_WORKSPACE_KEY_FILE", "MPSYNC_PROXY"} {
		assert.Contains(t, r.stdout, w)
	}
	r = runCLI(t, cleanEnv(), "help", "serve-workspace")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "workspace.json")
	r = runCLI(t, cleanEnv(), "sync", "-h")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "mpsync sync")
	r = runCLI(t, cleanEnv(), "help", "nope")
	assert.Equal(t, 2, r.code)
	oneLineErr(t, r.stderr)
}

// startCLI starts the command in the background with stdout and stderr
// piped; the returned readers deliver their lines.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, *bufio.Scanner, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, bufio.NewScanner(stdout), bufio.NewScanner(stderr)
}

// waitExit waits for cmd with a deadline and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the command did not stop")
		return -1
	}
}

func TestServeWorkspaceThenPlan(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	keyFile := filepath.Join(t.TempDir(), "key")

	cmd, stdout, _ := startCLI(t, "serve-workspace", "--dir", workspaceDir, "--addr", addr, "--key-out", keyFile, "--json")
	require.True(t, stdout.Scan(), "serve-workspace printed nothing")
	var sd serveDoc
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sd))
	assert.Equal(t, "http://"+addr+"/", sd.URL)
	assert.Equal(t, keyFile, sd.KeyFile)
	assert.Empty(t, sd.Key, "the key went to the file")

	r := runCLI(t, cleanEnv(), "--store", filepath.Join(t.TempDir(), "s"), "--workspace-url", sd.URL, "--allow-http",
		"--workspace-id", sd.WorkspaceID, "--workspace-key-file", keyFile, "plan", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var p planOut
	oneJSON(t, r.stdout, &p)
	assert.Len(t, p.Changes, 6)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 0, waitExit(t, cmd))
}

func TestRunStopsCleanlyOnSIGINT(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd, _, stderr := startCLI(t, f.args("run")...)
	finished := 0
	for finished < 2 && stderr.Scan() {
		if strings.Contains(stderr.Text(), "event=run-finished") {
			finished++
		}
	}
	require.Equal(t, 2, finished, "both rules run at start")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() {
		for stderr.Scan() {
		}
	}()
	assert.Equal(t, 0, waitExit(t, cmd))
	assert.Len(t, f.packs(t), 6)

	// A disconnected store does not run.
	f.mustOK(t, "disconnect")
	r := f.run(t, "run")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "disconnected")
}

func TestFreezeDeniesAndSucceeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "--approval", "freeze:quarter close", "sync", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	_, _, result := changeFor(t, p, advisorID)
	assert.Equal(t, "denied", result, "denied by the approver is a success (exit 0)")
	for _, c := range p.Changes {
		if c.Result == "denied" {
			assert.Contains(t, c.Reason, "quarter close")
		}
	}
	assert.Empty(t, f.packs(t))
}

func TestStatusSaysWhenTheStoreIndexWasRebuilt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	// A rebuild from an intact database keeps every pack's provenance.
	_, err := store.Rebuild(f.store, nil)
	require.NoError(t, err)
	r := f.mustOK(t, "status", "--json")
	var doc struct {
		StoreRebuilt string `json:"storeRebuilt"`
	}
	oneJSON(t, r.stdout, &doc)
	assert.Contains(t, doc.StoreRebuilt, "provenance restored for 6 pack(s), 0 recorded as custom")
	for id, vo := range f.packs(t) {
		assert.True(t, strings.HasSuffix(vo, " workspace"), "%s keeps its owner through the rebuild: %s", id, vo)
	}
	// A damaged database is refused, naming the file and the way out.
	for _, suf := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(f.store, "store.db"+suf))
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.store, "store.db"), []byte("garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage"), 0o600))
	r = f.run(t, "status")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, filepath.Join(f.store, "store.db"))
	assert.Contains(t, r.stderr, "store.Rebuild")
	assert.Contains(t, r.stderr, "mpsync rebuild-store", "the way out names a command that exists")
	r = f.mustOK(t, "rebuild-store", "--json")
	var rb struct {
		Restored   []string `json:"restored"`
		Unrestored []struct {
			ID, Reason string
		} `json:"unrestored"`
	}
	oneJSON(t, r.stdout, &rb)
	assert.Empty(t, rb.Restored, "nothing could be read from the garbage")
	assert.Len(t, rb.Unrestored, 6, "every pack is kept, recorded as custom, and listed")
	r = f.mustOK(t, "status")
	assert.Contains(t, r.stdout, "WARNING: the store's index was rebuilt")
	assert.Contains(t, r.stdout, "6 recorded as custom")
}

// powerShellCSV writes inv as Windows PowerShell 5.1 writes
// "Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv
// -Encoding Unicode": UTF-16 little endian with a byte-order mark, the #TYPE
// line, quoted fields, CRLF line ends.
func powerShellCSV(inv pack.Inventory) []byte {
	ids := make([]string, 0, len(inv))
	for id := range inv {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var sb strings.Builder
	sb.WriteString("#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack\r\n\"Name\",\"Version\"\r\n")
	for _, id := range ids {
		fmt.Fprintf(&sb, "%q,%q\r\n", id, inv[id].String())
	}
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(sb.String())) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// A solution pack that references a library the built-in platform inventory
// lacks (a SQL Server library, which only the group's own inventory can
// vouch for) is blocked without --platform and imported with it.
func TestPlatformInventoryFlag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const sqlLib = "Microsoft.SQLServer.Core.Library"
	f.srv.Publish(alertID, "7.2.11720.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11720.0",
		mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0"),
		mpsynctest.PlatformReference("Advisor", advisorID, "7.1.10226.1239"),
		mpsynctest.PlatformReference("SQL", sqlLib, "7.0.7.0"),
	))

	r := f.mustOK(t, "plan", "--json")
	var p planOut
	oneJSON(t, r.stdout, &p)
	_, action, _ := changeFor(t, p, alertID)
	assert.Equal(t, "blocked", action)
	for _, c := range p.Changes {
		if c.Pack == alertID {
			assert.Contains(t, c.Reason, sqlLib)
		}
	}

	// The group's export: the 2012 R2 platform libraries and the SQL
	// Server library, one revision too old first.
	inv, _ := scom.Platform(pack.MustParseVersion("7.1.10226.1239"))
	inv[sqlLib] = pack.MustParseVersion("7.0.6.9")
	old := filepath.Join(f.dir, "packs-old.csv")
	require.NoError(t, os.WriteFile(old, powerShellCSV(inv), 0o600))
	r = f.mustOK(t, "plan", "--json", "--platform", old)
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	_, action, _ = changeFor(t, p, alertID)
	assert.Equal(t, "blocked", action, "7.0.6.9 does not satisfy >= 7.0.7.0")

	inv[sqlLib] = pack.MustParseVersion("7.0.7.0")
	current := filepath.Join(f.dir, "packs.csv")
	require.NoError(t, os.WriteFile(current, powerShellCSV(inv), 0o600))

	// From the environment too.
	r = runCLI(t, cleanEnv("USER=tester", "MPSYNC_PLATFORM="+current), f.args("plan", "--json")...)
	require.Equal(t, 0, r.code, r.stderr)
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	_, action, _ = changeFor(t, p, alertID)
	assert.Equal(t, "import", action)

	r = f.mustOK(t, "sync", "--json", "--platform", current)
	p = planOut{}
	oneJSON(t, r.stdout, &p)
	_, action, result := changeFor(t, p, alertID)
	assert.Equal(t, "import", action)
	assert.Equal(t, "applied", result)
	assert.Equal(t, "7.2.11720.0 workspace", f.packs(t)[alertID])
}

func TestPlatformInventoryFlagErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	missing := filepath.Join(f.dir, "no-such-packs.csv")
	bad := filepath.Join(f.dir, "bad-packs.csv")
	require.NoError(t, os.WriteFile(bad, []byte("\"Name\",\"Version\"\r\n\"System.Library\",\"7.5.8501.0\"\r\n\"System.Health.Library\",\"seven\"\r\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		file string
		want []string // besides the file
	}{
		{"missing file", []string{"plan", "--platform", missing}, nil, missing, []string{"--platform", "no such file"}},
		{"bad version", []string{"sync", "--platform", bad}, nil, bad, []string{"--platform", "line 3", `"seven"`}},
		{"bad file from the environment", []string{"status"}, []string{"MPSYNC_PLATFORM=" + bad}, bad, []string{"line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cleanEnv(append([]string{"USER=tester"}, tc.env...)...), f.args(tc.args...)...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.stderr)
			line := oneLineErr(t, r.stderr)
			for _, w := range tc.want {
				assert.Contains(t, line, w)
			}
			assert.Equal(t, 1, strings.Count(line, tc.file), "names the file once: %s", line)
		})
	}
	assert.Empty(t, f.packs(t), "no bad invocation changed the store")
}

// import used to write straight into the store: a downgrade, a missing
// reference and a workspace's pack all went in without a word.
func TestImportMakesSyncsChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	before := f.packs(t)
	require.Contains(t, before, alertID, "the workspace imported the alert pack")

	write := func(name string, data []byte) string {
		p := filepath.Join(f.dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	down := write("down.xml", mpsynctest.Pack(alertID, "7.2.1.0"))
	r := f.run(t, "import", down)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "downgrade")

	up := write("up.xml", mpsynctest.Pack(alertID, "7.3.0.0"))
	r = f.run(t, "import", up)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "--force")

	unmet := write("unmet.xml", mpsynctest.Pack("Contoso.NeedsLib", "1.0.0.0", mpsynctest.PlatformReference("L", "Contoso.Lib", "1.0.0.0")))
	r = f.run(t, "import", unmet)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "Contoso.Lib >= 1.0.0.0")
	assert.Equal(t, before, f.packs(t), "refused imports change nothing")

	r = f.run(t, "import", "--force", up)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "7.3.0.0 custom", f.packs(t)[alertID], "taken over by the operator")
	r = f.mustOK(t, "import", up)
	assert.Contains(t, r.stdout, "already imported")
}

// overrideOut is the document of override --json.
type overrideOut struct {
	Pack *struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Owner   string `json:"owner"`
	} `json:"pack"`
	Overrides []struct {
		Rule    string `json:"rule"`
		ID      string `json:"id"`
		Setting string `json:"setting"`
		Value   string `json:"value"`
		Module  string `json:"module"`
	} `json:"overrides"`
	Unchanged bool     `json:"unchanged"`
	Exported  string   `json:"exported"`
	Warnings  []string `json:"warnings"`
	Error     string   `json:"error"`
}

// statusRules returns shortName -> enabled, enabledSource from status --json,
// and the override packs it lists.
func (f *fixture) statusRules(t *testing.T) (map[string]bool, map[string]string, []string) {
	t.Helper()
	r := f.mustOK(t, "status", "--json")
	var st struct {
		Rules []struct {
			ShortName     string `json:"shortName"`
			Enabled       bool   `json:"enabled"`
			EnabledSource string `json:"enabledSource"`
		} `json:"rules"`
		Overrides struct {
			Packs []struct {
				ID      string `json:"id"`
				Version string `json:"version"`
				From    string `json:"from"`
			} `json:"packs"`
			Error string `json:"error"`
		} `json:"overrides"`
	}
	oneJSON(t, r.stdout, &st)
	en, src := map[string]bool{}, map[string]string{}
	for _, rl := range st.Rules {
		en[rl.ShortName], src[rl.ShortName] = rl.Enabled, rl.EnabledSource
	}
	var packs []string
	for _, p := range st.Overrides.Packs {
		packs = append(packs, p.ID+" "+p.Version+" "+p.From)
	}
	assert.Empty(t, st.Overrides.Error)
	return en, src, packs
}

// A pipeline disables both rules for a change freeze and enables them after,
// through the override pack in the store.
func TestOverrideCommandChangeFreeze(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	const packID = "MPSync.Advisor.Overrides"

	r := f.mustOK(t, "override", "--rule", "MPUpdate", "--enabled", "false", "--json")
	var doc overrideOut
	oneJSON(t, r.stdout, &doc)
	require.NotNil(t, doc.Pack)
	assert.Equal(t, packID, doc.Pack.ID)
	assert.Equal(t, "1.0.0.0", doc.Pack.Version)
	assert.Equal(t, "custom", doc.Pack.Owner)
	require.Len(t, doc.Overrides, 1)
	assert.Equal(t, "Microsoft.SystemCenter.Advisor.MPUpdate", doc.Overrides[0].Rule)
	assert.Equal(t, "Enabled", doc.Overrides[0].Setting)
	assert.Equal(t, "false", doc.Overrides[0].Value)
	assert.False(t, doc.Unchanged)

	export := filepath.Join(f.dir, "freeze.xml")
	r = f.mustOK(t, "override", "--rule", "GetIntelligencePacks", "--enabled", "false", "--export", export)
	assert.Contains(t, r.stdout, "wrote pack "+packID+" 1.0.0.1")
	assert.Contains(t, r.stdout, "exported "+packID+" 1.0.0.1 to "+export)

	en, src, packs := f.statusRules(t)
	assert.Equal(t, map[string]bool{"MPUpdate": false, "GetIntelligencePacks": false}, en)
	for _, s := range src {
		assert.Contains(t, s, "in pack "+packID+" 1.0.0.1")
	}
	assert.Equal(t, []string{packID + " 1.0.0.1 store"}, packs)
	r = f.mustOK(t, "status")
	assert.Contains(t, r.stdout, "Override packs: "+packID+" 1.0.0.1 (store)")

	r = f.mustOK(t, "sync", "--json")
	var rep struct {
		Skipped []struct {
			Rule   string `json:"rule"`
			Reason string `json:"reason"`
		} `json:"skipped"`
		Changes []json.RawMessage `json:"changes"`
	}
	oneJSON(t, r.stdout, &rep)
	require.Len(t, rep.Skipped, 2)
	for _, s := range rep.Skipped {
		assert.Contains(t, s.Reason, "pack "+packID)
	}
	r = f.mustOK(t, "sync")
	assert.Contains(t, r.stdout, "rule MPUpdate skipped: disabled by override")
	assert.Contains(t, r.stdout, "rule GetIntelligencePacks skipped: disabled by override")

	// The same request again writes nothing.
	r = f.mustOK(t, "override", "--rule", "MPUpdate", "--enabled", "false", "--json")
	doc = overrideOut{}
	oneJSON(t, r.stdout, &doc)
	assert.True(t, doc.Unchanged)
	assert.Equal(t, "1.0.0.1", doc.Pack.Version)

	// After the freeze: --rule all (the default) enables both.
	r = f.mustOK(t, "override", "--enabled", "true", "--json")
	doc = overrideOut{}
	oneJSON(t, r.stdout, &doc)
	assert.Len(t, doc.Overrides, 2)
	assert.Equal(t, "1.0.0.3", doc.Pack.Version, "one new version per rule written")
	en, _, _ = f.statusRules(t)
	assert.Equal(t, map[string]bool{"MPUpdate": true, "GetIntelligencePacks": true}, en)
	r = f.mustOK(t, "sync", "--json")
	rep.Skipped = nil
	oneJSON(t, r.stdout, &rep)
	assert.Empty(t, rep.Skipped, "both rules run again")

	// The exported file is the freeze as the store held it: importing it
	// into another group's store freezes that group.
	b, err := os.ReadFile(export)
	require.NoError(t, err)
	assert.Contains(t, string(b), `Property="Enabled"`)
	g := newFixture(t)
	g.mustOK(t, "sync")
	g.mustOK(t, "import", export)
	en, src, _ = g.statusRules(t)
	assert.Equal(t, map[string]bool{"MPUpdate": false, "GetIntelligencePacks": false}, en)
	assert.Contains(t, src["MPUpdate"], packID)
}

// An override pack imported with import applies to the rules.
func TestImportedOverridePackApplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	f.mustOK(t, "import", filepath.Join(overridesDir, "mpupdate-disabled.xml"), filepath.Join(overridesDir, "gip-hourly.xml"))
	en, src, packs := f.statusRules(t)
	assert.False(t, en["MPUpdate"])
	assert.Contains(t, src["MPUpdate"], "in pack Contoso.Advisor.Freeze 1.0.0.0")
	assert.Equal(t, []string{"Contoso.Advisor.Freeze 1.0.0.0 store", "Contoso.Advisor.Hourly 1.0.0.3 store"}, packs)
	st := f.status(t)
	assert.Equal(t, int64(3600), st.Rules[1].FrequencySeconds)

	// A frequency override through the command, with a file on top: the
	// enforced file wins over the store's pack.
	f.mustOK(t, "override", "--rule", "GetIntelligencePacks", "--frequency", "600", "--module", "Scheduler")
	st = f.status(t, "--overrides", filepath.Join(overridesDir, "enforced.xml"))
	assert.Equal(t, int64(7200), st.Rules[1].FrequencySeconds)
	r := f.mustOK(t, "sync", "--json")
	var rep struct {
		Skipped []struct {
			Rule string `json:"rule"`
		} `json:"skipped"`
	}
	oneJSON(t, r.stdout, &rep)
	require.Len(t, rep.Skipped, 1)
	assert.Equal(t, "Microsoft.SystemCenter.Advisor.MPUpdate", rep.Skipped[0].Rule)
}

// Bad input is refused with a clear error and nothing changes.
func TestOverrideCommandErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bare := newFixture(t) // never synced: the Advisor pack is not imported
	f.mustOK(t, "sync")
	tests := []struct {
		name  string
		fx    *fixture
		args  []string
		code  int
		inErr []string
	}{
		{name: "unknown rule", args: []string{"override", "--rule", "Foo", "--enabled", "false"}, code: 2, inErr: []string{`--rule "Foo"`, "unknown rule"}},
		{name: "not a boolean", args: []string{"override", "--rule", "MPUpdate", "--enabled", "maybe"}, code: 2, inErr: []string{`--enabled "maybe"`, "true or false"}},
		{name: "zero frequency", args: []string{"override", "--rule", "MPUpdate", "--frequency", "0"}, code: 2, inErr: []string{`--frequency "0"`, "whole number of seconds"}},
		{name: "negative frequency", args: []string{"override", "--rule", "MPUpdate", "--frequency", "-60"}, code: 2, inErr: []string{`--frequency "-60"`}},
		{name: "fractional frequency", args: []string{"override", "--rule", "MPUpdate", "--frequency", "1.5"}, code: 2, inErr: []string{`--frequency "1.5"`}},
		{name: "frequency with a unit", args: []string{"override", "--rule", "MPUpdate", "--frequency", "1h"}, code: 2, inErr: []string{`--frequency "1h"`}},
		{name: "frequency beyond int32", args: []string{"override", "--rule", "MPUpdate", "--frequency", "2147483648"}, code: 2, inErr: []string{"2147483647"}},
		{name: "no setting", args: []string{"override", "--rule", "MPUpdate"}, code: 2, inErr: []string{"needs --enabled, --frequency or --export"}},
		{name: "bad pack id", args: []string{"override", "--rule", "MPUpdate", "--enabled", "false", "--pack", "not an id"}, code: 2, inErr: []string{"pack id"}},
		{name: "override flag on another command", args: []string{"sync", "--enabled", "false"}, code: 2, inErr: []string{"--enabled applies only to the override command"}},
		{name: "a workspace's pack", args: []string{"override", "--rule", "MPUpdate", "--enabled", "false", "--pack", advisorID}, code: 1, inErr: []string{"import refused", "imported for workspace"}},
		{name: "export of a pack the store does not hold", args: []string{"override", "--export", "x.xml", "--pack", "Contoso.None"}, code: 1, inErr: []string{"export Contoso.None"}},
		{name: "Advisor pack not imported", fx: bare, args: []string{"override", "--rule", "MPUpdate", "--enabled", "false"}, code: 1, inErr: []string{"Microsoft.SystemCenter.Advisor >= 7.1.10226.0"}},
		{name: "import of an invalid frequency", args: []string{"import", filepath.Join(overridesDir, "invalid-frequency.xml")}, code: 2, inErr: []string{"Contoso.Advisor.BadValue.Frequency", `"1.5h"`}},
		{name: "import of an override aimed at another class", args: []string{"import", filepath.Join(overridesDir, "wrong-target.xml")}, code: 2, inErr: []string{"does not apply", "Microsoft.Windows.Computer"}},
		{name: "import of a malformed override pack", args: []string{"import", filepath.Join(overridesDir, "malformed.xml")}, code: 2, inErr: []string{"Contoso.Advisor.Broken", "not a valid override pack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := tt.fx
			if fx == nil {
				fx = f
			}
			before := fx.packs(t)
			r := fx.run(t, tt.args...)
			assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			line := oneLineErr(t, r.stderr)
			for _, s := range tt.inErr {
				assert.Contains(t, line, s)
			}
			assert.Equal(t, before, fx.packs(t), "nothing changed")
			en, _, _ := fx.statusRules(t)
			assert.Equal(t, map[string]bool{"MPUpdate": true, "GetIntelligencePacks": true}, en)
		})
	}
}

// status and approve used to exit 1 ("store directory is in use by another
// process") while run held the store, so a manual approval meant stopping
// the scheduler.
func TestReadersBesideARunningScheduler(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd, _, stderr := startCLI(t, f.args("--approval", "manual", "run")...)
	finished := 0
	for finished < 2 && stderr.Scan() {
		if strings.Contains(stderr.Text(), "event=run-finished") {
			finished++
		}
	}
	require.Equal(t, 2, finished, "both rules ran and queued their changes")
	go func() {
		for stderr.Scan() {
		}
	}()
	r := f.mustOK(t, "status", "--json")
	var st struct {
		Pending []struct {
			ID       string `json:"id"`
			Approval string `json:"approval"`
		} `json:"pending"`
	}
	oneJSON(t, r.stdout, &st)
	require.NotEmpty(t, st.Pending, "status reads the store the scheduler holds")
	r = f.mustOK(t, "approve", st.Pending[0].ID)
	assert.Contains(t, r.stdout, "approved "+st.Pending[0].ID)
	r = f.mustOK(t, "status", "--json")
	oneJSON(t, r.stdout, &st)
	assert.Equal(t, "approved", st.Pending[0].Approval, "the approval is in the store the scheduler reads")
	r = f.run(t, "--lock-timeout", "200ms", "import", filepath.Join("..", "..", "testdata", "packs", "base.xml"))
	assert.Equal(t, 1, r.code, "a command that changes packs still waits for the scheduler, then gives up")
	assert.Contains(t, oneLineErr(t, r.stderr), "in use")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 0, waitExit(t, cmd))
}
