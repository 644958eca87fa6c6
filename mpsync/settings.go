package mpsync

import (
	"context"
	"fmt"
	"time"

	"mpsync.dev/rules"
)

// RuleSettings are a rule's effective settings and where each comes from.
type RuleSettings struct {
	Rule      rules.Rule    `json:"rule"`
	Enabled   bool          `json:"enabled"`
	Frequency time.Duration `json:"frequency"`
	// EnabledSource says what set Enabled: "default", or the override and
	// the pack that holds it.
	EnabledSource string `json:"enabledSource"`
	// FrequencySource says what set Frequency, in the same form.
	FrequencySource string `json:"frequencySource"`
	// Notes carries warnings and conflicts worth showing an operator.
	Notes []string `json:"notes,omitempty"`
}

// SettingsSource supplies each rule's effective settings. The engine asks
// before every run and every scheduling decision, so a source whose inputs
// change (an override pack edited on disk) is followed without a restart;
// make Settings cheap when nothing changed. Implementations must be safe for
// concurrent use.
type SettingsSource interface {
	Settings(ctx context.Context, r rules.Rule) (RuleSettings, error)
}

// SettingsFunc adapts a function to [SettingsSource].
type SettingsFunc func(ctx context.Context, r rules.Rule) (RuleSettings, error)

// Settings calls f.
func (f SettingsFunc) Settings(ctx context.Context, r rules.Rule) (RuleSettings, error) {
	return f(ctx, r)
}

// DefaultSettings returns the rules' defaults: MPUpdate every 43200 s and
// GetIntelligencePacks every 300 s, both enabled.
func DefaultSettings() SettingsSource {
	return SettingsFunc(func(_ context.Context, r rules.Rule) (RuleSettings, error) {
		if !r.Valid() {
			return RuleSettings{}, fmt.Errorf("unknown rule %q", r)
		}
		return RuleSettings{Rule: r, Enabled: r.DefaultEnabled(), Frequency: r.DefaultFrequency(),
			EnabledSource: "default", FrequencySource: "default"}, nil
	})
}
