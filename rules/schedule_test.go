package rules_test

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin without relying on the system database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/rules"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return loc
}

func TestScheduleNext(t *testing.T) {
	ber := berlin(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, ber)
		require.NoError(t, err)
		return v
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name  string
		every time.Duration
		opts  rules.ScheduleOptions
		from  time.Time
		want  time.Time
	}{
		{"grid 12h", 12 * time.Hour, rules.ScheduleOptions{}, utc("2026-01-01T05:00:00Z"), utc("2026-01-01T12:00:00Z")},
		{"grid strictly after", 12 * time.Hour, rules.ScheduleOptions{}, utc("2026-01-01T12:00:00Z"), utc("2026-01-02T00:00:00Z")},
		{"grid drops sub-second", 5 * time.Minute, rules.ScheduleOptions{}, utc("2026-01-01T12:04:59.9Z"), utc("2026-01-01T12:05:00Z")},
		{"grid before epoch", time.Hour, rules.ScheduleOptions{}, utc("1969-12-31T22:30:00Z"), utc("1969-12-31T23:00:00Z")},
		{"grid ignores DST", 12 * time.Hour, rules.ScheduleOptions{Location: ber}, at("2026-03-29 04:00:00"), utc("2026-03-29T12:00:00Z")},
		{"sync 00:00 Berlin winter", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, at("2026-01-10 09:00:00"), at("2026-01-10 12:00:00")},
		{"sync 06:30 12h", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "06:30", Location: ber}, at("2026-01-10 19:00:00"), at("2026-01-11 06:30:00")},
		{"spring forward: 12:00 local, 11 h after midnight", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, at("2026-03-29 00:00:00"), utc("2026-03-29T10:00:00Z")},
		{"spring forward: next midnight", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, at("2026-03-29 12:00:00"), at("2026-03-30 00:00:00")},
		{"fall back: 12:00 local, 13 h after midnight", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, at("2026-10-25 00:00:00"), utc("2026-10-25T11:00:00Z")},
		{"sync time in the gap is skipped", 12 * time.Hour, rules.ScheduleOptions{SyncTime: "02:30", Location: ber}, at("2026-03-29 01:00:00"), at("2026-03-29 14:30:00")},
		{"5 min across the gap", 5 * time.Minute, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, utc("2026-03-29T00:55:00Z"), utc("2026-03-29T01:00:00Z")},
		{"5 min into the repeated hour: first occurrence", 5 * time.Minute, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, utc("2026-10-25T00:00:00Z"), utc("2026-10-25T00:05:00Z")},
		{"5 min leaves the repeated hour once", 5 * time.Minute, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, utc("2026-10-25T00:55:00Z"), utc("2026-10-25T02:00:00Z")},
		{"5 min inside the second pass waits", 5 * time.Minute, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, utc("2026-10-25T01:30:00Z"), utc("2026-10-25T02:00:00Z")},
		{"7h restarts at sync each day", 7 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00"}, utc("2026-01-01T21:00:00Z"), utc("2026-01-02T00:00:00Z")},
		{"7h within the day", 7 * time.Hour, rules.ScheduleOptions{SyncTime: "00:00"}, utc("2026-01-01T14:00:00Z"), utc("2026-01-01T21:00:00Z")},
		{"late sync runs into next date", time.Hour, rules.ScheduleOptions{SyncTime: "23:00"}, utc("2026-01-02T05:10:00Z"), utc("2026-01-02T06:00:00Z")},
		{"late sync: before the day's start", time.Hour, rules.ScheduleOptions{SyncTime: "23:00"}, utc("2026-01-02T22:10:00Z"), utc("2026-01-02T23:00:00Z")},
		{"48h every other day", 48 * time.Hour, rules.ScheduleOptions{SyncTime: "03:00"}, utc("2026-01-01T04:00:00Z"), utc("2026-01-03T03:00:00Z")},
		{"result in caller's location", time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber}, utc("2026-01-10T08:20:00Z"), utc("2026-01-10T09:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := rules.NewSchedule(tt.every, tt.opts)
			require.NoError(t, err)
			got := s.Next(tt.from)
			assert.True(t, tt.want.Equal(got), "Next(%s) = %s, want %s", tt.from, got, tt.want)
			assert.Equal(t, tt.from.Location(), got.Location())
		})
	}
}

// TestScheduleSequenceAcrossDST walks a 12 h schedule aligned to midnight
// through both Berlin transitions of 2026: every run is at 00:00 or 12:00
// local time.
func TestScheduleSequenceAcrossDST(t *testing.T) {
	ber := berlin(t)
	s, err := rules.NewSchedule(12*time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: ber})
	require.NoError(t, err)
	for _, start := range []time.Time{
		time.Date(2026, 3, 27, 1, 0, 0, 0, ber),
		time.Date(2026, 10, 23, 1, 0, 0, 0, ber),
	} {
		tm := start
		var gaps []time.Duration
		for range 8 {
			next := s.Next(tm)
			require.True(t, next.After(tm))
			l := next.In(ber)
			require.Contains(t, []int{0, 12}, l.Hour(), "run at %s", l)
			require.Zero(t, l.Minute())
			if tm != start {
				gaps = append(gaps, next.Sub(tm))
			}
			tm = next
		}
		assert.Subset(t, []time.Duration{11 * time.Hour, 12 * time.Hour, 13 * time.Hour}, gaps)
	}
}

func TestScheduleJitter(t *testing.T) {
	opts := func(seed string) rules.ScheduleOptions {
		return rules.ScheduleOptions{JitterSeed: seed, MaxJitter: 10 * time.Minute}
	}
	a1, err := rules.NewSchedule(12*time.Hour, opts("MG-Production"))
	require.NoError(t, err)
	a2, err := rules.NewSchedule(12*time.Hour, opts("MG-Production"))
	require.NoError(t, err)
	b, err := rules.NewSchedule(12*time.Hour, opts("MG-QA"))
	require.NoError(t, err)
	assert.Equal(t, a1.Offset(), a2.Offset(), "stable per seed")
	assert.NotEqual(t, a1.Offset(), b.Offset())
	for _, s := range []rules.Schedule{a1, b} {
		assert.Less(t, s.Offset(), 10*time.Minute)
		assert.Zero(t, s.Offset()%time.Second)
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		assert.Equal(t, from.Add(s.Offset()), s.Next(from), "grid shifted by the offset")
	}
	// Jitter never exceeds the interval.
	short, err := rules.NewSchedule(30*time.Second, rules.ScheduleOptions{JitterSeed: "x", MaxJitter: time.Hour})
	require.NoError(t, err)
	assert.Less(t, short.Offset(), 30*time.Second)
	// With SyncTime the offset shifts the aligned runs.
	syn, err := rules.NewSchedule(12*time.Hour, rules.ScheduleOptions{SyncTime: "00:00", JitterSeed: "MG-Production", MaxJitter: 10 * time.Minute})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(a1.Offset()), syn.Next(time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)))
}

func TestScheduleErrorsAndZero(t *testing.T) {
	for _, tt := range []struct {
		every time.Duration
		opts  rules.ScheduleOptions
	}{
		{0, rules.ScheduleOptions{}},
		{-time.Second, rules.ScheduleOptions{}},
		{time.Hour, rules.ScheduleOptions{SyncTime: "24:00"}},
		{time.Hour, rules.ScheduleOptions{SyncTime: "7:00"}},
		{time.Hour, rules.ScheduleOptions{SyncTime: "noon"}},
		{time.Hour, rules.ScheduleOptions{SyncTime: "12:00:00x"}},
		{time.Hour, rules.ScheduleOptions{MaxJitter: -time.Second}},
	} {
		_, err := rules.NewSchedule(tt.every, tt.opts)
		require.ErrorIs(t, err, rules.ErrSchedule, "%v %+v", tt.every, tt.opts)
	}
	var zero rules.Schedule
	assert.True(t, zero.Next(time.Now()).IsZero())
	assert.Equal(t, "never", zero.String())
	s, err := rules.NewSchedule(1500*time.Millisecond, rules.ScheduleOptions{SyncTime: "00:00:30"})
	require.NoError(t, err)
	assert.Equal(t, time.Second, s.Every())
	assert.Equal(t, "every 1 s aligned to 00:00:30 UTC", s.String())
}
