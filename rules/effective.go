package rules

import (
	"fmt"
	"strings"
	"time"

	"mpsync.dev/overrides"
)

// Source says where an effective setting comes from: the rule's default or
// one override.
type Source struct {
	// Default is true when no override applies.
	Default bool `json:"default"`
	// OverrideID is the id of the override in effect ("" for the default).
	OverrideID string `json:"overrideId,omitempty"`
	// Pack is the pack holding that override.
	Pack overrides.PackRef `json:"pack"`
	// Enforced is the override's Enforced attribute.
	Enforced bool `json:"enforced,omitempty"`
	// Scope is the scope at which the override applies.
	Scope overrides.Scope `json:"scope"`
}

// String returns "default" or "override X in pack P 1.0.0.0 (class scope,
// enforced)".
func (s Source) String() string {
	if s.Default {
		return "default"
	}
	extra := s.Scope.String() + " scope"
	if s.Enforced {
		extra += ", enforced"
	}
	return fmt.Sprintf("override %s in pack %s (%s)", s.OverrideID, s.Pack, extra)
}

// Settings are a rule's effective settings after overrides, with where each
// came from. Frequency is meaningful even when the rule is disabled: it is
// the interval the rule will run at once re-enabled.
type Settings struct {
	Rule            Rule          `json:"rule"`
	Enabled         bool          `json:"enabled"`
	Frequency       time.Duration `json:"frequency"`
	EnabledSource   Source        `json:"enabledSource"`
	FrequencySource Source        `json:"frequencySource"`
	// Conflicts lists ties between overrides with different values (at
	// most one per setting); the tie rule of package overrides chose.
	Conflicts []overrides.Conflict `json:"conflicts,omitempty"`
	// NotApplying lists overrides of this rule's Enabled and Frequency
	// that do not reach the management group, with the reason.
	NotApplying []overrides.NotApplying `json:"notApplying,omitempty"`
}

// String returns a status line such as
// "MPUpdate: enabled (default); Frequency 3600 s from override X in pack P 1.0.0.0 (class scope)".
func (s Settings) String() string {
	var b strings.Builder
	b.WriteString(s.Rule.ShortName() + ": ")
	if s.Enabled {
		b.WriteString("enabled")
	} else {
		b.WriteString("disabled")
	}
	b.WriteString(" (" + from(s.EnabledSource) + "); ")
	fmt.Fprintf(&b, "Frequency %d s (%s)", int64(s.Frequency/time.Second), from(s.FrequencySource))
	if n := len(s.Conflicts); n > 0 {
		fmt.Fprintf(&b, "; %d conflict(s)", n)
	}
	if n := len(s.NotApplying); n > 0 {
		fmt.Fprintf(&b, "; %d override(s) not applying", n)
	}
	return b.String()
}

func from(s Source) string {
	if s.Default {
		return "default"
	}
	return "from " + s.String()
}

// Effective returns the rule's settings on the management group given the
// overrides in set (nil means none), resolved as package overrides
// documents, with the rule's defaults where no override applies. It is
// EffectiveFor with the zero [overrides.Target].
func Effective(set *overrides.Set, r Rule) Settings { return EffectiveFor(set, r, overrides.Target{}) }

// EffectiveFor is Effective for a management group described by t (its
// instance GUID, the groups it is known to belong to).
func EffectiveFor(set *overrides.Set, r Rule, t overrides.Target) Settings {
	s := Settings{
		Rule: r, Enabled: r.DefaultEnabled(), Frequency: r.DefaultFrequency(),
		EnabledSource: Source{Default: true}, FrequencySource: Source{Default: true},
	}
	en := set.Resolve(string(r), overrides.Enabled, t)
	if en.Winner != nil {
		if v, err := en.Winner.Bool(); err == nil {
			s.Enabled = v
			s.EnabledSource = sourceOf(*en.Winner, en.Scope)
		}
	}
	fr := set.Resolve(string(r), overrides.Frequency, t)
	if fr.Winner != nil {
		if d, err := fr.Winner.Seconds(); err == nil {
			s.Frequency = d
			s.FrequencySource = sourceOf(*fr.Winner, fr.Scope)
		}
	}
	for _, res := range []overrides.Resolution{en, fr} {
		if res.Conflict != nil {
			s.Conflicts = append(s.Conflicts, *res.Conflict)
		}
		s.NotApplying = append(s.NotApplying, res.NotApplying...)
	}
	return s
}

func sourceOf(o overrides.Override, sc overrides.Scope) Source {
	return Source{OverrideID: o.ID, Pack: o.Pack, Enforced: o.Enforced, Scope: sc}
}
