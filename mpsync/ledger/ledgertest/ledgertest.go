// Package ledgertest checks an [ledger.Ledger] implementation against the
// contract the engine and the promotion approver rely on. Call [Run] from a
// test of your implementation:
//
//	func TestMyLedger(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return newMyLedger(t) })
//	}
//
// Run uses subtests; each calls newLedger for a fresh, empty ledger.
package ledgertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

// base is the time the suite's records start at.
func base() time.Time { return time.Date(2026, 3, 28, 22, 0, 0, 0, time.UTC) }

// Run checks the ledgers newLedger returns: append and query with each
// filter field, oldest-first order, concurrent appends (run it with -race),
// and that records come back as a JSON round trip returns them.
func Run(t *testing.T, newLedger func(t *testing.T) ledger.Ledger) {
	t.Helper()
	t.Run("Empty", func(t *testing.T) { testEmpty(t, newLedger(t)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, newLedger) })
	t.Run("OldestFirst", func(t *testing.T) { testOrder(t, newLedger(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newLedger(t)) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrent(t, newLedger(t)) })
}

// Sample returns a fully populated record: every field set, a time in a
// non-UTC zone with nanoseconds, so a round trip through any encoding is
// checked on all of them.
func Sample() ledger.Record {
	berlin := time.FixedZone("CET", 3600)
	return ledger.Record{
		Time:        time.Date(2026, 3, 29, 3, 4, 5, 123456789, berlin),
		Kind:        ledger.KindResult,
		Group:       "QA",
		WorkspaceID: "ws-00000000-0000-0000-0000-000000000001",
		Rule:        string(rules.GetIntelligencePacks),
		ChangeID:    "chg-0123456789abcdef",
		Action:      plan.ActionUpgrade,
		Pack:        "Microsoft.IntelligencePacks.Updates",
		Version:     pack.MustParseVersion("7.1.10226.1239"),
		SHA256:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Verdict:     plan.Approve,
		Result:      "applied",
		By:          "engine",
		Reason:      "catalog serial 42 \"quoted\" <xml> & ünïcode",
		Error:       "none",
	}
}

func mustAppend(t *testing.T, l ledger.Ledger, recs ...ledger.Record) {
	t.Helper()
	for _, r := range recs {
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatalf("Append(%s %s %s): %v", r.Kind, r.Group, r.Pack, err)
		}
	}
}

func query(t *testing.T, l ledger.Ledger, q ledger.Query) []ledger.Record {
	t.Helper()
	got, err := l.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return got
}

func testEmpty(t *testing.T, l ledger.Ledger) {
	if got := query(t, l, ledger.Query{}); len(got) != 0 {
		t.Fatalf("Query on an empty ledger returned %d records, want 0", len(got))
	}
}

// fixture is the record set the filter cases query.
func fixture() []ledger.Record {
	v1 := pack.MustParseVersion("7.1.0.1")
	v2 := pack.MustParseVersion("7.2.0.0")
	rec := func(min int, kind ledger.Kind, group, p string, v pack.Version, sha, tag string) ledger.Record {
		return ledger.Record{Time: base().Add(time.Duration(min) * time.Minute), Kind: kind, Group: group, Pack: p, Version: v, SHA256: sha, Reason: tag}
	}
	return []ledger.Record{
		rec(0, ledger.KindDecision, "QA", "A", v1, "aa", "r0"),
		rec(1, ledger.KindResult, "QA", "A", v1, "aa", "r1"),
		rec(2, ledger.KindResult, "PROD", "A", v1, "aa", "r2"),
		rec(3, ledger.KindResult, "QA", "A", v2, "bb", "r3"),
		rec(4, ledger.KindResult, "QA", "B", v1, "cc", "r4"),
		rec(5, ledger.KindMarkBad, "QA", "A", v2, "", "r5"),
		rec(6, ledger.KindRun, "PROD", "", pack.Version{}, "", "r6"),
	}
}

func tags(recs []ledger.Record) string {
	s := ""
	for i, r := range recs {
		if i > 0 {
			s += ","
		}
		s += r.Reason
	}
	return s
}

func testFilters(t *testing.T, newLedger func(t *testing.T) ledger.Ledger) {
	l := newLedger(t)
	mustAppend(t, l, fixture()...)
	cases := []struct {
		name string
		q    ledger.Query
		want string
	}{
		{"all", ledger.Query{}, "r0,r1,r2,r3,r4,r5,r6"},
		{"kind", ledger.Query{Kind: ledger.KindResult}, "r1,r2,r3,r4"},
		{"group", ledger.Query{Group: "PROD"}, "r2,r6"},
		{"pack", ledger.Query{Pack: "B"}, "r4"},
		{"version", ledger.Query{Version: pack.MustParseVersion("7.2")}, "r3,r5"},
		{"sha", ledger.Query{SHA256: "aa"}, "r0,r1,r2"},
		{"since inclusive", ledger.Query{Since: base().Add(4 * time.Minute)}, "r4,r5,r6"},
		{"since other zone", ledger.Query{Since: base().Add(5 * time.Minute).In(time.FixedZone("X", -7*3600))}, "r5,r6"},
		{"combined", ledger.Query{Kind: ledger.KindResult, Group: "QA", Pack: "A", Version: pack.MustParseVersion("7.1.0.1"), SHA256: "aa"}, "r1"},
		{"no match", ledger.Query{Group: "DEV"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tags(query(t, l, c.q)); got != c.want {
				t.Errorf("Query(%+v) = [%s], want [%s]", c.q, got, c.want)
			}
		})
	}
}

func testOrder(t *testing.T, l ledger.Ledger) {
	// Appended out of time order (two groups with their own clocks), and two
	// records at the same time: sorted by time, ties in append order.
	at := func(min int, tag string) ledger.Record {
		return ledger.Record{Time: base().Add(time.Duration(min) * time.Minute), Kind: ledger.KindRun, Reason: tag}
	}
	mustAppend(t, l, at(5, "c"), at(1, "a"), at(5, "d"), at(3, "b"), at(9, "e"))
	if got := tags(query(t, l, ledger.Query{})); got != "a,b,c,d,e" {
		t.Fatalf("Query order = [%s], want [a,b,c,d,e]", got)
	}
}

func testRoundTrip(t *testing.T, l ledger.Ledger) {
	want := Sample()
	mustAppend(t, l, want)
	got := query(t, l, ledger.Query{})
	if len(got) != 1 {
		t.Fatalf("Query returned %d records, want 1", len(got))
	}
	if !got[0].Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got[0].Time, want.Time)
	}
	// Compare everything else through JSON, which is how records travel.
	g, w := got[0], want
	g.Time, w.Time = time.Time{}, time.Time{}
	if g != w {
		t.Errorf("record changed in the ledger:\n got %+v\nwant %+v", g, w)
	}
	data, err := json.Marshal(got[0])
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back ledger.Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if !back.Time.Equal(want.Time) {
		t.Errorf("JSON round trip Time = %v, want %v", back.Time, want.Time)
	}
	back.Time = time.Time{}
	if back != w {
		t.Errorf("JSON round trip changed the record:\n got %+v\nwant %+v", back, w)
	}
}

func testConcurrent(t *testing.T, l ledger.Ledger) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := ledger.Record{Time: base().Add(time.Duration(i) * time.Second), Kind: ledger.KindDecision, Group: fmt.Sprintf("G%d", w), Reason: fmt.Sprintf("%d/%d", w, i)}
				if err := l.Append(context.Background(), r); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if _, err := l.Query(context.Background(), ledger.Query{Group: r.Group}); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use: %v", err)
	}
	got := query(t, l, ledger.Query{})
	if len(got) != writers*each {
		t.Fatalf("after %d concurrent appends Query returned %d records", writers*each, len(got))
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.Reason] {
			t.Errorf("record %s returned twice", r.Reason)
		}
		seen[r.Reason] = true
	}
	for w := range writers {
		g := query(t, l, ledger.Query{Group: fmt.Sprintf("G%d", w)})
		for i, r := range g {
			if want := fmt.Sprintf("%d/%d", w, i); r.Reason != want {
				t.Fatalf("group G%d record %d = %s, want %s (one writer's records out of order)", w, i, r.Reason, want)
			}
		}
	}
}
