package rules

import (
	"testing"
	"time"
)

func TestRegressionDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	show := func(every time.Duration, st string, from time.Time, n int) {
		s, _ := NewSchedule(every, ScheduleOptions{SyncTime: st, Location: berlin})
		x := from
		var out []string
		for i := 0; i < n; i++ {
			x = s.Next(x)
			out = append(out, x.In(berlin).Format("01-02 15:04 MST"))
		}
		t.Logf("%v %s: %v", every, st, out)
	}
	show(12*time.Hour, "00:00", time.Date(2024, 3, 30, 6, 0, 0, 0, berlin), 4)
	show(12*time.Hour, "00:00", time.Date(2024, 10, 26, 6, 0, 0, 0, berlin), 4)
	show(24*time.Hour, "02:30", time.Date(2024, 3, 30, 6, 0, 0, 0, berlin), 3)
	show(24*time.Hour, "02:30", time.Date(2024, 10, 26, 6, 0, 0, 0, berlin), 3)
	show(30*time.Minute, "00:00", time.Date(2024, 10, 27, 1, 40, 0, 0, berlin), 6)
	show(30*time.Minute, "00:00", time.Date(2024, 3, 31, 1, 10, 0, 0, berlin), 4)
}
