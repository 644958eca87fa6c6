package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/pgtest"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
)

// The --database tests run the built command against a PostgreSQL server
// the tests start (internal/pgtest) and the fake workspace of newFixture.

// pgFixture is a fixture whose store is a fresh database.
type pgFixture struct {
	*fixture
	dsn string
}

func newPGFixture(t *testing.T) *pgFixture {
	t.Helper()
	base := pgtest.Shared(t)
	return &pgFixture{fixture: newFixture(t), dsn: pgtest.NewDatabase(t, base)}
}

// pgArgs points the command at the fixture's workspace and database; dir
// is the machine's --store directory (its catalog cache).
func (f *pgFixture) pgArgs(dir string, extra ...string) []string {
	return append([]string{
		"--store", dir, "--database", f.dsn, "--workspace-url", f.srv.URL(), "--allow-http",
		"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", f.keyFile, "--retries", "0",
	}, extra...)
}

func (f *pgFixture) mustPG(t *testing.T, extra ...string) cliResult {
	t.Helper()
	r := runCLI(t, cleanEnv(), f.pgArgs(filepath.Join(f.dir, "cli"), extra...)...)
	require.Equal(t, 0, r.code, "mpsync %v\nstdout: %s\nstderr: %s", extra, r.stdout, r.stderr)
	return r
}

func (f *pgFixture) conn(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), f.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// Every command works on the database store; the password never appears
// in output or logs, nor in the error of a failed connection.
func TestDatabaseCommandsAndPassword(t *testing.T) {
	t.Parallel()
	f := newPGFixture(t)
	r := f.mustPG(t, "connect", "-v")
	r2 := f.mustPG(t, "sync", "--json", "-v")
	st := f.mustPG(t, "status", "--json")
	var s statusOut
	oneJSON(t, st.stdout, &s)
	assert.Len(t, s.Packs, 6, "the sync imported the catalog into the database")
	// The same database seen through the environment variable.
	env := cleanEnv("MPSYNC_DATABASE=" + f.dsn)
	r3 := runCLI(t, env, "--store", filepath.Join(f.dir, "other"), "status", "--json")
	require.Equal(t, 0, r3.code, r3.stderr)
	var s3 statusOut
	oneJSON(t, r3.stdout, &s3)
	assert.Equal(t, s.Packs, s3.Packs)

	bad := strings.Replace(f.dsn, pgtest.Password, "Wr0ng-Secret-Pa55", 1)
	r4 := runCLI(t, cleanEnv("MPSYNC_DATABASE="+bad), "--store", filepath.Join(f.dir, "x"), "status", "-v")
	assert.NotEqual(t, 0, r4.code)
	assert.Contains(t, r4.stderr, "password authentication failed")
	r5 := runCLI(t, cleanEnv(), "--store", filepath.Join(f.dir, "x"), "--database", "postgres://u:Unparsable-Secret@[::1", "status")
	assert.NotEqual(t, 0, r5.code)
	for _, out := range []cliResult{r, r2, st, r3, r4, r5} {
		for _, secret := range []string{pgtest.Password, "Wr0ng-Secret-Pa55", "Unparsable-Secret"} {
			assert.NotContains(t, out.stdout+out.stderr, secret)
		}
	}
	r6 := runCLI(t, cleanEnv(), f.pgArgs(filepath.Join(f.dir, "cli"), "rebuild-store")...)
	assert.Equal(t, 2, r6.code, r6.stderr)
}

// runner is one `mpsync run` process on the shared database.
type runner struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func (f *pgFixture) startRunner(t *testing.T, i int, ttl time.Duration) *runner {
	t.Helper()
	args := f.pgArgs(filepath.Join(f.dir, fmt.Sprintf("server%d", i)), "run", "--lease-ttl", ttl.String(), "-v")
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	r := &runner{cmd: cmd, log: &log}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return r
}

// holderPID returns the pid in the live lease's holder ("host/pid"), 0 when
// none holds it.
func holderPID(t *testing.T, c *pgx.Conn) int {
	var h string
	err := c.QueryRow(context.Background(), `SELECT holder FROM mpsync.lease WHERE expires_at > now()`).Scan(&h)
	if err == pgx.ErrNoRows {
		return 0
	}
	require.NoError(t, err)
	_, pid, _ := strings.Cut(h, "/")
	n, _ := strconv.Atoi(pid)
	return n
}

// applied counts the ledger's applied results for pack at version.
func applied(t *testing.T, c *pgx.Conn, pack, version string) int {
	var n int
	require.NoError(t, c.QueryRow(context.Background(), `SELECT count(*) FROM mpsync.ledger
WHERE kind = 'result' AND pack = $1 AND version = $2 AND record->>'result' = 'applied'`, pack, version).Scan(&n))
	return n
}

// Three `mpsync run` on one database: one runs the rules, the others stand
// by. SIGKILL the holder five times; each time another applies the next
// catalog change within the lease TTL (plus the standby's look and the
// run). At the end every change was applied exactly once and the database
// store matches the catalog.
func TestDatabaseFailoverRealProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and five command processes; skipped with -short")
	}
	const ttl = 3 * time.Second
	f := newPGFixture(t)
	f.mustPG(t, "connect")
	f.mustPG(t, "override", "--rule", "GetIntelligencePacks", "--frequency", "2")
	c := f.conn(t)

	runners := make([]*runner, 3)
	for i := range runners {
		runners[i] = f.startRunner(t, i, ttl)
	}
	n := 0
	var published []string
	publish := func() string {
		n++
		v := fmt.Sprintf("7.2.11720.%d", n)
		f.srv.Publish(alertID, v, catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, v))
		published = append(published, v)
		return v
	}
	waitApplied := func(v string, within time.Duration) time.Duration {
		start := time.Now()
		for time.Since(start) < within {
			if applied(t, c, alertID, v) > 0 {
				return time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for i, r := range runners {
			t.Logf("runner %d log:\n%s", i, r.log.String())
		}
		t.Fatalf("version %s not applied within %v", v, within)
		return 0
	}
	waitApplied(publish(), 30*time.Second)

	var takeovers []time.Duration
	for k := range 5 {
		pid := holderPID(t, c)
		require.NotZero(t, pid, "someone holds the lease")
		i := slices.IndexFunc(runners, func(r *runner) bool { return r.cmd.Process.Pid == pid })
		require.GreaterOrEqual(t, i, 0, "the holder %d is one of the runners", pid)
		require.NoError(t, runners[i].cmd.Process.Signal(syscall.SIGKILL))
		killed := time.Now()
		runners[i].cmd.Wait()
		v := publish()
		waitApplied(v, ttl+10*time.Second)
		took := time.Since(killed)
		takeovers = append(takeovers, took)
		newPID := holderPID(t, c)
		assert.NotEqual(t, pid, newPID, "kill %d: another server took over", k)
		assert.LessOrEqual(t, took, ttl+2*time.Second, "kill %d: takeover within the lease TTL plus the standby's look", k)
		runners[i] = f.startRunner(t, i, ttl) // the server comes back, as a standby
	}
	slices.Sort(takeovers)
	t.Logf("takeover after SIGKILL (ttl %v): median %v, max %v, all %v", ttl, takeovers[len(takeovers)/2], takeovers[len(takeovers)-1], takeovers)
	if out := os.Getenv("MPSYNC_TAKEOVER_OUT"); out != "" {
		os.WriteFile(out, []byte(fmt.Sprintf("median %v max %v all %v\n", takeovers[len(takeovers)/2], takeovers[len(takeovers)-1], takeovers)), 0o644)
	}
	time.Sleep(time.Second) // the last server restarted has its signal handler
	for _, r := range runners {
		r.cmd.Process.Signal(syscall.SIGINT)
	}
	for _, r := range runners {
		assert.Equal(t, 0, waitExit(t, r.cmd))
	}

	// Exactly once: no pack version applied twice, every published version
	// applied.
	rows, err := c.Query(context.Background(), `SELECT pack, version, count(*) FROM mpsync.ledger
WHERE kind = 'result' AND record->>'result' = 'applied' GROUP BY pack, version HAVING count(*) > 1`)
	require.NoError(t, err)
	for rows.Next() {
		var p, v string
		var cnt int
		require.NoError(t, rows.Scan(&p, &v, &cnt))
		t.Errorf("%s %s applied %d times", p, v, cnt)
	}
	rows.Close()
	for _, v := range published {
		assert.Equal(t, 1, applied(t, c, alertID, v), "version %s applied once", v)
	}
	// The store matches the catalog: a plan against it has nothing to do.
	var p planOut
	oneJSON(t, f.mustPG(t, "plan", "--json").stdout, &p)
	require.Empty(t, p.Error)
	for _, ch := range p.Changes {
		assert.Equal(t, "keep", ch.Action, "%s %s -> %s: the store matches the catalog", ch.Pack, ch.From, ch.To)
	}
	var s statusOut
	oneJSON(t, f.mustPG(t, "status", "--json").stdout, &s)
	assert.Len(t, s.Packs, 7, "six catalog packs and the override pack")
	for _, sp := range s.Packs {
		if sp.ID == alertID {
			assert.Equal(t, published[len(published)-1], sp.Version)
		}
	}
}
