package pgledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/pgledger"
)

func TestOpenInvalidOptions(t *testing.T) {
	ctx := context.Background()
	for _, schema := range []string{"1abc", "a-b", `x"; DROP SCHEMA public; --`, strings.Repeat("s", 64), "a b"} {
		_, err := pgledger.Open(ctx, "postgres://u:pw@127.0.0.1:1/db", &pgledger.Options{Schema: schema})
		if !errors.Is(err, pgledger.ErrInvalid) {
			t.Errorf("Open with schema %q = %v, want ErrInvalid", schema, err)
		}
	}
}

// TestPasswordNeverInErrors covers a DSN that does not parse, a server that
// does not answer and a wrong password, in URL and key=value form.
func TestPasswordNeverInErrors(t *testing.T) {
	const secret = "Hunter2-very-secret"
	ctx := context.Background()
	type tc struct {
		name string
		dsn  string
		want error // nil: any error
	}
	cases := []tc{
		{"url bad port", "postgres://postgres:" + secret + "@127.0.0.1:notaport/db", pgledger.ErrInvalid},
		{"url bad escape", "postgres://postgres:" + secret + "%zz@127.0.0.1:5432/db", pgledger.ErrInvalid},
		{"url bad param", "postgres://postgres:" + secret + "@127.0.0.1:5432/db?sslmode=bogus", pgledger.ErrInvalid},
		{"kv bad port", "host=127.0.0.1 port=notaport user=postgres password=" + secret, pgledger.ErrInvalid},
		{"kv quoted unterminated", "host=127.0.0.1 user=postgres password='" + secret, pgledger.ErrInvalid},
		{"kv bad sslmode", "host=127.0.0.1 user=postgres password=" + secret + " sslmode=bogus", pgledger.ErrInvalid},
		{"nothing listening", fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/db?connect_timeout=5", secret, closedPort(t)), nil},
	}
	if testDSN != "" {
		u, err := url.Parse(testDSN)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("postgres", secret)
		cases = append(cases,
			tc{"wrong password url", u.String(), nil},
			tc{"wrong password kv", fmt.Sprintf("host=%s port=%s user=postgres password=%s dbname=postgres sslmode=disable", u.Hostname(), u.Port(), secret), nil})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			db, err := pgledger.Open(ctx, c.dsn, &pgledger.Options{Logger: log})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v does not wrap %v", err, c.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), secret) {
				t.Errorf("error shows the password: %v", err)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log shows the password: %s", logs.String())
			}
			t.Log(err)
		})
	}
}

func TestWrongPasswordIsAuthError(t *testing.T) {
	needServer(t)
	u, _ := url.Parse(testDSN)
	u.User = url.UserPassword("postgres", "wrong")
	_, err := pgledger.Open(context.Background(), u.String(), nil)
	var e *pgledger.Error
	if !errors.As(err, &e) {
		t.Fatalf("Open with a wrong password = %v, want *pgledger.Error", err)
	}
	if e.SQLState() != "28P01" {
		t.Errorf("SQLState = %q, want 28P01 (invalid_password)", e.SQLState())
	}
	if !strings.Contains(e.Op, "127.0.0.1") || !strings.Contains(e.Op, "connect") {
		t.Errorf("Op %q does not say where it failed", e.Op)
	}
}

func TestLogsNeverShowPassword(t *testing.T) {
	needServer(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := openDB(t, &pgledger.Options{Logger: log})
	ctx := context.Background()
	if _, err := db.Lease("PROD").Acquire(ctx, "MS01", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.Ledger().Append(ctx, ledger.Record{Time: time.Now(), Kind: ledger.KindRun}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "pgledger: connected") {
		t.Errorf("no connection log: %s", logs.String())
	}
	if strings.Contains(logs.String(), testPass) {
		t.Errorf("log shows the password: %s", logs.String())
	}
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	db := openDB(t, nil)
	ctx := context.Background()
	if err := db.Ledger().Append(ctx, ledger.Record{Time: time.Now(), Kind: ledger.KindRun}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			d, err := pgledger.Open(ctx, testDSN, &pgledger.Options{Schema: db.Schema()})
			if err == nil {
				err = d.Migrate(ctx)
				d.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open/Migrate: %v", err)
		}
	}
	got, err := db.Ledger().Query(ctx, ledger.Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Migrate lost records: %d, %v", len(got), err)
	}
	// A fresh schema migrated by several servers at once.
	fresh := fmt.Sprintf("fresh_%d", time.Now().UnixNano())
	for range 4 {
		go func() {
			d, err := pgledger.Open(ctx, testDSN, &pgledger.Options{Schema: fresh})
			if err == nil {
				d.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent first Open of schema %s: %v", fresh, err)
		}
	}
}

func TestClosed(t *testing.T) {
	needServer(t)
	db, err := pgledger.Open(context.Background(), testDSN, &pgledger.Options{Schema: fmt.Sprintf("closed_%d", schemaCount.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db.Close() // idempotent
	ctx := context.Background()
	_, qerr := db.Ledger().Query(ctx, ledger.Query{})
	_, lerr := db.Lease("PROD").Acquire(ctx, "MS01", time.Minute)
	for _, err := range []error{
		db.Ledger().Append(ctx, ledger.Record{Time: time.Now(), Kind: ledger.KindRun}),
		qerr, lerr,
		db.Lease("PROD").Release(ctx, "MS01"),
		db.Migrate(ctx),
	} {
		if !errors.Is(err, pgledger.ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
