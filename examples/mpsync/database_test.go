package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	log *syncBuffer
}

// syncBuffer is the output of a process, readable while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRunner starts `mpsync run` as server i, with extra flags.
func (f *pgFixture) startRunner(t *testing.T, i int, ttl time.Duration, extra ...string) *runner {
	t.Helper()
	args := f.pgArgs(filepath.Join(f.dir, fmt.Sprintf("server%d", i)), append([]string{"run", "--lease-ttl", ttl.String(), "-v"}, extra...)...)
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	r := &runner{cmd: cmd, log: log}
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

// gate is a pack's bytes served by the fake workspace; once armed, the
// next download stops before its first byte until released (and later
// downloads do not).
type gate struct {
	data     []byte
	armed    atomic.Bool
	entered  chan struct{}
	released chan struct{}
	once     sync.Once
}

func newGate(data []byte) *gate {
	return &gate{data: data, entered: make(chan struct{}), released: make(chan struct{})}
}

func (g *gate) open() io.ReadCloser {
	if g.armed.CompareAndSwap(true, false) {
		return &gatedReader{g: g, r: bytes.NewReader(g.data)}
	}
	return io.NopCloser(bytes.NewReader(g.data))
}

func (g *gate) release() { g.once.Do(func() { close(g.released) }) }

type gatedReader struct {
	g      *gate
	r      io.Reader
	passed bool
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if !r.passed {
		r.passed = true
		close(r.g.entered)
		<-r.g.released
	}
	return r.r.Read(p)
}

func (r *gatedReader) Close() error { return nil }

// ledgerRows counts the ledger's records.
func ledgerRows(t *testing.T, c *pgx.Conn) int {
	var n int
	require.NoError(t, c.QueryRow(context.Background(), `SELECT count(*) FROM mpsync.ledger`).Scan(&n))
	return n
}

// A holder stopped with SIGSTOP after it renewed its lease and before it
// wrote, and resumed after another server took over and applied the
// change, writes nothing: the database refuses its stale token for the
// batch's commit, the ledger appends and the run history (its log says
// so for each), and the ledger holds exactly what it held before it
// resumed. The stop is
// placed exactly: the holder's download of the approved pack is held by the
// fake workspace, so the holder is stopped between its lease renewal
// (before staging) and its writes.
func TestDatabaseStoppedHolderWritesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two command processes; skipped with -short")
	}
	if sigStop == nil {
		t.Skip("no SIGSTOP on this platform")
	}
	const ttl = 3 * time.Second
	deadline := time.Now().Add(55 * time.Second) // the whole test is bounded
	left := func() time.Duration { return time.Until(deadline) }
	f := newPGFixture(t)
	f.mustPG(t, "connect")
	f.mustPG(t, "sync") // the store matches the catalog
	f.mustPG(t, "override", "--rule", "GetIntelligencePacks", "--frequency", "2")
	c := f.conn(t)

	a := f.startRunner(t, 0, ttl, "--approval", "manual")
	require.Eventually(t, func() bool { return holderPID(t, c) == a.cmd.Process.Pid }, left(), 50*time.Millisecond, "the first server holds the lease")
	b := f.startRunner(t, 1, ttl, "--approval", "manual")
	dump := func() {
		t.Logf("server A log:\n%s", a.log.String())
		t.Logf("server B log:\n%s", b.log.String())
	}

	// A plans the new version, which waits for an operator.
	const v = "7.2.11720.77"
	g := newGate(mpsynctest.Pack(alertID, v))
	f.srv.PublishStream(alertID, v, catalog.ChannelSolution, "AlertManagement", g.open)
	pending := func() bool {
		var s statusOut
		oneJSON(t, f.mustPG(t, "status", "--json").stdout, &s)
		return slices.ContainsFunc(s.Pending, func(p struct {
			ID     string `json:"id"`
			Pack   string `json:"pack"`
			To     string `json:"to"`
			Action string `json:"action"`
		}) bool {
			return p.Pack == alertID && p.To == v
		})
	}
	if !assert.Eventually(t, pending, left(), 200*time.Millisecond, "A lists the change as pending") {
		dump()
		t.FailNow()
	}
	// The operator approves; A renews its lease, fetches the pack to stage
	// it, and is held there; then it is stopped.
	g.armed.Store(true)
	f.mustPG(t, "approve", "--all")
	select {
	case <-g.entered:
	case <-time.After(left()):
		dump()
		t.Fatal("A did not fetch the approved pack")
	}
	require.Equal(t, a.cmd.Process.Pid, holderPID(t, c), "A holds the lease when stopped")
	require.NoError(t, a.cmd.Process.Signal(sigStop))
	stopped := time.Now()
	defer a.cmd.Process.Signal(sigCont) //nolint:errcheck // a failed test must not leave it stopped

	// B takes over once A's lease expired, and applies the change.
	if !assert.Eventually(t, func() bool { return applied(t, c, alertID, v) == 1 }, min(left(), ttl+15*time.Second), 50*time.Millisecond, "B applies the change") {
		dump()
		t.FailNow()
	}
	t.Logf("B applied %s %v after A was stopped (ttl %v)", v, time.Since(stopped).Round(time.Millisecond), ttl)
	require.Equal(t, b.cmd.Process.Pid, holderPID(t, c), "B holds the lease")
	// B's run ends (results, run record); then the ledger stays as it is.
	rows := ledgerRows(t, c)
	for stable := time.Now(); time.Since(stable) < 2500*time.Millisecond && left() > 20*time.Second; time.Sleep(100 * time.Millisecond) {
		if n := ledgerRows(t, c); n != rows {
			rows, stable = n, time.Now()
		}
	}
	// A resumes: its download finishes, it stages the pack and tries to
	// commit, record and note its run; the database refuses each.
	g.release()
	require.NoError(t, a.cmd.Process.Signal(sigCont))
	if !assert.Eventually(t, func() bool { return strings.Contains(a.log.String(), "stale fencing token") }, min(left(), 20*time.Second), 100*time.Millisecond, "A's writes are refused and it says so") {
		dump()
		t.FailNow()
	}
	time.Sleep(1500 * time.Millisecond) // A's run ends; anything it could still write would be in by now
	log := a.log.String()
	refused := func(what string) {
		t.Helper()
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, what) && strings.Contains(line, "stale fencing token") {
				return
			}
		}
		dump()
		t.Errorf("A's log has no refusal of %q", what)
	}
	refused("commit: fence")        // the batch with the pack
	refused("ledger append failed") // its result and its run's record
	refused("write meta runs.json") // the run history

	assert.Equal(t, rows, ledgerRows(t, c), "A recorded nothing in the ledger")
	assert.Equal(t, 1, applied(t, c, alertID, v), "the change is applied once, by B")
	var failed int
	require.NoError(t, c.QueryRow(context.Background(), `SELECT count(*) FROM mpsync.ledger
WHERE kind = 'result' AND pack = $1 AND version = $2 AND record->>'result' = 'failed'`, alertID, v).Scan(&failed))
	assert.Zero(t, failed, "A's failed commit is not in the ledger")
	var s statusOut
	oneJSON(t, f.mustPG(t, "status", "--json").stdout, &s)
	for _, sp := range s.Packs {
		if sp.ID == alertID {
			assert.Equal(t, v, sp.Version)
		}
	}
	require.Equal(t, b.cmd.Process.Pid, holderPID(t, c), "B still holds the lease; A stands by")

	for _, r := range []*runner{a, b} {
		r.cmd.Process.Signal(syscall.SIGINT)
	}
	for _, r := range []*runner{a, b} {
		assert.Equal(t, 0, waitExit(t, r.cmd))
	}
}
