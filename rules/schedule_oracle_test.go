package rules

import (
	"math"
	"sort"
	"strings"
	"testing"
	"time"
)

// SyncTime runs across both 2024 DST changes in Europe/Berlin keep their wall
// times: 12 h runs 11 h or 13 h apart on the change days, a wall time that
// does not exist (spring) is skipped, one that occurs twice (autumn) runs
// once, at its first occurrence.
func TestSyncTimeAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		every time.Duration
		sync  string
		from  time.Time
		want  string
	}{
		{12 * time.Hour, "00:00", time.Date(2024, 3, 30, 6, 0, 0, 0, berlin),
			"03-30 12:00 CET, 03-31 00:00 CET, 03-31 12:00 CEST, 04-01 00:00 CEST"},
		{12 * time.Hour, "00:00", time.Date(2024, 10, 26, 6, 0, 0, 0, berlin),
			"10-26 12:00 CEST, 10-27 00:00 CEST, 10-27 12:00 CET, 10-28 00:00 CET"},
		{24 * time.Hour, "02:30", time.Date(2024, 3, 30, 6, 0, 0, 0, berlin),
			"04-01 02:30 CEST, 04-02 02:30 CEST, 04-03 02:30 CEST"},
		{24 * time.Hour, "02:30", time.Date(2024, 10, 26, 6, 0, 0, 0, berlin),
			"10-27 02:30 CEST, 10-28 02:30 CET, 10-29 02:30 CET"},
		{30 * time.Minute, "00:00", time.Date(2024, 10, 27, 1, 40, 0, 0, berlin),
			"10-27 02:00 CEST, 10-27 02:30 CEST, 10-27 03:00 CET, 10-27 03:30 CET, 10-27 04:00 CET, 10-27 04:30 CET"},
		{30 * time.Minute, "00:00", time.Date(2024, 3, 31, 1, 10, 0, 0, berlin),
			"03-31 01:30 CET, 03-31 03:00 CEST, 03-31 03:30 CEST, 03-31 04:00 CEST"},
	} {
		s, err := NewSchedule(tt.every, ScheduleOptions{SyncTime: tt.sync, Location: berlin})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		x := tt.from
		for range strings.Count(tt.want, ",") + 1 {
			x = s.Next(x)
			got = append(got, x.In(berlin).Format("01-02 15:04 MST"))
		}
		if g := strings.Join(got, ", "); g != tt.want {
			t.Errorf("every %v from %v:\n got  %s\n want %s", tt.every, tt.from, g, tt.want)
		}
	}
}

func oracle(s Schedule, from, to time.Time) []time.Time {
	var out []time.Time
	lf := from.In(s.loc)
	start := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -3)
	for D := start; D.Before(to.AddDate(0, 0, 3)); D = D.AddDate(0, 0, 1) {
		if s.every >= day {
			days := int64((s.every + day - 1) / day)
			if (D.Unix()/86400)%days != 0 {
				continue
			}
			if at, ok := s.instant(D.Add(s.sync + s.offset)); ok {
				out = append(out, at)
			}
			continue
		}
		for k := time.Duration(0); k*s.every < day; k++ {
			if at, ok := s.instant(D.Add(s.sync + s.offset + k*s.every)); ok {
				out = append(out, at)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Next agrees with a brute-force list of run times across both 2024 DST
// changes in Europe/Berlin, for several intervals, SyncTimes and jitter.
func TestScheduleMatchesOracle(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, every := range []time.Duration{5 * time.Minute, 7 * time.Hour, 12 * time.Hour, 13 * time.Hour, 25 * time.Hour, 48 * time.Hour} {
		for _, st := range []string{"00:00", "02:30", "23:30"} {
			for _, jit := range []string{"", "mg1"} {
				s, err := NewSchedule(every, ScheduleOptions{SyncTime: st, Location: berlin, JitterSeed: jit, MaxJitter: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				for _, base := range []time.Time{time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC), time.Date(2024, 10, 26, 12, 0, 0, 0, time.UTC)} {
					runs := oracle(s, base.AddDate(0, 0, -5), base.AddDate(0, 0, 8))
					fails := 0
					for tt := base; tt.Before(base.Add(60 * time.Hour)); tt = tt.Add(397 * time.Second) {
						for _, probe := range []time.Time{tt} {
							want := time.Time{}
							for _, r := range runs {
								if r.After(probe) {
									want = r
									break
								}
							}
							got := s.Next(probe)
							if !got.Equal(want) && fails < 3 {
								fails++
								t.Errorf("%v: Next(%v) = %v, oracle %v", s, probe.In(berlin), got.In(berlin), want.In(berlin))
							}
						}
					}
					// exactly on run times
					for _, r := range runs {
						if r.Before(base) || r.After(base.Add(48*time.Hour)) {
							continue
						}
						got := s.Next(r)
						if !got.After(r) {
							t.Errorf("%v: Next(run %v) = %v not after", s, r, got)
						}
					}
				}
			}
		}
	}
}

// Regression: huge intervals with a SyncTime overflowed, so Next returned no
// run (or one not after now).
func TestRegressionHuge(t *testing.T) {
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, every := range []time.Duration{2147483647 * time.Second, 100 * 365 * day, math.MaxInt64} {
		for _, sync := range []string{"", "00:00"} {
			s, err := NewSchedule(every, ScheduleOptions{SyncTime: sync})
			if err != nil {
				t.Logf("%v %q: err %v", every, sync, err)
				continue
			}
			start := time.Now()
			n := s.Next(now)
			t.Logf("every=%v sync=%q: Next=%v (took %v) String=%s", every, sync, n, time.Since(start), s)
			if n.IsZero() || !n.After(now) {
				t.Errorf("every=%v sync=%q: Next(%v) = %v; a valid schedule never runs", every, sync, now, n)
			}
		}
	}
}
