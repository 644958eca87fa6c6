package rules

import (
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
