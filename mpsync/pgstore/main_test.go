package pgstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"mpsync.dev/internal/pgtest"
	"mpsync.dev/mpsync/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open opens a store on a fresh schema unless o names one.
func open(t testing.TB, o *pgstore.Options) *pgstore.Store {
	t.Helper()
	dsn := pgtest.DSN(t)
	var opts pgstore.Options
	if o != nil {
		opts = *o
	}
	if opts.Schema == "" {
		opts.Schema = pgtest.Schema()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn, &opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func dsn(t testing.TB) string { return pgtest.DSN(t) }
