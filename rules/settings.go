package rules

import (
	"context"
	"fmt"
	"sync"

	"mpsync.dev/overrides"
)

// SettingsFunc adapts a function to the engine's SettingsSource
// (mpsync.Options.Settings): where the rules' settings come from.
type SettingsFunc func(ctx context.Context, r Rule) (Settings, error)

// Settings calls f.
func (f SettingsFunc) Settings(ctx context.Context, r Rule) (Settings, error) {
	return f(ctx, r)
}

// DefaultSettings returns the rules' defaults: MPUpdate every 43200 s and
// GetIntelligencePacks every 300 s, both enabled.
func DefaultSettings() SettingsFunc {
	return SettingsFunc(func(_ context.Context, r Rule) (Settings, error) {
		if !r.Valid() {
			return Settings{}, fmt.Errorf("unknown rule %q", r)
		}
		return Effective(nil, r), nil
	})
}

// FromOverrides returns the settings the override packs of src give the
// management group t (the zero Target is the usual case), resolved with
// SCOM's precedence by packages overrides and rules. src re-reads a file only
// when it changed, so asking often is cheap.
//
// Given to an engine as Options.Settings, the files are combined with the
// override packs in the engine's store, as if the files were imported into
// the management group too (see mpsync.Options.Settings); called directly, its
// Settings method sees the files alone.
//
// When an override pack becomes invalid (a bad edit), the last valid
// overrides stay in force, as the caller of [overrides.Source.Load] keeps
// them, and the returned [OverrideSource.Err] reports the problem;
// Settings fails only when no valid set was ever loaded.
func FromOverrides(src *overrides.Source, t overrides.Target) *OverrideSource {
	return &OverrideSource{src: src, target: t}
}

// OverrideSource is the settings source [FromOverrides] returns.
type OverrideSource struct {
	src    *overrides.Source
	target overrides.Target
	mu     sync.Mutex
	err    error
}

// Settings loads the overrides (cheaply when unchanged) and resolves r.
func (o *OverrideSource) Settings(ctx context.Context, r Rule) (Settings, error) {
	if !r.Valid() {
		return Settings{}, fmt.Errorf("unknown rule %q", r)
	}
	set, err := o.src.Load(ctx)
	o.setErr(err)
	if set == nil && err != nil {
		return Settings{}, fmt.Errorf("override packs: %w", err)
	}
	return EffectiveFor(set, r, o.target), nil
}

func (o *OverrideSource) setErr(err error) {
	o.mu.Lock()
	o.err = err
	o.mu.Unlock()
}

// Err returns the problem of the last load, if any: an invalid override
// pack whose last valid content is still in force.
func (o *OverrideSource) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Target is the management group whose settings the source resolves.
func (o *OverrideSource) Target() overrides.Target { return o.target }

// Load reads the override packs (cheaply when unchanged) and returns the
// current valid set, recording a problem for [OverrideSource.Err]. The
// engine calls it to combine the files with the override packs in its
// store; the set is nil only when no valid set was ever loaded.
func (o *OverrideSource) Load(ctx context.Context) (*overrides.Set, error) {
	set, err := o.src.Load(ctx)
	o.setErr(err)
	return set, err
}
