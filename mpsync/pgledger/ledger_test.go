package pgledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/ledger/ledgertest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/pgledger"
)

func TestLedgerConformance(t *testing.T) {
	needServer(t)
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger { return openDB(t, nil).Ledger() })
}

func TestLedgerSharedBetweenOpens(t *testing.T) {
	ctx := context.Background()
	qa := openDB(t, nil)
	prod := openDB(t, &pgledger.Options{Schema: qa.Schema()})
	r := ledgertest.Sample()
	if err := qa.Ledger().Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := prod.Ledger().Query(ctx, ledger.Query{Group: r.Group, Pack: r.Pack, Version: r.Version, SHA256: r.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ChangeID != r.ChangeID {
		t.Fatalf("the second pool sees %+v, want the record the first appended", got)
	}
}

func TestLedgerSinceNanoseconds(t *testing.T) {
	// timestamptz keeps microseconds; Since must still compare nanoseconds.
	ctx := context.Background()
	l := openDB(t, nil).Ledger()
	at := time.Date(2026, 5, 1, 12, 0, 0, 1_000_500, time.UTC)
	for i, d := range []time.Duration{0, 499, 500, 501} {
		r := ledger.Record{Time: at.Add(d - 500), Kind: ledger.KindRun, Reason: string(rune('a' + i))}
		if err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		since time.Time
		want  string
	}{
		{at.Add(-500), "abcd"},
		{at.Add(-499), "bcd"},
		{at.Add(-1), "bcd"},
		{at, "cd"},
		{at.Add(1), "d"},
		{at.Add(2), ""},
	}
	for _, c := range cases {
		got, err := l.Query(ctx, ledger.Query{Since: c.since})
		if err != nil {
			t.Fatal(err)
		}
		var s strings.Builder
		for _, r := range got {
			s.WriteString(r.Reason)
		}
		if s.String() != c.want {
			t.Errorf("Since %s: got [%s], want [%s]", c.since.Format(time.RFC3339Nano), s.String(), c.want)
		}
	}
}

func TestLedgerRejects(t *testing.T) {
	ctx := context.Background()
	l := openDB(t, nil).Ledger()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		r    ledger.Record
		want string
	}{
		{"no kind", ledger.Record{Time: now}, "kind"},
		{"no time", ledger.Record{Kind: ledger.KindRun}, "time"},
		{"NUL in reason", ledger.Record{Time: now, Kind: ledger.KindRun, Reason: "a\x00b"}, "field reason"},
		{"NUL in pack", ledger.Record{Time: now, Kind: ledger.KindResult, Pack: "P\x00"}, "field pack"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := l.Append(ctx, c.r)
			if !errors.Is(err, ledger.ErrInvalidRecord) {
				t.Fatalf("Append = %v, want ErrInvalidRecord", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
		})
	}
	all, err := l.Query(ctx, ledger.Query{})
	if err != nil || len(all) != 0 {
		t.Fatalf("after refused appends Query = %d records, %v; want none", len(all), err)
	}
}

func TestLedgerInvalidUTF8MatchesJSON(t *testing.T) {
	ctx := context.Background()
	l := openDB(t, nil).Ledger()
	r := ledger.Record{Time: time.Now(), Kind: ledger.KindResult, Group: "Q\xffA", Pack: "P", Version: pack.MustParseVersion("1.0.0.0")}
	if err := l.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(ctx, ledger.Query{Group: "Q\xffA"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Group != "Q\uFFFDA" {
		t.Fatalf("Query by an invalid UTF-8 group = %+v, want the record with U+FFFD as JSON stores it", got)
	}
}

func TestLedgerQueryIsParameterised(t *testing.T) {
	ctx := context.Background()
	l := openDB(t, nil).Ledger()
	now := time.Now()
	if err := l.Append(ctx, ledger.Record{Time: now, Kind: ledger.KindRun, Group: "QA"}); err != nil {
		t.Fatal(err)
	}
	for _, evil := range []string{"' OR '1'='1", "QA'; DROP TABLE ledger; --", `QA" OR TRUE --`} {
		got, err := l.Query(ctx, ledger.Query{Group: evil, Pack: evil})
		if err != nil {
			t.Fatalf("Query(%q): %v", evil, err)
		}
		if len(got) != 0 {
			t.Errorf("Query(%q) returned %d records, want 0", evil, len(got))
		}
	}
	if got, err := l.Query(ctx, ledger.Query{Group: "QA"}); err != nil || len(got) != 1 {
		t.Fatalf("the table is damaged: %d records, %v", len(got), err)
	}
}

func TestLedgerCancelledContext(t *testing.T) {
	l := openDB(t, nil).Ledger()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Append(ctx, ledger.Record{Time: time.Now(), Kind: ledger.KindRun})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context = %v, want context.Canceled", err)
	}
	_, err = l.Query(ctx, ledger.Query{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Query with a cancelled context = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), ".\"ledger\"") && !strings.Contains(err.Error(), "ledger") {
		t.Errorf("error %q does not name the table", err)
	}
}

// AppendBatch records in order, in one statement, and all or nothing: a
// bad record anywhere in the batch means none is recorded.
func TestLedgerAppendBatch(t *testing.T) {
	ctx := context.Background()
	l := openDB(t, nil).Ledger()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var rs []ledger.Record
	for i := range 50 {
		rs = append(rs, ledger.Record{Time: at, Kind: ledger.KindRun, Reason: string(rune('A' + i))})
	}
	if err := l.AppendBatch(ctx, rs); err != nil {
		t.Fatal(err)
	}
	bad := []ledger.Record{{Time: at, Kind: ledger.KindRun, Reason: "x"}, {Time: at, Kind: ledger.KindRun, Reason: "nul\x00"}}
	if err := l.AppendBatch(ctx, bad); !errors.Is(err, ledger.ErrInvalidRecord) {
		t.Fatalf("a batch with a NUL byte: %v, want ErrInvalidRecord", err)
	}
	if err := l.AppendBatch(ctx, []ledger.Record{{Time: at, Kind: ledger.KindRun}, {Kind: ledger.KindRun}}); !errors.Is(err, ledger.ErrInvalidRecord) || !strings.Contains(err.Error(), "record 2 of 2") {
		t.Fatalf("a batch with a record without time: %v, want ErrInvalidRecord naming record 2", err)
	}
	got, err := l.Query(ctx, ledger.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var order strings.Builder
	for _, r := range got {
		order.WriteString(r.Reason)
	}
	var want strings.Builder
	for _, r := range rs {
		want.WriteString(r.Reason)
	}
	if order.String() != want.String() {
		t.Fatalf("records %q, want %q (in order, and nothing of the refused batches)", order.String(), want.String())
	}
	if err := l.AppendBatch(ctx, nil); err != nil {
		t.Fatalf("an empty batch: %v", err)
	}
}
