package rules_test

import (
	"fmt"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// The effective settings of both rules, with a Frequency override on one.
func ExampleEffective() {
	d, err := overrides.NewPack("Contoso.Advisor", "Contoso Advisor", pack.MustParseVersion("1.0.0.0"), nil)
	if err != nil {
		panic(err)
	}
	if _, _, err := d.SetFrequency(string(rules.GetIntelligencePacks), 3600, nil); err != nil {
		panic(err)
	}
	p, err := d.Pack()
	if err != nil {
		panic(err)
	}
	set, err := overrides.NewSet(p)
	if err != nil {
		panic(err)
	}
	for _, r := range rules.All() {
		fmt.Println(rules.Effective(set, r))
	}
	// Output:
	// MPUpdate: enabled (default); Frequency 43200 s (default)
	// GetIntelligencePacks: enabled (default); Frequency 3600 s (from override Contoso.Advisor.GetIntelligencePacksRule.Frequency in pack Contoso.Advisor 1.0.0.0 (class scope))
}

// A 12 h schedule aligned to midnight in Berlin, across the spring
// daylight-saving change: the runs stay at 00:00 and 12:00 local time.
func ExampleSchedule_Next() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	s, err := rules.NewSchedule(12*time.Hour, rules.ScheduleOptions{SyncTime: "00:00", Location: berlin})
	if err != nil {
		panic(err)
	}
	t := time.Date(2026, 3, 28, 9, 0, 0, 0, berlin)
	for range 4 {
		t = s.Next(t)
		fmt.Println(t.Format("2006-01-02 15:04 MST"))
	}
	// Output:
	// 2026-03-28 12:00 CET
	// 2026-03-29 00:00 CET
	// 2026-03-29 12:00 CEST
	// 2026-03-30 00:00 CEST
}

// Jitter spreads management groups over the first minutes of each run,
// with an offset that is the same every time for a given group.
func ExampleNewSchedule_jitter() {
	s, err := rules.NewSchedule(rules.MPUpdate.DefaultFrequency(), rules.ScheduleOptions{
		SyncTime: "00:00", JitterSeed: "MG-Production", MaxJitter: 15 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	again, _ := rules.NewSchedule(rules.MPUpdate.DefaultFrequency(), rules.ScheduleOptions{
		SyncTime: "00:00", JitterSeed: "MG-Production", MaxJitter: 15 * time.Minute,
	})
	fmt.Println(s.Offset() == again.Offset(), s.Offset() < 15*time.Minute)
	// Output:
	// true true
}
