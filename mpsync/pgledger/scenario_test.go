package pgledger_test

import (
	"context"
	"testing"
	"time"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/pgledger"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
)

const (
	advisorID = "Microsoft.SystemCenter.Advisor"
	alertID   = "Microsoft.IntelligencePacks.AlertManagement"
)

var scLib = mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

// newWorkspace returns a client of an in-memory fake workspace with a base
// pack and one enabled solution.
func newWorkspace(t *testing.T) *workspace.Client {
	t.Helper()
	ref := pack.Reference{Alias: "A", ID: advisorID, Version: pack.MustParseVersion("7.1.10226.0"), PublicKeyToken: "31bf3856ad364e35"}
	srv := mpsynctest.NewWorkspace(
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib)),
		mpsynctest.WithPack(alertID, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11719.0", scLib, ref)),
	)
	cfg := srv.ClientConfig()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	cfg.TempDir = t.TempDir()
	c, err := workspace.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEngine(t *testing.T, st mpsync.Store, ws *workspace.Client, clock *mpsynctest.ManualClock, o mpsync.Options) *mpsync.Engine {
	t.Helper()
	o.Workspace, o.Clock = ws, clock
	e, err := mpsync.New(st, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func versions(t *testing.T, st *store.Memory) map[string]string {
	t.Helper()
	list, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list {
		out[e.ID] = e.Version.String()
	}
	return out
}

func syncOnce(t *testing.T, e *mpsync.Engine) *mpsync.Report {
	t.Helper()
	rep, err := e.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestPromotionThroughPostgres: QA and production are separate management
// groups, each with its own store and its own connection pool, sharing
// evidence through the PostgreSQL ledger. Production imports a pack only
// after the same version and hash has soaked 72 hours in QA.
func TestPromotionThroughPostgres(t *testing.T) {
	clock := mpsynctest.NewManualClock(leaseT0)
	ws := newWorkspace(t)
	qaDB := openDB(t, nil)
	prodDB := openDB(t, &pgledger.Options{Schema: qaDB.Schema()}) // another server, same database

	qaStore, prodStore := store.NewMemory(), store.NewMemory()
	qa := newEngine(t, qaStore, ws, clock, mpsync.Options{Group: scom.ManagementGroup{Name: "QA"}, Ledger: qaDB.Ledger()})
	promo, err := approval.NewPromotion(prodDB.Ledger(), "QA", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prod := newEngine(t, prodStore, ws, clock, mpsync.Options{Group: scom.ManagementGroup{Name: "Production"}, Ledger: prodDB.Ledger(), Approver: promo})

	if rep := syncOnce(t, qa); rep.Err() != nil {
		t.Fatalf("QA sync: %v", rep.Err())
	}
	if len(versions(t, qaStore)) != 2 {
		t.Fatalf("QA imported %v, want both packs", versions(t, qaStore))
	}
	rep := syncOnce(t, prod)
	if got := versions(t, prodStore); len(got) != 0 {
		t.Fatalf("production imported %v before any soak", got)
	}
	if len(rep.Pending()) == 0 {
		t.Fatal("production's changes are not pending on the soak")
	}

	clock.Advance(48 * time.Hour)
	syncOnce(t, prod)
	if got := versions(t, prodStore); len(got) != 0 {
		t.Fatalf("production imported %v after 48 h of a 72 h soak", got)
	}

	clock.Advance(25 * time.Hour)
	rep = syncOnce(t, prod)
	if rep.Err() != nil {
		t.Fatalf("production sync after the soak: %v", rep.Err())
	}
	want, got := versions(t, qaStore), versions(t, prodStore)
	if len(got) != len(want) || got[advisorID] != want[advisorID] || got[alertID] != want[alertID] {
		t.Fatalf("after the soak production has %v, want QA's %v", got, want)
	}

	// Both groups' evidence is in the one table.
	recs, err := qaDB.Ledger().Query(context.Background(), ledger.Query{Kind: ledger.KindResult, Pack: alertID})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]bool{}
	for _, r := range recs {
		if r.Result == "applied" {
			groups[r.Group] = true
		}
	}
	if !groups["QA"] || !groups["Production"] {
		t.Fatalf("applied results for %s by group: %v, want QA and Production", alertID, groups)
	}
}

// TestLeaseOneManagementServerRuns: two management servers of PROD share a
// store and the PostgreSQL lease; only the holder runs, and the other takes
// over when the holder stops renewing.
func TestLeaseOneManagementServerRuns(t *testing.T) {
	ctx := context.Background()
	clock := mpsynctest.NewManualClock(leaseT0)
	ws := newWorkspace(t)
	db1 := openDB(t, &pgledger.Options{Now: clock.Now})
	db2 := openDB(t, &pgledger.Options{Now: clock.Now, Schema: db1.Schema()})
	st := store.NewMemory()
	ms1 := newEngine(t, st, ws, clock, mpsync.Options{Lease: db1.Lease("PROD"), Holder: "MS01", Ledger: db1.Ledger()})
	ms2 := newEngine(t, st, ws, clock, mpsync.Options{Lease: db2.Lease("PROD"), Holder: "MS02", Ledger: db2.Ledger()})

	rep1, err := ms1.RunDue(ctx)
	if err != nil || rep1 == nil {
		t.Fatalf("MS01 on a free lease: report %v, err %v; want a run", rep1, err)
	}
	rep2, err := ms2.RunDue(ctx)
	if err != nil || rep2 != nil {
		t.Fatalf("MS02 while MS01 holds the lease: report %v, err %v; want no run", rep2, err)
	}
	if h := holder(t, db2.Lease("PROD")); h != "MS01" {
		t.Fatalf("holder %q, want MS01", h)
	}

	// MS01 goes down: it stops renewing, the lease expires, MS02 takes over.
	clock.Advance(mpsync.DefaultLeaseTTL + time.Minute)
	rep2, err = ms2.RunDue(ctx)
	if err != nil || rep2 == nil {
		t.Fatalf("MS02 after the lease expired: report %v, err %v; want a run", rep2, err)
	}
	if h := holder(t, db1.Lease("PROD")); h != "MS02" {
		t.Fatalf("holder %q, want MS02", h)
	}
	rep1, err = ms1.RunDue(ctx)
	if err != nil || rep1 != nil {
		t.Fatalf("MS01 back up while MS02 holds the lease: report %v, err %v; want no run", rep1, err)
	}
}
