// Package rules defines the two Operations Manager rules that keep a
// management group's Advisor management packs current, their defaults,
// their effective settings after overrides, where those settings come from
// (DefaultSettings, FromOverrides, SettingsFunc: the engine's
// Options.Settings), and the schedule they run on.
//
// # The rules
//
//	rule                                                          keeps current   every   enabled
//	Microsoft.SystemCenter.Advisor.MPUpdate                        base packs      12 h    yes
//	Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule   solution packs  5 min   yes
//
// [Rule] is the rule's full id; [Parse] also accepts the short names
// "MPUpdate" and "GetIntelligencePacks". Both rules target the management
// group class, [overrides.ManagementGroupClass].
//
// # Effective settings
//
// Operators change the rules with overrides, as the product documentation
// says: the Frequency parameter (seconds) and the Enabled property,
// targeted at all objects of class Operations Manager Management Group.
// [Effective] takes the overrides in force (an [overrides.Set], resolved by
// package overrides with SCOM precedence: Enforced, then instance over group
// over class, then a documented tie rule) and returns [Settings]: the
// values, where each came from (default, or which override in which pack),
// conflicts between tied overrides, and overrides that do not apply with
// the reason. Settings.String is a status line:
//
//	GetIntelligencePacks: enabled (default); Frequency 3600 s (from override X in pack P 1.0.0.0 (class scope))
//
// # Schedules
//
// [NewSchedule] (or [Settings.Schedule]) turns a frequency into a
// [Schedule] whose Next method is a pure function of time, like a
// robfig/cron schedule, so the engine can run it with any clock. Options
// align runs to a time of day in a location (the SyncTime idea of
// Operations Manager schedulers) and add a stable per-group jitter. The
// Schedule type documents how aligned runs behave across daylight-saving
// changes. A disabled rule's schedule never runs.
package rules
