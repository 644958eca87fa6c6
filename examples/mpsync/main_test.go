package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

func noEnv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantPos []string
		check   func(t *testing.T, c *config)
		wantErr string
	}{
		{name: "flags before the command", args: []string{"--json", "--store", "s", "status"}, wantPos: []string{"status"},
			check: func(t *testing.T, c *config) { assert.True(t, c.json); assert.Equal(t, "s", c.store) }},
		{name: "flags after the command", args: []string{"status", "--json", "--store=s"}, wantPos: []string{"status"},
			check: func(t *testing.T, c *config) { assert.True(t, c.json); assert.Equal(t, "s", c.store) }},
		{name: "flags between arguments", args: []string{"approve", "a", "--by", "alice", "b"}, wantPos: []string{"approve", "a", "b"},
			check: func(t *testing.T, c *config) { assert.Equal(t, "alice", c.by); assert.True(t, c.set["by"]) }},
		{name: "double dash ends flags", args: []string{"import", "--", "--odd.xml"}, wantPos: []string{"import", "--odd.xml"}},
		{name: "repeatable overrides", args: []string{"--overrides", "a.xml", "sync", "--overrides", "b.xml"}, wantPos: []string{"sync"},
			check: func(t *testing.T, c *config) { assert.Equal(t, stringList{"a.xml", "b.xml"}, c.overrides) }},
		{name: "defaults", args: []string{"plan"}, wantPos: []string{"plan"},
			check: func(t *testing.T, c *config) {
				assert.Equal(t, "./mpsync-store", c.store)
				assert.Equal(t, "auto", c.approval)
				assert.Equal(t, "all", c.rule)
				assert.Equal(t, "ENU", c.language)
				assert.Equal(t, 4, c.retries)
				assert.False(t, c.allowHTTP)
			}},
		{name: "environment", args: []string{"plan"}, wantPos: []string{"plan"},
			env: map[string]string{"MPSYNC_STORE": "/var/lib/mpsync", "MPSYNC_WORKSPACE_URL": "https://ws/", "MPSYNC_WORKSPACE_ID": "id",
				"MPSYNC_WORKSPACE_KEY_FILE": "/k", "MPSYNC_PROXY": "http://corpproxy:80", "MPSYNC_ALLOW_HTTP": "true",
				"MPSYNC_OVERRIDES": "a.xml:b.xml", "MPSYNC_RETRIES": "0", "MPSYNC_PLATFORM": "/etc/mpsync/packs.csv"},
			check: func(t *testing.T, c *config) {
				assert.Equal(t, "/var/lib/mpsync", c.store)
				assert.Equal(t, "https://ws/", c.workspaceURL)
				assert.Equal(t, "id", c.workspaceID)
				assert.Equal(t, "/k", c.workspaceKeyFile)
				assert.Equal(t, "http://corpproxy:80", c.proxy)
				assert.True(t, c.allowHTTP)
				assert.Equal(t, stringList{"a.xml", "b.xml"}, c.overrides)
				assert.Equal(t, 0, c.retries)
				assert.Equal(t, "/etc/mpsync/packs.csv", c.platform)
			}},
		{name: "flag beats environment", args: []string{"plan", "--store", "mine"}, wantPos: []string{"plan"},
			env:   map[string]string{"MPSYNC_STORE": "/var/lib/mpsync"},
			check: func(t *testing.T, c *config) { assert.Equal(t, "mine", c.store) }},
		{name: "short verbose", args: []string{"-v", "sync"}, wantPos: []string{"sync"},
			check: func(t *testing.T, c *config) { assert.True(t, c.verbose); assert.True(t, c.set["verbose"]) }},
		{name: "unknown flag", args: []string{"sync", "--nope"}, wantErr: "unknown flag --nope"},
		{name: "missing value", args: []string{"sync", "--store"}, wantErr: "flag --store needs a value"},
		{name: "bad retries", args: []string{"sync", "--retries", "-1"}, wantErr: "--retries"},
		{name: "bad env bool", args: []string{"sync"}, env: map[string]string{"MPSYNC_ALLOW_HTTP": "maybe"}, wantErr: "MPSYNC_ALLOW_HTTP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			c, pos, err := parseArgs(tc.args, getenv)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, exitUsage, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantPos, pos)
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestCheckCommandFlags(t *testing.T) {
	c, _, err := parseArgs([]string{"--all", "approve"}, noEnv)
	require.NoError(t, err)
	assert.NoError(t, c.checkCommandFlags("approve"))
	err = c.checkCommandFlags("sync")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--all applies only to the approve command")
}

func TestErrorLineAndExitCode(t *testing.T) {
	assert.Equal(t, exitFailed, exitCode(errors.New("boom")))
	assert.Equal(t, exitUsage, exitCode(usagef("bad")))
	assert.Equal(t, exitUsage, exitCode(errors.Join(errors.New("x"), usagef("bad"))))

	assert.Equal(t, "mpsync sync: a; b", errorLine("sync", errors.Join(errors.New("a"), errors.New("b"))))
	assert.Equal(t, "mpsync: unknown flag --x (run 'mpsync --help' for usage)", errorLine("", shapef("unknown flag --x")))
	assert.Equal(t, "mpsync sync: flag --workspace-key-file: cannot read k", errorLine("sync", usagef("flag --workspace-key-file: cannot read k")),
		"configuration errors say what to fix without the usage hint")
}

func TestJSONHelpers(t *testing.T) {
	assert.Equal(t, "", timeJSON(time.Time{}))
	berlin := time.FixedZone("CET", 3600)
	assert.Equal(t, "2026-11-24T09:00:00Z", timeJSON(time.Date(2026, 11, 24, 10, 0, 0, 0, berlin)))
	assert.Equal(t, "", versionJSON(pack.Version{}))
	assert.Equal(t, "7.1.10226.1239", versionJSON(pack.MustParseVersion("7.1.10226.1239")))
	assert.Equal(t, "a; b", oneLine("a\r\nb\n"))
	assert.Equal(t, "GetIntelligencePacks", shortRule(string(rules.GetIntelligencePacks)))
	assert.Equal(t, "MPUpdate", shortRule(string(rules.MPUpdate)))
}

func TestHumanBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KB", 1536: "1.5 KB", 5 << 20: "5.0 MB", 3 << 30: "3.0 GB", 5 << 40: "5120.0 GB"}
	for n, want := range tests {
		assert.Equal(t, want, humanBytes(n), "%d", n)
	}
}

func TestPendingList(t *testing.T) {
	b := mpsync.Change{ID: "chg-b", Pack: "B", Action: plan.ActionUpgrade, Rule: rules.MPUpdate,
		From: pack.MustParseVersion("1.0"), To: pack.MustParseVersion("2.0")}
	got := pendingList([]status.PendingApproval{{Change: b, Approval: approval.StateDenied}})
	require.Len(t, got, 1)
	assert.Equal(t, pendingJSON{ID: "chg-b", Pack: "B", To: "2.0.0.0", Action: "upgrade", Rule: string(rules.MPUpdate),
		From: "1.0.0.0", Approval: "denied"}, got[0])
	assert.NotNil(t, pendingList(nil), "an empty list is [] in JSON, not null")
}

func TestReportToJSONReasons(t *testing.T) {
	keep := mpsync.Change{ID: "chg-k", Action: plan.ActionKeep, Pack: "K"}
	failed := mpsync.Change{ID: "chg-f", Action: plan.ActionImport, Pack: "F", Reason: "base pack"}
	denied := mpsync.Change{ID: "chg-d", Action: plan.ActionImport, Pack: "D", Reason: "base pack"}
	skipped := mpsync.Change{ID: "chg-s", Action: plan.ActionImport, Pack: "S", Reason: "solution X"}
	rep := &mpsync.Report{
		Plan: &mpsync.Plan{WorkspaceID: "ws", Changes: []mpsync.Change{keep, failed, denied, skipped}},
		Outcomes: []mpsync.Outcome{
			{Change: keep, Result: mpsync.ResultSkipped},
			{Change: failed, Result: mpsync.ResultFailed, Err: &mpsync.ChangeError{Pack: "F", Step: "import", Err: errors.New("disk\nfull")}},
			{Change: denied, Result: mpsync.ResultDenied, Decision: &approval.Decision{Verdict: plan.Deny, Reason: "changes are frozen", By: "freeze"}},
			{Change: skipped, Result: mpsync.ResultSkipped, Err: &mpsync.ChangeError{Pack: "S", Step: "dependency", Err: errors.New("waits for F")}},
		},
	}
	doc := reportToJSON(rep, false)
	require.Len(t, doc.Changes, 3, "keep is left out without --verbose")
	assert.Equal(t, "failed", doc.Changes[0].Result)
	assert.NotContains(t, doc.Changes[0].Error, "\n")
	assert.Contains(t, doc.Changes[0].Error, "disk; full")
	assert.Equal(t, "changes are frozen", doc.Changes[1].Reason)
	assert.Equal(t, "freeze", doc.Changes[1].DecidedBy)
	assert.Empty(t, doc.Changes[1].Error)
	assert.Equal(t, "solution X; waits for F", doc.Changes[2].Reason)
	assert.Empty(t, doc.Changes[2].Error)
	assert.Len(t, reportToJSON(rep, true).Changes, 4)
}

func TestRunInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"help", "import"}, &stdout, &stderr, noEnv, false)
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout.String(), "mpsync import FILE..."))
	assert.Empty(t, stderr.String())

	stdout.Reset()
	code = run(context.Background(), []string{"status", "extra"}, &stdout, &stderr, noEnv, false)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), `unexpected argument "extra"`)
}

type fakeTransport struct{ body string }

func (f fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(f.body)), Request: r}, nil
}

func TestProgress(t *testing.T) {
	var off bytes.Buffer
	p := newProgress(&off, false)
	p.event(event.Event{Kind: event.ChangeApplied})
	p.done()
	assert.Empty(t, off.String(), "no terminal, no progress")

	var on bytes.Buffer
	p = newProgress(&on, true)
	client := &http.Client{Transport: p.transport(fakeTransport{body: strings.Repeat("x", 2048)})}
	for _, path := range []string{"/workspaces/w/packs/A/1.0.0.0", "/workspaces/w/catalog"} {
		resp, err := client.Get("http://ws.test" + path)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
	}
	p.event(event.Event{Kind: event.ChangeApplied})
	p.event(event.Event{Kind: event.ApprovalNeeded})
	p.event(event.Event{Kind: event.RunStarted})
	out := on.String()
	assert.Contains(t, out, "packs downloaded 1 (2.0 KB), applied 0")
	assert.Contains(t, out, "applied 1, pending 1, failed 0")
	assert.Equal(t, 3, strings.Count(out, "\r"), "one redraw per download and per counted event")
	p.done()
	assert.True(t, strings.HasSuffix(on.String(), "\r"), "done clears the line")

	var total bytes.Buffer
	p = newProgress(&total, true)
	p.event(event.Event{Kind: event.PlanReady, Plan: &mpsync.Plan{Changes: []mpsync.Change{
		{Action: plan.ActionImport}, {Action: plan.ActionRemove}, {Action: plan.ActionKeep}}}})
	p.event(event.Event{Kind: event.ChangeApplied})
	assert.Contains(t, total.String(), "changes 1/2;", "progress counts against the planned changes")
}
