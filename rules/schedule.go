package rules

import (
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// ScheduleOptions shape a [Schedule] beyond its interval. The zero value
// gives runs every interval on a grid counted from the Unix epoch in UTC.
type ScheduleOptions struct {
	// SyncTime aligns runs to a time of day, "HH:MM" or "HH:MM:SS" in
	// Location, like the SyncTime of an Operations Manager scheduler: with
	// "00:00", a 12 h rule runs at 00:00 and 12:00. Empty: no alignment.
	SyncTime string
	// Location is where SyncTime is read. Nil means UTC.
	Location *time.Location
	// JitterSeed and MaxJitter shift every run by a stable offset in
	// [0, min(MaxJitter, interval)), whole seconds, derived from the seed
	// (FNV-1a): give each management group its name as the seed so groups
	// sharing a workspace service do not all call it in the same second.
	// The offset is the same on every call and every process.
	JitterSeed string
	MaxJitter  time.Duration
}

// Schedule says when a rule runs next. It is a value, pure and safe for
// concurrent use: Next depends only on its argument. The zero Schedule
// never runs (Next returns the zero time, as robfig/cron schedules do).
//
// Without SyncTime, runs fall on the instants epoch + offset + k·interval,
// so the spacing is exact elapsed time and daylight-saving changes do not
// matter.
//
// With SyncTime, runs are wall-clock times in the location: each local day
// starts again at SyncTime + offset and runs every interval until the next
// day's start (an interval that does not divide 24 h leaves a shorter gap
// before the next SyncTime). Intervals of 24 h or more run at SyncTime
// every ⌈interval/24 h⌉ days, counted from 1970-01-01. On daylight-saving
// days wall times keep their meaning: a 12 h rule aligned to 00:00 runs at
// 00:00 and 12:00 local time, 11 h or 13 h apart. A wall time that does not
// exist (the hour skipped in spring) is skipped; one that occurs twice (the
// hour repeated in autumn) runs once, at its first occurrence, so a 5 min
// rule pauses for the repeated hour. Leave SyncTime empty when even spacing
// matters more than alignment.
type Schedule struct {
	every  time.Duration
	synced bool
	sync   time.Duration // since local midnight
	loc    *time.Location
	offset time.Duration
	text   string
}

// ErrSchedule is wrapped by errors from NewSchedule.
var ErrSchedule = errors.New("invalid schedule")

const day = 24 * time.Hour

// NewSchedule returns a schedule running every interval, truncated to
// whole seconds (at least one second), shaped by opts.
func NewSchedule(every time.Duration, opts ScheduleOptions) (Schedule, error) {
	if every <= 0 {
		return Schedule{}, fmt.Errorf("%w: interval %v is not positive", ErrSchedule, every)
	}
	every = max(every.Truncate(time.Second), time.Second)
	s := Schedule{every: every, loc: opts.Location}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if opts.SyncTime != "" {
		d, err := parseClock(opts.SyncTime)
		if err != nil {
			return Schedule{}, err
		}
		s.synced, s.sync = true, d
	}
	if opts.MaxJitter < 0 {
		return Schedule{}, fmt.Errorf("%w: MaxJitter %v is negative", ErrSchedule, opts.MaxJitter)
	}
	if limit := min(opts.MaxJitter, every) / time.Second; opts.JitterSeed != "" && limit > 0 {
		h := fnv.New64a()
		h.Write([]byte(opts.JitterSeed))
		s.offset = time.Duration(h.Sum64()%uint64(limit)) * time.Second
	}
	s.text = fmt.Sprintf("every %d s", int64(every/time.Second))
	if s.synced {
		s.text += fmt.Sprintf(" aligned to %s %s", opts.SyncTime, s.loc)
	}
	if s.offset > 0 {
		s.text += fmt.Sprintf(" offset %d s", int64(s.offset/time.Second))
	}
	return s, nil
}

func parseClock(s string) (time.Duration, error) {
	var h, m, sec int
	n, err := fmt.Sscanf(s, "%d:%d:%d", &h, &m, &sec)
	if n < 2 || (err != nil && n != 2) {
		return 0, fmt.Errorf("%w: SyncTime %q is not HH:MM or HH:MM:SS", ErrSchedule, s)
	}
	if len(s) != 5 && len(s) != 8 {
		return 0, fmt.Errorf("%w: SyncTime %q is not HH:MM or HH:MM:SS", ErrSchedule, s)
	}
	if h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 {
		return 0, fmt.Errorf("%w: SyncTime %q is outside 00:00:00-23:59:59", ErrSchedule, s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, nil
}

// Schedule returns the schedule of s's Frequency; a disabled rule gets the
// zero Schedule, which never runs.
func (s Settings) Schedule(opts ScheduleOptions) (Schedule, error) {
	if !s.Enabled {
		return Schedule{}, nil
	}
	return NewSchedule(s.Frequency, opts)
}

// Every returns the interval; zero for the zero Schedule.
func (s Schedule) Every() time.Duration { return s.every }

// Offset returns the jitter offset applied to every run.
func (s Schedule) Offset() time.Duration { return s.offset }

// String describes the schedule: "every 43200 s aligned to 00:00
// Europe/Berlin offset 17 s", or "never".
func (s Schedule) String() string {
	if s.every == 0 {
		return "never"
	}
	return s.text
}

// Next returns the first run strictly after t, in t's location; the zero
// time for the zero Schedule.
func (s Schedule) Next(t time.Time) time.Time {
	switch {
	case s.every == 0:
		return time.Time{}
	case !s.synced:
		return s.nextGrid(t)
	}
	var best time.Time
	for _, c := range s.candidates(t) {
		if c.After(t) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	return best.In(t.Location())
}

// nextGrid is Next without SyncTime: the epoch-anchored grid.
func (s Schedule) nextGrid(t time.Time) time.Time {
	e, base := int64(s.every/time.Second), int64(s.offset/time.Second)
	d := t.Unix() - base
	n := d / e
	if d%e < 0 {
		n-- // floor division before the epoch
	}
	return time.Unix(base+(n+1)*e, 0).In(t.Location())
}

// candidates returns, per local day around t, the first run after t.
func (s Schedule) candidates(t time.Time) []time.Time {
	lt := t.In(s.loc)
	today := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
	wallT := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), time.UTC)
	var out []time.Time
	if s.every >= day {
		days := int64(s.every / day) // rounded up without overflowing
		if s.every%day != 0 {
			days++
		}
		for d := -1; d <= int(days)+2; d++ {
			date := today.AddDate(0, 0, d)
			if (date.Unix()/86400)%days != 0 {
				continue
			}
			if at, ok := s.instant(date.Add(s.sync + s.offset)); ok && at.After(t) {
				out = append(out, at)
			}
		}
		return out
	}
	for d := -2; d <= 2; d++ {
		base := today.AddDate(0, 0, d).Add(s.sync + s.offset)
		k := time.Duration(0)
		if wallT.After(base) {
			// Start two steps early: DST moves wall times by an hour at
			// most, and the loop below skips what is not after t.
			// (k counts steps; it is a Duration only to multiply s.every.)
			k = max(wallT.Sub(base)/s.every-(time.Hour/s.every+2), 0)
		}
		for ; k*s.every < day; k++ {
			at, ok := s.instant(base.Add(k * s.every))
			if ok && at.After(t) {
				out = append(out, at)
				break
			}
		}
	}
	return out
}

// instant converts a wall time (held as a UTC time) in s.loc to the
// earliest instant showing that wall time; false when the wall time does
// not exist there (a daylight-saving gap).
func (s Schedule) instant(wall time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, probe := range []int64{-86400, 0, 86400} {
		_, off := time.Unix(wall.Unix()+probe, 0).In(s.loc).Zone()
		at := wall.Add(-time.Duration(off) * time.Second)
		lt := at.In(s.loc)
		if lt.Year() != wall.Year() || lt.Month() != wall.Month() || lt.Day() != wall.Day() ||
			lt.Hour() != wall.Hour() || lt.Minute() != wall.Minute() || lt.Second() != wall.Second() {
			continue
		}
		if !found || at.Before(best) {
			best, found = at, true
		}
	}
	return best, found
}
