package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mpsync.dev/mpsync/ledger"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/store"
)

// writePolicy writes a policy file into the fixture's directory.
func (f *fixture) writePolicy(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// syncResults runs sync --json with args and returns pack -> result.
func (f *fixture) syncResults(t *testing.T, args ...string) (map[string]string, planOut) {
	t.Helper()
	r := f.mustOK(t, append(args, "sync", "--json")...)
	var p planOut
	oneJSON(t, r.stdout, &p)
	out := map[string]string{}
	for _, c := range p.Changes {
		out[c.Pack] = c.Result
	}
	return out, p
}

func reasonOf(p planOut, pack string) string {
	for _, c := range p.Changes {
		if c.Pack == pack {
			return c.Reason
		}
	}
	return ""
}

const prodPolicy = `# Production: solution packs stay on 7.2, the rest only after QA, in the
# Saturday night window, outside the December freeze.
version: 1
policy:
  all:
    - versions:
        - pack: Microsoft.IntelligencePacks.*
          constraint: "~7.2"
    - promotion:
        from: QA
        soak: 3d
    - window:
        zone: Europe/Berlin
        allow:
          - cron: "0 2 * * SAT"
            duration: 4h
        deny:
          - {cron: "0 0 20 12 *", duration: 336h}
    - manual
`

func TestApprovalCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	file := f.writePolicy(t, "prod.yaml", prodPolicy)

	// A Wednesday: the window opens on Saturday at 02:00 Berlin time.
	r := f.mustOK(t, "approval", "check", file, "--at", "2026-06-03T12:00:00Z")
	assert.Contains(t, r.stdout, "line 5   all of:")
	assert.Contains(t, r.stdout, "line 6   policy(Microsoft.IntelligencePacks.* ~7.2)")
	assert.Contains(t, r.stdout, "line 9   promotion(from QA, soak 72h0m0s)")
	assert.Contains(t, r.stdout, `window(allow "0 2 * * SAT" for 4h0m0s (Europe/Berlin), deny "0 0 20 12 *" for 336h0m0s (Europe/Berlin))`)
	assert.Contains(t, r.stdout, "closed; next opens 2026-06-06T00:00:00Z")
	assert.Contains(t, r.stdout, "note: line 9: promotion(from QA, soak 72h0m0s) reads the ledger in the store")

	// In the window, and in the December freeze.
	var doc policyCheckDoc
	r = f.mustOK(t, "approval", "check", file, "--at", "2026-06-06T01:00:00Z", "--json")
	oneJSON(t, r.stdout, &doc)
	require.Len(t, doc.Windows, 1)
	assert.True(t, doc.Windows[0].Open)
	assert.Equal(t, "policy.all[2].window", doc.Windows[0].Field)
	assert.Equal(t, 12, doc.Windows[0].Line)
	assert.Equal(t, "all", doc.Policy.Kind)
	require.Len(t, doc.Policy.Parts, 4)
	assert.Equal(t, "manual", doc.Policy.Parts[3].Kind)

	doc = policyCheckDoc{}
	r = f.mustOK(t, "approval", "check", file, "--at", "2026-12-26T01:00:00Z", "--json")
	oneJSON(t, r.stdout, &doc)
	assert.False(t, doc.Windows[0].Open)
	assert.Equal(t, "2027-01-09T01:00:00Z", doc.Windows[0].NextOpen, "the first Saturday after the freeze")

	// The check needs no store and creates none.
	_, err := os.Stat(f.store)
	assert.True(t, os.IsNotExist(err))
}

func TestApprovalCheckErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := f.writePolicy(t, "bad.yaml", "policy:\n  all:\n    - manual\n    - window:\n        allow:\n          - cron: '0 2 * * SAT'\n            duration: 4 hours\n")
	for _, args := range [][]string{
		{"approval", "check", bad},
		{"approval", "check", bad, "--json"},
		{"--approval-file", bad, "sync"},
		{"--approval-file", bad, "status"},
	} {
		r := f.run(t, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		line := oneLineErr(t, r.stderr)
		assert.Contains(t, line, "line 7, column 23: field policy.all[1].window.allow[0].duration: duration \"4 hours\"")
	}
	_, err := os.Stat(f.store)
	assert.True(t, os.IsNotExist(err), "a bad policy stops the command before it opens the store")

	typo := f.writePolicy(t, "typo.json", "{\"policy\": {\"window\": {\"allow\": [{\"cron\": \"@daily\", \"duraton\": \"1h\"}]}}}")
	r := f.run(t, "approval", "check", typo)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "line 1, column 53: field policy.window.allow[0].duraton: unknown field (want cron, duration, zone)")

	for _, args := range [][]string{
		{"approval"}, {"approval", "lint", typo}, {"approval", "check"}, {"approval", "check", typo, typo},
		{"approval", "check", typo, "--at", "tomorrow"},
		{"approval", "check", f.dir + "/missing.yaml"},
		{"--at", "2026-06-03T12:00:00Z", "status"},
	} {
		r := f.run(t, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
		oneLineErr(t, r.stderr)
	}
}

func TestApprovalAndApprovalFileTogether(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	file := f.writePolicy(t, "auto.yaml", "policy: auto\n")
	r := f.run(t, "--approval", "manual", "--approval-file", file, "sync")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "give --approval or --approval-file, not both")

	r = runCLI(t, cleanEnv("MPSYNC_APPROVAL=manual"), f.args("--approval-file", file, "sync")...)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "MPSYNC_APPROVAL in the environment")

	r = runCLI(t, cleanEnv("MPSYNC_APPROVAL_FILE="+file), f.args("sync", "--json")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, f.packs(t), 6, "MPSYNC_APPROVAL_FILE names the policy")
}

func TestApprovalFileFreezeAndVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	freeze := f.writePolicy(t, "freeze.yaml", "policy:\n  freeze: {reason: quarter close}\n")
	res, p := f.syncResults(t, "--approval-file", freeze)
	assert.Equal(t, "denied", res[advisorID])
	assert.Contains(t, reasonOf(p, advisorID), "quarter close")
	assert.Empty(t, f.packs(t))

	// Solution packs must stay on 7.1: the catalog's 7.2 ones are denied,
	// the base packs go through.
	versions := f.writePolicy(t, "versions.json", `{"version": 1, "policy": {"versions": [
	  {"pack": "Microsoft.IntelligencePacks.*", "constraint": "~7.1"}]}}`)
	res, p = f.syncResults(t, "--approval-file", versions)
	assert.Equal(t, "applied", res[advisorID])
	assert.Equal(t, "denied", res[alertID])
	assert.Contains(t, reasonOf(p, alertID), `must satisfy "~7.1"`)
	assert.Contains(t, f.packs(t), advisorID)
	assert.NotContains(t, f.packs(t), alertID)
}

func TestApprovalFileWindowAndManual(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A window that opens once a year for a minute: closed now (but on
	// New Year's midnight).
	closed := f.writePolicy(t, "closed.yaml", "policy:\n  all:\n    - window:\n        allow: [{cron: '0 0 1 1 *', duration: 1m}]\n    - manual\n")
	res, p := f.syncResults(t, "--approval-file", closed)
	assert.Equal(t, "pending", res[advisorID])
	assert.Contains(t, reasonOf(p, advisorID), "outside the allowed change windows")

	// manual inside the policy queued the change: approving it is not
	// enough while the window is closed.
	f.mustOK(t, "approve", "--all")
	res, _ = f.syncResults(t, "--approval-file", closed)
	assert.Equal(t, "pending", res[advisorID])

	// With a window that is always open, the approvals go through.
	open := f.writePolicy(t, "open.yaml", "policy:\n  all:\n    - window:\n        deny: [{cron: '0 0 1 1 *', duration: 1m}]\n    - manual\n")
	res, _ = f.syncResults(t, "--approval-file", open)
	assert.Equal(t, "applied", res[advisorID])
}

// copyLedger appends the result records of the store at from to the ledger
// of the store at to: what a ledger the groups share would hold.
func copyLedger(t *testing.T, from, to string) int {
	t.Helper()
	ctx := context.Background()
	src, err := store.OpenDir(from, nil)
	require.NoError(t, err)
	recs, err := ledger.NewJSONL(src).Query(ctx, ledger.Query{Kind: ledger.KindResult})
	require.NoError(t, err)
	require.NoError(t, src.Close())
	dst, err := store.OpenDir(to, nil)
	require.NoError(t, err)
	defer dst.Close()
	l := ledger.NewJSONL(dst)
	for _, r := range recs {
		require.NoError(t, l.Append(ctx, r))
	}
	return len(recs)
}

func TestApprovalFilePromotion(t *testing.T) {
	t.Parallel()
	qa := newFixture(t)
	qa.mustOK(t, "--mg-name", "QA", "sync")
	require.Len(t, qa.packs(t), 6)

	soaked := "policy:\n  promotion: {from: QA, soak: 0s}\n"
	soaking := "policy:\n  promotion: {from: QA, soak: 3d}\n"

	// PROD's store knows nothing of QA: everything waits.
	prod := newFixture(t)
	res, p := prod.syncResults(t, "--mg-name", "PROD", "--approval-file", prod.writePolicy(t, "p.yaml", soaked))
	assert.Equal(t, "pending", res[advisorID])
	assert.Contains(t, reasonOf(p, advisorID), "not yet imported in QA")

	// With QA's results in the ledger, a soak QA has served goes through
	// and one it has not waits.
	require.Positive(t, copyLedger(t, qa.store, prod.store))
	res, p = prod.syncResults(t, "--mg-name", "PROD", "--approval-file", prod.writePolicy(t, "q.yaml", soaking))
	assert.Equal(t, "pending", res[advisorID])
	assert.Contains(t, reasonOf(p, advisorID), "soaking until")
	res, _ = prod.syncResults(t, "--mg-name", "PROD", "--approval-file", prod.writePolicy(t, "p.yaml", soaked))
	assert.Equal(t, "applied", res[advisorID])
	assert.Contains(t, prod.packs(t), advisorID)
}

func TestHelpNamesPolicyAndMetrics(t *testing.T) {
	var stdout, stderr strings.Builder
	require.Equal(t, exitOK, run(context.Background(), []string{"--help"}, &stdout, &stderr, noEnv, false))
	for _, w := range []string{"--approval-file", "MPSYNC_APPROVAL_FILE", "approval check FILE", "--metrics-addr", "MPSYNC_METRICS_ADDR", "--at TIME"} {
		assert.Contains(t, stdout.String(), w)
	}
	stdout.Reset()
	require.Equal(t, exitOK, run(context.Background(), []string{"help", "approval"}, &stdout, &stderr, noEnv, false))
	for _, w := range []string{"version: 1", "promotion:", "versions:", "window:", "deny:", "any:", "line 7, column 23"} {
		assert.Contains(t, stdout.String(), w)
	}
	stdout.Reset()
	require.Equal(t, exitOK, run(context.Background(), []string{"help", "run"}, &stdout, &stderr, noEnv, false))
	assert.Contains(t, stdout.String(), "/readyz")
}
