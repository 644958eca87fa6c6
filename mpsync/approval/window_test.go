package approval_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/approval"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("time zone data unavailable: %v", err)
	}
	return loc
}

func span(t *testing.T, expr string, d time.Duration, zone string) approval.Span {
	t.Helper()
	s, err := approval.ParseSpan(expr, d, zone)
	if err != nil {
		t.Fatalf("ParseSpan(%q, %v, %q): %v", expr, d, zone, err)
	}
	return s
}

func TestWindowDecide(t *testing.T) {
	be := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, be)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sat := []approval.Span{span(t, "0 2 * * SAT", 4*time.Hour, "Europe/Berlin")}
	cases := []struct {
		name      string
		allow     []approval.Span
		deny      []approval.Span
		now       string
		want      plan.Verdict
		notBefore string // Berlin wall clock; "" for Approve or no time
	}{
		// 2026-06-06 and 2026-06-13 are Saturdays.
		{"inside", sat, nil, "2026-06-06 03:00", plan.Approve, ""},
		{"at the start", sat, nil, "2026-06-06 02:00", plan.Approve, ""},
		{"at the end (exclusive)", sat, nil, "2026-06-06 06:00", plan.Defer, "2026-06-13 02:00"},
		{"before", sat, nil, "2026-06-06 01:59", plan.Defer, "2026-06-06 02:00"},
		{"midweek", sat, nil, "2026-06-10 12:00", plan.Defer, "2026-06-13 02:00"},
		// Winter time (CET, UTC+1): still 02:00 by the Berlin clock.
		{"winter", sat, nil, "2026-01-10 05:59", plan.Approve, ""},
		{"winter before", sat, nil, "2026-01-10 01:00", plan.Defer, "2026-01-10 02:00"},
		// Spring forward 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not
		// exist that night, so there is no stretch; the next is on the 30th.
		{"spring forward skips the missing hour", []approval.Span{span(t, "30 2 * * *", time.Hour, "Europe/Berlin")}, nil, "2026-03-29 01:00", plan.Defer, "2026-03-30 02:30"},
		// A 4h stretch from 00:00 across the spring change ends at 05:00 CEST
		// (four elapsed hours).
		{"spring forward elapsed hours inside", []approval.Span{span(t, "0 0 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-03-29 04:59", plan.Approve, ""},
		{"spring forward elapsed hours after", []approval.Span{span(t, "0 0 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-03-29 05:00", plan.Defer, "2026-03-30 00:00"},
		// Fall back 2026-10-25 03:00 CEST -> 02:00 CET: a 4h stretch from
		// 01:00 CEST ends at 04:00 CET (four elapsed hours).
		{"fall back elapsed hours inside", []approval.Span{span(t, "0 1 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-10-25 03:59", plan.Approve, ""},
		{"fall back elapsed hours after", []approval.Span{span(t, "0 1 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-10-25 04:00", plan.Defer, "2026-10-26 01:00"},
		// Spanning midnight: 22:00 for 4h.
		{"midnight after", []approval.Span{span(t, "0 22 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-06-07 01:30", plan.Approve, ""},
		{"midnight before", []approval.Span{span(t, "0 22 * * *", 4*time.Hour, "Europe/Berlin")}, nil, "2026-06-07 21:00", plan.Defer, "2026-06-07 22:00"},
		// Deny inside allow: always allowed except office hours on weekdays.
		{"deny inside allow", []approval.Span{span(t, "@daily", 24*time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 9 * * MON-FRI", 8*time.Hour, "Europe/Berlin")}, "2026-06-08 10:00", plan.Defer, "2026-06-08 17:00"},
		{"deny inside allow, outside deny", []approval.Span{span(t, "@daily", 24*time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 9 * * MON-FRI", 8*time.Hour, "Europe/Berlin")}, "2026-06-08 17:00", plan.Approve, ""},
		// Deny covering a whole allow stretch: skip to the next allow start.
		{"deny covers the allow stretch", []approval.Span{span(t, "0 2 * * *", 4*time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 0 25 12 *", 24*time.Hour, "Europe/Berlin")}, "2026-12-25 03:00", plan.Defer, "2026-12-26 02:00"},
		// Deny ending inside an allow stretch opens at the deny end.
		{"deny ends inside allow", []approval.Span{span(t, "0 2 * * *", 4*time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 1 * * *", 2*time.Hour, "Europe/Berlin")}, "2026-06-06 02:30", plan.Defer, "2026-06-06 03:00"},
		// Overlapping deny spans chain.
		{"overlapping denies", []approval.Span{span(t, "@daily", 24*time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 9 * * *", 2*time.Hour, "Europe/Berlin"), span(t, "0 10 * * *", 3*time.Hour, "Europe/Berlin")}, "2026-06-06 09:30", plan.Defer, "2026-06-06 13:00"},
		// Deny only: everything else is allowed.
		{"deny only, denied", nil, []approval.Span{span(t, "0 0 * * FRI", 24*time.Hour, "Europe/Berlin")}, "2026-06-05 12:00", plan.Defer, "2026-06-06 00:00"},
		{"deny only, allowed", nil, []approval.Span{span(t, "0 0 * * FRI", 24*time.Hour, "Europe/Berlin")}, "2026-06-06 12:00", plan.Approve, ""},
		// A deny that always covers the allow: no moment within the
		// horizon; asked again once the horizon has passed (now + 400 days).
		{"never", []approval.Span{span(t, "0 2 * * *", time.Hour, "Europe/Berlin")},
			[]approval.Span{span(t, "0 0 * * *", 24*time.Hour, "Europe/Berlin")}, "2026-06-06 12:00", plan.Defer, "2027-07-11 12:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := approval.NewWindow(c.allow, c.deny)
			if err != nil {
				t.Fatal(err)
			}
			now := at(c.now).UTC() // the engine's clock may be in any zone
			d, err := w.Decide(context.Background(), approval.Request{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != c.want {
				t.Fatalf("Decide at %s = %s (%s), want %s", c.now, d.Verdict, d.Reason, c.want)
			}
			if d.By != w.String() || d.Reason == "" {
				t.Errorf("By = %q, Reason = %q; want the window's name and a reason", d.By, d.Reason)
			}
			var want time.Time
			if c.notBefore != "" {
				want = at(c.notBefore)
			}
			if !d.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v (%s)", d.NotBefore.In(be), want, d.Reason)
			}
			next := w.NextOpen(now)
			if c.want == plan.Approve && !next.Equal(now) {
				t.Errorf("NextOpen while open = %v, want now", next)
			}
			wantNext := want
			if d.Verdict == plan.Defer && strings.Contains(d.Reason, "no allowed moment") {
				wantNext = time.Time{} // NextOpen finds none; NotBefore is the horizon
			}
			if c.want == plan.Defer && !next.Equal(wantNext) {
				t.Errorf("NextOpen = %v, want %v", next, wantNext)
			}
			if !next.IsZero() && !w.Open(next) {
				t.Errorf("window not open at NextOpen %v", next.In(be))
			}
		})
	}
}

func TestSpanErrors(t *testing.T) {
	cases := []struct {
		name, expr, zone string
		d                time.Duration
		want             string
	}{
		{"invalid cron", "0 25 * * *", "UTC", time.Hour, "0 25 * * *"},
		{"six fields", "0 0 2 * * SAT", "UTC", time.Hour, "0 0 2 * * SAT"},
		{"empty", "", "UTC", time.Hour, "empty"},
		{"zero duration", "0 2 * * *", "UTC", 0, "duration"},
		{"negative duration", "0 2 * * *", "UTC", -time.Hour, "duration"},
		{"unknown zone", "0 2 * * *", "Mars/Olympus_Mons", time.Hour, "Mars/Olympus_Mons"},
		{"every", "@every 1h", "UTC", time.Hour, "@every"},
		{"zone twice", "CRON_TZ=Europe/Berlin 0 2 * * *", "UTC", time.Hour, "twice"},
		// robfig/cron panics on these (robfig/cron#554); FuzzParseSpan found "TZ=".
		{"zone prefix alone", "TZ=", "", time.Hour, "needs a schedule"},
		{"named zone prefix alone", "CRON_TZ=Europe/Berlin", "", time.Hour, "needs a schedule"},
		{"zone prefixes only", "TZ=TZ=TZ=", "", time.Hour, "needs a schedule"},
		{"never fires", "0 0 30 2 *", "UTC", time.Hour, "never"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := approval.ParseSpan(c.expr, c.d, c.zone)
			if !errors.Is(err, approval.ErrInvalid) {
				t.Fatalf("ParseSpan(%q, %v, %q) = %v, want ErrInvalid", c.expr, c.d, c.zone, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if _, err := approval.ParseWindow(c.expr, c.d, c.zone); !errors.Is(err, approval.ErrInvalid) {
				t.Errorf("ParseWindow = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := approval.NewWindow(nil, nil); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("NewWindow(nil, nil) = %v, want ErrInvalid", err)
	}
	if _, err := approval.NewWindow([]approval.Span{{}}, nil); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("NewWindow(zero span) = %v, want ErrInvalid", err)
	}
}

func TestSpanZones(t *testing.T) {
	be := berlin(t)
	utc := span(t, "0 2 * * *", time.Hour, "")
	if utc.Location() != time.UTC {
		t.Errorf("empty zone: location %v, want UTC", utc.Location())
	}
	tz := span(t, "CRON_TZ=Europe/Berlin 0 2 * * *", time.Hour, "")
	if tz.Location().String() != "Europe/Berlin" {
		t.Errorf("CRON_TZ prefix: location %v", tz.Location())
	}
	if !tz.Contains(time.Date(2026, 6, 6, 2, 30, 0, 0, be)) || tz.Contains(time.Date(2026, 6, 6, 2, 30, 0, 0, time.UTC)) {
		t.Error("CRON_TZ span not evaluated in Berlin time")
	}
	s, err := approval.NewSpan("0 2 * * *", time.Hour, be)
	if err != nil || s.Location() != be || s.Duration() != time.Hour || s.Expr() != "0 2 * * *" {
		t.Errorf("NewSpan = %v, %v", s, err)
	}
}

func BenchmarkWindowDecide(b *testing.B) {
	w, err := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	r := approval.Request{Now: time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Decide(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// The worst case: a deny span that always covers the allow span, so
// NextOpen searches the whole horizon.
func BenchmarkWindowNextOpenNever(b *testing.B) {
	allow, _ := approval.ParseSpan("0 2 * * *", time.Hour, "UTC")
	deny, _ := approval.ParseSpan("0 0 * * *", 24*time.Hour, "UTC")
	w, err := approval.NewWindow([]approval.Span{allow}, []approval.Span{deny})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		if !w.NextOpen(now).IsZero() {
			b.Fatal("found an open moment")
		}
	}
}

// Regression: a window in the Local zone gave another answer for the same
// instant when the engine's clock read UTC.
func TestRegressionWindowLocal(t *testing.T) {
	if os.Getenv("TZ") != "Europe/Berlin" {
		t.Skip("run with TZ=Europe/Berlin")
	}
	w, err := approval.ParseWindow("0 2 * * *", time.Hour, "Local")
	require.NoError(t, err)
	// 02:30 Berlin in January = 01:30 UTC. The engine's clock may read UTC.
	nowUTC := time.Date(2026, 1, 10, 1, 30, 0, 0, time.UTC)
	t.Logf("Open(local)=%v Open(utc)=%v  %s", w.Open(nowUTC.Local()), w.Open(nowUTC), w)
	require.Equal(t, w.Open(nowUTC.Local()), w.Open(nowUTC), "same instant, different answer")
}

// FuzzParseSpan: no expression, duration or zone makes ParseSpan panic; a
// refusal matches ErrInvalid, and an accepted span keeps what it was given
// and answers Contains.
func FuzzParseSpan(f *testing.F) {
	f.Add("0 2 * * SAT", int64(4*time.Hour), "Europe/Berlin")
	f.Add("@daily", int64(time.Hour), "")
	f.Add("TZ=UTC 30 1 * * MON-FRI", int64(time.Minute), "")
	f.Add("0 0 30 2 *", int64(time.Hour), "UTC")
	f.Add("@every 1h", int64(time.Hour), "")
	f.Add("61 * * * *", int64(-1), "../etc/passwd")
	f.Fuzz(func(t *testing.T, expr string, d int64, zone string) {
		s, err := approval.ParseSpan(expr, time.Duration(d), zone)
		if err != nil {
			if !errors.Is(err, approval.ErrInvalid) {
				t.Fatalf("ParseSpan(%q, %v, %q): %v does not match ErrInvalid", expr, time.Duration(d), zone, err)
			}
			return
		}
		if s.Expr() != strings.TrimSpace(expr) || s.Duration() != time.Duration(d) || s.Location() == nil {
			t.Fatalf("ParseSpan(%q, %v, %q) = %s (duration %v)", expr, time.Duration(d), zone, s, s.Duration())
		}
		s.Contains(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	})
}

// Review regression: a window with no opening within SearchHorizon (29
// February, 463 days ahead) deferred without a NotBefore, so an engine
// reusing its plan never asked it again, even once the day came near.
func TestWindowBeyondTheHorizonDefersWithATime(t *testing.T) {
	w, err := approval.ParseWindow("0 0 29 2 *", time.Hour, "UTC")
	require.NoError(t, err)
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	d, err := w.Decide(context.Background(), approval.Request{Now: now})
	require.NoError(t, err)
	require.Equal(t, plan.Defer, d.Verdict)
	require.Equal(t, now.Add(approval.SearchHorizon), d.NotBefore, d.Reason)
	require.Contains(t, d.Reason, "no allowed moment within")
}
