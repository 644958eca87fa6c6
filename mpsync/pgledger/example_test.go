package pgledger_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/pgledger"
	"mpsync.dev/mpsync/store"
)

// Open the shared database and wire a production management server's
// engine to it: the ledger it records into and reads QA's evidence from,
// and the lease that lets one of the group's servers run at a time. It
// needs a PostgreSQL server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	db, err := pgledger.Open(ctx, os.Getenv("MPSYNC_DSN"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	promo, err := approval.NewPromotion(db.Ledger(), "QA", 72*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	host, _ := os.Hostname()
	e, err := mpsync.New(store.NewMemory(), &mpsync.Options{
		Group:    scom.ManagementGroup{Name: "PROD"},
		Ledger:   db.Ledger(),
		Approver: promo,
		Lease:    db.Lease("PROD"),
		Holder:   host,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	// e.Start(ctx) runs the rules on this server while it holds the lease.
}

// Ask who runs the rules of a management group now.
func ExampleLease_State() {
	ctx := context.Background()
	db, err := pgledger.Open(ctx, os.Getenv("MPSYNC_DSN"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	s, err := db.Lease("PROD").State(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if s.Holder == "" {
		fmt.Println("no management server holds the lease")
		return
	}
	fmt.Printf("%s runs the rules since %s (until %s)\n", s.Holder, s.Since.Format(time.RFC3339), s.Until.Format(time.RFC3339))
}

// Query the evidence every management group recorded for one pack.
func ExampleLedger_Query() {
	ctx := context.Background()
	db, err := pgledger.Open(ctx, os.Getenv("MPSYNC_DSN"), &pgledger.Options{Schema: "mpsync"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Ledger().Query(ctx, ledger.Query{Kind: ledger.KindResult, Pack: "Microsoft.IntelligencePacks.AlertManagement"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Time.Format(time.RFC3339), r.Group, r.Version, r.Result)
	}
}

// A DSN that does not parse is refused before anything connects, and the
// error says why without repeating the DSN or its password.
func ExampleOpen_invalidDSN() {
	_, err := pgledger.Open(context.Background(), "postgres://mpsync:Secret-1@db.example.com:54x2/mpsync", nil)
	fmt.Println(errors.Is(err, pgledger.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// pgledger: open: invalid argument: the DSN does not parse: invalid port
}
