// Package pgtest starts a throw-away PostgreSQL server for the tests of
// the packages that keep state in PostgreSQL (mpsync/pgstore, the mpsync
// command's failover tests), the way mpsync/pgledger's own tests do: initdb
// in a temporary directory, a free loopback port, password authentication,
// fsync off, run as the postgres user when the tests run as root.
//
// It exists so that every package tests against a real server without
// repeating the start-up code, and so that "no server" means the same
// everywhere: the tests skip, unless CI=true, where they fail. Install the
// server with .ci/postgres.sh.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Password is the postgres role's password on the servers this package
// starts; tests check that it never appears in output.
const Password = "s3cret-Pa55word-pgstore"

var (
	dsn      string // "" when no server
	noServer string // why there is no server
	count    atomic.Int64
)

// Main starts a server, runs the tests and stops the server; call it from
// TestMain as os.Exit(pgtest.Main(m)). Without a server the tests run and
// [DSN] skips them, unless CI=true, in which case Main fails at once.
func Main(m *testing.M) int { return MainFunc(m, nil) }

// MainFunc is [Main] for a package whose tests keep the server's DSN in
// variables of their own: ready, when not nil, is called before the tests
// run with the DSN ("" when there is no server) and why there is none.
func MainFunc(m *testing.M, ready func(dsn, noServer string)) int {
	srv, err := start()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "CI=true and no PostgreSQL server: %v\n", err)
			return 1
		}
		noServer = err.Error()
		if ready != nil {
			ready("", noServer)
		}
		return m.Run()
	}
	defer srv.stop()
	dsn = srv.dsn
	if ready != nil {
		ready(dsn, "")
	}
	return m.Run()
}

// DSN returns the password-authenticated DSN of the server Main started,
// or skips t when there is none.
func DSN(t testing.TB) string {
	t.Helper()
	if dsn == "" {
		t.Skipf("no PostgreSQL server (install one with .ci/postgres.sh; CI=true makes this a failure): %s", noServer)
	}
	return dsn
}

// Schema returns a schema name no other test of this process uses, so each
// test starts with empty tables.
func Schema() string { return fmt.Sprintf("t%d_%d", os.Getpid(), count.Add(1)) }

type server struct {
	dir, bin, dsn, logOut string
	runAs                 []string
}

func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
}

func start() (*server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, bin: bin, logOut: filepath.Join(dir, "server.log")}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	chown := func(string) error { return nil }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		chown = func(p string) error { return os.Chown(p, uid, gid) }
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return nil, fmt.Errorf("running as root and no runuser to start the server as postgres: %w", err)
		}
		s.runAs = []string{runuser, "-u", "postgres", "--"}
	}
	if err := chown(dir); err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := chown(pwfile); err != nil {
		return nil, err
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
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB -c max_connections=100", port, dir)
		out, err := s.run("pg_ctl", "-D", data, "-l", s.logOut, "-o", opts, "-w", "-t", "60", "start")
		if err == nil {
			s.dsn = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", Password, port)
			ok = true
			return s, nil
		}
		log, _ := os.ReadFile(s.logOut)
		lastErr = fmt.Errorf("pg_ctl start on port %d: %v\n%s\n%s", port, err, out, log)
	}
	return nil, lastErr
}

func (s *server) run(prog string, args ...string) (string, error) {
	argv := append(append(append([]string{}, s.runAs...), filepath.Join(s.bin, prog)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (s *server) stop() {
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v\n%s\n", err, out)
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

var (
	shared     sync.Once
	sharedSrv  *server
	sharedErr  error
	sharedLock sync.Mutex
)

// Shared returns the DSN of a server started on first use, for a package
// whose TestMain cannot wrap every test in [Main] (most of its tests need
// no database); call [StopShared] at the end of TestMain. Without a server
// it skips t, or fails it under CI=true.
func Shared(t testing.TB) string {
	t.Helper()
	shared.Do(func() { sharedSrv, sharedErr = start() })
	if sharedErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no PostgreSQL server: %v", sharedErr)
		}
		t.Skipf("no PostgreSQL server (install one with .ci/postgres.sh; CI=true makes this a failure): %v", sharedErr)
	}
	return sharedSrv.dsn
}

// StopShared stops the server [Shared] started, if any.
func StopShared() {
	sharedLock.Lock()
	defer sharedLock.Unlock()
	if sharedSrv != nil {
		sharedSrv.stop()
		sharedSrv = nil
	}
}

// NewDatabase creates an empty database on the server whose DSN base is
// and returns its DSN.
func NewDatabase(t testing.TB, base string) string {
	t.Helper()
	name := fmt.Sprintf("db%d_%d", os.Getpid(), count.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
