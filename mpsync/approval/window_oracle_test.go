package approval_test

import (
	"testing"
	"time"

	"mpsync.dev/mpsync/approval"
)

type simple struct {
	min, hour int
	dow       int // -1 any
}

func (s simple) fires(u time.Time, loc *time.Location) bool {
	l := u.In(loc)
	return l.Second() == 0 && l.Minute() == s.min && l.Hour() == s.hour && (s.dow < 0 || int(l.Weekday()) == s.dow)
}

// Open and NextOpen agree with a minute-by-minute oracle across both 2024 DST
// changes in Europe/Berlin, for windows spanning midnight, weekly windows
// and deny spans inside allow spans.
func TestWindowMatchesOracle(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	type tc struct {
		expr string
		sp   simple
		d    time.Duration
	}
	allowC := []tc{
		{"30 2 * * *", simple{30, 2, -1}, 90 * time.Minute},
		{"0 22 * * *", simple{0, 22, -1}, 5 * time.Hour},
		{"0 1 * * SUN", simple{0, 1, 0}, 3 * time.Hour},
		{"45 23 * * SAT", simple{45, 23, 6}, 4 * time.Hour},
	}
	denyC := []tc{
		{"0 2 * * *", simple{0, 2, -1}, 45 * time.Minute},
		{"30 23 * * *", simple{30, 23, -1}, 2 * time.Hour},
	}
	for _, base := range []time.Time{time.Date(2024, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 10, 25, 0, 0, 0, 0, time.UTC)} {
		lo, hi := base.Add(-48*time.Hour), base.Add(14*24*time.Hour)
		acts := func(c tc) []time.Time {
			var out []time.Time
			for u := lo; u.Before(hi); u = u.Add(time.Minute) {
				if c.sp.fires(u, berlin) {
					out = append(out, u)
				}
			}
			return out
		}
		in := func(as []time.Time, d time.Duration, u time.Time) bool {
			for _, a := range as {
				if !a.After(u) && u.Before(a.Add(d)) {
					return true
				}
			}
			return false
		}
		for _, a := range allowC {
			for _, dn := range append([]*tc{nil}, &denyC[0], &denyC[1]) {
				as, _ := approval.ParseSpan(a.expr, a.d, "Europe/Berlin")
				var deny []approval.Span
				var dacts []time.Time
				if dn != nil {
					ds, _ := approval.ParseSpan(dn.expr, dn.d, "Europe/Berlin")
					deny = []approval.Span{ds}
					dacts = acts(*dn)
				}
				w, err := approval.NewWindow([]approval.Span{as}, deny)
				if err != nil {
					t.Fatal(err)
				}
				aacts := acts(a)
				open := func(u time.Time) bool {
					return in(aacts, a.d, u) && (dn == nil || !in(dacts, dn.d, u))
				}
				fails := 0
				for u := base; u.Before(base.Add(3 * 24 * time.Hour)); u = u.Add(31 * time.Minute) {
					if got, want := w.Open(u), open(u); got != want && fails < 3 {
						fails++
						t.Errorf("%s deny %v: Open(%s) = %v, oracle %v", a.expr, dn, u.In(berlin).Format(time.RFC3339), got, want)
					}
					want := time.Time{}
					for v := u; v.Before(hi); v = v.Add(time.Minute).Truncate(time.Minute) {
						if open(v) {
							want = v
							break
						}
					}
					if got := w.NextOpen(u); !got.Equal(want) && fails < 3 {
						fails++
						t.Errorf("%s deny %v: NextOpen(%s) = %s, oracle %s", a.expr, dn, u.In(berlin).Format(time.RFC3339), got.In(berlin).Format(time.RFC3339), want.In(berlin).Format(time.RFC3339))
					}
				}
			}
		}
	}
}
