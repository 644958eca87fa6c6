package rules

import (
	"fmt"
	"strings"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/overrides"
)

// Rule names one of the two Advisor rules that keep management packs current.
// Its value is the rule's full id, so it prints and serialises as SCOM names it.
type Rule string

const (
	// MPUpdate keeps the base packs current; by default every 12 hours.
	MPUpdate Rule = "Microsoft.SystemCenter.Advisor.MPUpdate"
	// GetIntelligencePacks keeps the packs of enabled solutions current; by
	// default every 5 minutes.
	GetIntelligencePacks Rule = "Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule"
)

// All returns both rules in the order they run when run together: base packs
// first, because solution packs reference them.
func All() []Rule { return []Rule{MPUpdate, GetIntelligencePacks} }

// Parse resolves a full rule id or a short name ("MPUpdate",
// "GetIntelligencePacks"; case-insensitive) to a Rule.
func Parse(name string) (Rule, error) {
	for _, r := range All() {
		if strings.EqualFold(name, string(r)) || strings.EqualFold(name, r.ShortName()) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown rule %q (want MPUpdate, GetIntelligencePacks or a full rule id)", name)
}

// ShortName returns "MPUpdate" or "GetIntelligencePacks".
func (r Rule) ShortName() string {
	switch r {
	case MPUpdate:
		return "MPUpdate"
	case GetIntelligencePacks:
		return "GetIntelligencePacks"
	}
	return string(r)
}

// Valid reports whether r is one of the two rules.
func (r Rule) Valid() bool { return r == MPUpdate || r == GetIntelligencePacks }

// Channel returns the catalog channel the rule keeps current.
func (r Rule) Channel() catalog.Channel {
	if r == MPUpdate {
		return catalog.ChannelBase
	}
	return catalog.ChannelSolution
}

// ForChannel returns the rule that keeps packs of the given channel current.
func ForChannel(c catalog.Channel) Rule {
	if c == catalog.ChannelBase {
		return MPUpdate
	}
	return GetIntelligencePacks
}

// DefaultFrequency is the rule's interval without overrides: 43200 s for
// MPUpdate, 300 s for GetIntelligencePacks.
func (r Rule) DefaultFrequency() time.Duration {
	if r == MPUpdate {
		return 12 * time.Hour
	}
	return 5 * time.Minute
}

// DefaultEnabled is whether the rule runs without overrides: both do.
func (r Rule) DefaultEnabled() bool { return true }

// Target is the class the rule targets and overrides must be aimed at,
// [overrides.ManagementGroupClass] (Microsoft.SystemCenter.ManagementGroup,
// "Operations Manager Management Group").
func (r Rule) Target() string { return overrides.ManagementGroupClass }
