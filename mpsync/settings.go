package mpsync

import (
	"context"
	"fmt"
	"sync"

	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// SettingsFunc adapts a function to [SettingsSource].
type SettingsFunc func(ctx context.Context, r rules.Rule) (rules.Settings, error)

// Settings calls f.
func (f SettingsFunc) Settings(ctx context.Context, r rules.Rule) (rules.Settings, error) {
	return f(ctx, r)
}

// DefaultSettings returns the rules' defaults: MPUpdate every 43200 s and
// GetIntelligencePacks every 300 s, both enabled.
func DefaultSettings() SettingsSource {
	return SettingsFunc(func(_ context.Context, r rules.Rule) (rules.Settings, error) {
		if !r.Valid() {
			return rules.Settings{}, fmt.Errorf("unknown rule %q", r)
		}
		return rules.Effective(nil, r), nil
	})
}

// OverrideSettings returns the settings the override packs of src give the
// management group t (the zero Target is the usual case), resolved with
// SCOM's precedence by package overrides and rules. src re-reads a file only
// when it changed, so asking often is cheap.
//
// Given to an engine as Options.Settings, the files are combined with the
// override packs in the engine's store, as if the files were imported into
// the management group too (see [Options.Settings]); called directly, its
// Settings method sees the files alone.
//
// When an override pack becomes invalid (a bad edit), the last valid
// overrides stay in force, as the caller of [overrides.Source.Load] keeps
// them, and the returned [OverrideSettingsSource.Err] reports the problem;
// Settings fails only when no valid set was ever loaded.
func OverrideSettings(src *overrides.Source, t overrides.Target) *OverrideSettingsSource {
	return &OverrideSettingsSource{src: src, target: t}
}

// OverrideSettingsSource is the [SettingsSource] of [OverrideSettings].
type OverrideSettingsSource struct {
	src    *overrides.Source
	target overrides.Target
	mu     sync.Mutex
	err    error
}

// Settings loads the overrides (cheaply when unchanged) and resolves r.
func (o *OverrideSettingsSource) Settings(ctx context.Context, r rules.Rule) (rules.Settings, error) {
	if !r.Valid() {
		return rules.Settings{}, fmt.Errorf("unknown rule %q", r)
	}
	set, err := o.src.Load(ctx)
	o.setErr(err)
	if set == nil && err != nil {
		return rules.Settings{}, fmt.Errorf("override packs: %w", err)
	}
	return rules.EffectiveFor(set, r, o.target), nil
}

func (o *OverrideSettingsSource) setErr(err error) {
	o.mu.Lock()
	o.err = err
	o.mu.Unlock()
}

// Err returns the problem of the last load, if any: an invalid override
// pack whose last valid content is still in force.
func (o *OverrideSettingsSource) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
