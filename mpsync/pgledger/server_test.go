package pgledger_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/pgledger"
)

// The PostgreSQL server TestMain starts for this package's tests, or why
// there is none.
var (
	testDSN     string // password-authenticated loopback DSN; "" when no server
	testPass    string // the postgres role's password
	noServer    string // why there is no server
	schemaCount atomic.Int64
)

const testPassword = "s3cret-Pa55word-pgledger"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	srv, err := startPostgres()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "pgledger tests: CI=true and no PostgreSQL server: %v\n", err)
			return 1
		}
		noServer = err.Error()
		return m.Run()
	}
	defer srv.stop()
	testDSN, testPass = srv.dsn, testPassword
	return m.Run()
}

// needServer skips t when no server could be started (outside CI).
func needServer(t testing.TB) {
	t.Helper()
	if testDSN == "" {
		t.Skipf("no PostgreSQL server for the pgledger tests (install one with .ci/postgres.sh; CI=true makes this a failure): %s", noServer)
	}
}

// openDB opens the test server with a fresh schema, so each test starts
// with empty tables.
func openDB(t testing.TB, opts *pgledger.Options) *pgledger.DB {
	t.Helper()
	needServer(t)
	var o pgledger.Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = fmt.Sprintf("t%d_%d", os.Getpid(), schemaCount.Add(1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgledger.Open(ctx, testDSN, &o)
	if err != nil {
		t.Fatalf("Open(schema %s): %v", o.Schema, err)
	}
	t.Cleanup(db.Close)
	return db
}

// pgServer is a PostgreSQL server in a temporary directory.
type pgServer struct {
	dir    string
	bin    string
	runAs  []string // command prefix that runs a program as the postgres user
	dsn    string
	logOut string
}

// findBin returns the directory holding initdb, pg_ctl and postgres.
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil // highest version last
	}
	return "", errors.New("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
}

func startPostgres() (*pgServer, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgledger-test-")
	if err != nil {
		return nil, err
	}
	s := &pgServer{dir: dir, bin: bin, logOut: filepath.Join(dir, "server.log")}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user,
		// which must own the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return nil, fmt.Errorf("running as root and no runuser to start the server as postgres: %w", err)
		}
		s.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(testPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if len(s.runAs) > 0 {
		u, _ := user.Lookup("postgres")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pwfile, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pwfile, "--no-sync", "--no-instructions"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=50", port, dir)
		out, err := s.run("pg_ctl", "-D", data, "-l", s.logOut, "-o", opts, "-w", "-t", "60", "start")
		if err == nil {
			s.dsn = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", testPassword, port)
			ok = true
			return s, nil
		}
		log, _ := os.ReadFile(s.logOut)
		lastErr = fmt.Errorf("pg_ctl start on port %d: %v\n%s\n%s", port, err, out, log)
	}
	return nil, lastErr
}

// run runs a PostgreSQL program, as the postgres user when we are root.
func (s *pgServer) run(prog string, args ...string) (string, error) {
	argv := append(append(append([]string{}, s.runAs...), filepath.Join(s.bin, prog)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// stop stops the server and removes its directory.
func (s *pgServer) stop() {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop"); err != nil {
		fmt.Fprintf(os.Stderr, "pgledger tests: pg_ctl stop: %v\n%s\n", err, out)
	}
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
