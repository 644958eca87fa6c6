package pgledger_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/internal/pgtest"
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

// TestMain starts the PostgreSQL server the tests use (internal/pgtest,
// shared with pgstore's tests); with CI=true a missing server fails.
func TestMain(m *testing.M) {
	os.Exit(pgtest.MainFunc(m, func(dsn, why string) {
		testDSN, noServer, testPass = dsn, why, pgtest.Password
	}))
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

// freePort returns a loopback port nothing listens on (a moment ago).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
