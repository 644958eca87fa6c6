package pgledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pgledger"
)

var leaseT0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// manualDB opens a fresh schema whose lease clock is a manual clock.
func manualDB(t *testing.T) (*pgledger.DB, *mpsynctest.ManualClock) {
	t.Helper()
	clock := mpsynctest.NewManualClock(leaseT0)
	return openDB(t, &pgledger.Options{Now: clock.Now}), clock
}

func acquire(t *testing.T, l *pgledger.Lease, holder string, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.Acquire(context.Background(), holder, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", holder, err)
	}
	return ok
}

func holder(t *testing.T, l *pgledger.Lease) string {
	t.Helper()
	s, err := l.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return s.Holder
}

func TestLeaseTwoHolders(t *testing.T) {
	db, clock := manualDB(t)
	l := db.Lease("PROD")
	steps := []struct {
		advance time.Duration
		holder  string
		want    bool
		after   string // holder after the step
	}{
		{0, "MS01", true, "MS01"},                 // free: taken
		{0, "MS02", false, "MS01"},                // held by another
		{9 * time.Minute, "MS01", true, "MS01"},   // renew before expiry
		{9 * time.Minute, "MS02", false, "MS01"},  // at 18 min: renewed at 9, held until 19
		{59 * time.Second, "MS02", false, "MS01"}, // 18:59
		{time.Second, "MS02", true, "MS02"},       // 19:00: the expiry instant is free, as in lease.Memory
		{0, "MS01", false, "MS02"},                // the old holder comes back: waits
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := acquire(t, l, s.holder, 10*time.Minute); got != s.want {
			t.Fatalf("step %d at +%v: Acquire(%s) = %v, want %v", i, clock.Now().Sub(leaseT0), s.holder, got, s.want)
		}
		if h := holder(t, l); h != s.after {
			t.Fatalf("step %d: holder %q, want %q", i, h, s.after)
		}
	}
}

func TestLeaseStateKeepsSinceOnRenew(t *testing.T) {
	db, clock := manualDB(t)
	l := db.Lease("PROD")
	acquire(t, l, "MS01", time.Minute)
	clock.Advance(30 * time.Second)
	acquire(t, l, "MS01", time.Minute)
	s, err := l.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Since.Equal(leaseT0) || !s.Until.Equal(leaseT0.Add(90*time.Second)) {
		t.Fatalf("State = %+v, want since %v until %v", s, leaseT0, leaseT0.Add(90*time.Second))
	}
	// After expiry the same holder takes it anew: Since moves.
	clock.Advance(2 * time.Minute)
	if h := holder(t, l); h != "" {
		t.Fatalf("expired lease has holder %q", h)
	}
	acquire(t, l, "MS01", time.Minute)
	s, _ = l.State(context.Background())
	if !s.Since.Equal(clock.Now()) {
		t.Fatalf("Since after re-taking an expired lease = %v, want %v", s.Since, clock.Now())
	}
}

func TestLeaseRelease(t *testing.T) {
	ctx := context.Background()
	db, _ := manualDB(t)
	l := db.Lease("PROD")
	acquire(t, l, "MS01", time.Hour)
	if err := l.Release(ctx, "MS02"); err != nil {
		t.Fatal(err)
	}
	if h := holder(t, l); h != "MS01" {
		t.Fatalf("Release by a non-holder changed the holder to %q", h)
	}
	if err := l.Release(ctx, "MS01"); err != nil {
		t.Fatal(err)
	}
	if h := holder(t, l); h != "" {
		t.Fatalf("after Release holder = %q, want free", h)
	}
	if !acquire(t, l, "MS02", time.Hour) {
		t.Fatal("a released lease is not free")
	}
	if err := l.Release(ctx, "MS01"); err != nil {
		t.Fatalf("Release by a non-holder: %v", err)
	}
}

func TestLeasesAreIndependent(t *testing.T) {
	db, _ := manualDB(t)
	if !acquire(t, db.Lease("QA"), "MS01", time.Hour) || !acquire(t, db.Lease("PROD"), "MS02", time.Hour) {
		t.Fatal("two lease names must not share a holder")
	}
}

func TestLeaseDatabaseClock(t *testing.T) {
	db := openDB(t, nil) // Now nil: the server's now()
	l := db.Lease("PROD")
	if !acquire(t, l, "MS01", time.Hour) {
		t.Fatal("free lease not taken")
	}
	s, err := l.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Until.Sub(s.Since); d != time.Hour {
		t.Errorf("Until-Since = %v, want 1h", d)
	}
	if skew := time.Since(s.Since); skew < -time.Minute || skew > time.Minute {
		t.Errorf("Since %v is not the database's now (local %v)", s.Since, time.Now())
	}
	if acquire(t, l, "MS02", time.Hour) {
		t.Error("held lease taken by another holder")
	}
	// A very short lease expires on the database clock.
	short := db.Lease("SHORT")
	acquire(t, short, "MS01", time.Microsecond)
	var h string
	for range 1000 { // the clock moves on by itself; at most a few rounds
		if h = holder(t, short); h == "" {
			break
		}
	}
	if h != "" {
		t.Fatal("a 1µs lease did not expire")
	}
	if !acquire(t, short, "MS02", time.Hour) {
		t.Fatal("an expired lease was not taken")
	}
}

func TestLeaseConcurrentAcquireOneWins(t *testing.T) {
	db := openDB(t, nil)
	for round := range 5 {
		l := db.Lease(fmt.Sprintf("MG%d", round))
		const n = 16
		var wg sync.WaitGroup
		wins := make(chan string, n)
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				h := fmt.Sprintf("MS%02d", i)
				ok, err := l.Acquire(context.Background(), h, time.Hour)
				if err != nil {
					errs <- err
				}
				if ok {
					wins <- h
				}
			}()
		}
		close(start)
		wg.Wait()
		close(wins)
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		var winners []string
		for w := range wins {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: winners %v, want exactly one", round, winners)
		}
		if h := holder(t, l); h != winners[0] {
			t.Fatalf("round %d: holder %q, winner %q", round, h, winners[0])
		}
	}
}

func TestLeaseInvalidArguments(t *testing.T) {
	db, _ := manualDB(t)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
	}{
		{"empty name", func() error { _, err := db.Lease("").Acquire(ctx, "MS01", time.Minute); return err }},
		{"empty holder", func() error { _, err := db.Lease("PROD").Acquire(ctx, "", time.Minute); return err }},
		{"zero ttl", func() error { _, err := db.Lease("PROD").Acquire(ctx, "MS01", 0); return err }},
		{"negative ttl", func() error { _, err := db.Lease("PROD").Acquire(ctx, "MS01", -time.Second); return err }},
		{"release empty holder", func() error { return db.Lease("PROD").Release(ctx, "") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, pgledger.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}
