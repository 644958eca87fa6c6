package mpsync_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// A change freeze through the library: SetOverride disables both rules in
// the store's override pack, the rules stop, and enabling them again lets
// them run.
func TestSetOverrideFreezeAndThaw(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	for _, rule := range rules.All() {
		res, err := r.engine.SetOverride(ctx, mpsync.OverrideRequest{Rule: rule, Enabled: new(false), By: "pipeline"})
		require.NoError(t, err)
		assert.Equal(t, mpsync.DefaultOverridePackID, res.Entry.ID)
		assert.Equal(t, storage.OwnerCustom, res.Entry.Owner)
		require.Len(t, res.Overrides, 1)
		assert.Equal(t, "false", res.Overrides[0].Value)
	}
	en, err := r.store.Get(ctx, mpsync.DefaultOverridePackID)
	require.NoError(t, err)
	assert.Equal(t, "1.0.0.1", en.Version.String(), "created at 1.0.0.0, bumped by the second override")

	_, rs := ruleStatus(t, r.engine)
	for _, rule := range rules.All() {
		assert.False(t, rs[rule].Enabled, rule)
		assert.Equal(t, mpsync.DefaultOverridePackID, rs[rule].EnabledSource.Pack.ID)
	}
	rep, err := r.engine.Sync(ctx)
	require.NoError(t, err)
	assert.Len(t, rep.Skipped, 2)
	assert.Empty(t, rep.Outcomes)

	// Asking again for what is there writes nothing.
	res, err := r.engine.SetOverride(ctx, mpsync.OverrideRequest{Rule: rules.MPUpdate, Enabled: new(false)})
	require.NoError(t, err)
	assert.True(t, res.Unchanged)
	assert.Equal(t, "1.0.0.1", res.Entry.Version.String())

	for _, rule := range rules.All() {
		_, err := r.engine.SetOverride(ctx, mpsync.OverrideRequest{Rule: rule, Enabled: new(true), By: "pipeline"})
		require.NoError(t, err)
	}
	_, rs = ruleStatus(t, r.engine)
	for _, rule := range rules.All() {
		assert.True(t, rs[rule].Enabled, rule)
	}
	rep, err = r.engine.Sync(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Skipped)

	recs, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{Pack: mpsync.DefaultOverridePackID})
	require.NoError(t, err)
	require.Len(t, recs, 4, "each write is in the ledger; the unchanged request is not")
	assert.Equal(t, "pipeline", recs[0].By)
	assert.Equal(t, "override of MPUpdate written (Enabled=false)", recs[0].Reason)
	assert.Equal(t, "1.0.0.3", recs[3].Version.String())
}

// The pack SetOverride writes is an override pack package overrides reads,
// with the Module given (or the default), exported from the store as bytes.
func TestSetOverrideFrequencyModuleAndExport(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.sync(t)
	res, err := r.engine.SetOverride(ctx, mpsync.OverrideRequest{Rule: rules.GetIntelligencePacks, Frequency: new(30 * time.Second), PackID: "Contoso.Freeze"})
	require.NoError(t, err)
	assert.True(t, res.Created)
	require.Len(t, res.Warnings, 1, "below a minute draws a warning")
	assert.Equal(t, overrides.DefaultModule, res.Overrides[0].Module)

	res, err = r.engine.SetOverride(ctx, mpsync.OverrideRequest{Rule: rules.GetIntelligencePacks, Frequency: new(time.Hour), PackID: "Contoso.Freeze", Module: "DS"})
	require.NoError(t, err)
	assert.False(t, res.Created)
	assert.Equal(t, "DS", res.Overrides[0].Module)

	rc, err := r.store.Open(ctx, "Contoso.Freeze")
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	p, err := overrides.ReadPack(bytes.NewReader(data))
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1, "updated in place")
	o := p.Overrides()[0]
	assert.Equal(t, "3600", o.Value)
	assert.Equal(t, "DS", o.Module)
	assert.Equal(t, overrides.ManagementGroupClass, o.Context)
	assert.Equal(t, overrides.LibraryPackID, o.ContextPack)
	assert.Equal(t, overrides.AdvisorPackID, o.RulePack)
	assert.Equal(t, "1.0.0.1", p.Ref().Version.String())

	_, rs := ruleStatus(t, r.engine)
	assert.Equal(t, time.Hour, rs[rules.GetIntelligencePacks].Frequency)
	assert.Equal(t, "Contoso.Freeze", rs[rules.GetIntelligencePacks].FrequencySource.Pack.ID)
}

// Bad requests are refused with a clear error and change nothing.
func TestSetOverrideRefusals(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		sync  bool // sync first (the Advisor pack is then imported)
		req   mpsync.OverrideRequest
		is    error
		inErr string
	}{
		{name: "unknown rule", sync: true, req: mpsync.OverrideRequest{Rule: "Contoso.Rule", Enabled: new(false)},
			is: mpsync.ErrBadOverride, inErr: `unknown rule "Contoso.Rule"`},
		{name: "no setting", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate},
			is: mpsync.ErrBadOverride, inErr: "give Enabled, Frequency or both"},
		{name: "zero frequency", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Frequency: new(time.Duration(0))},
			is: mpsync.ErrBadOverride, inErr: "whole number of seconds from 1"},
		{name: "fractional frequency", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Frequency: new(1500 * time.Millisecond)},
			is: mpsync.ErrBadOverride, inErr: "1.5s"},
		{name: "frequency beyond int32", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Frequency: new(2147483648 * time.Second)},
			is: mpsync.ErrBadOverride, inErr: "2147483647"},
		{name: "bad pack id", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Enabled: new(false), PackID: "no spaces allowed"},
			is: mpsync.ErrBadOverride, inErr: "pack id"},
		{name: "a workspace's pack", sync: true, req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Enabled: new(false), PackID: advisorID},
			is: mpsync.ErrImportRefused, inErr: "imported for workspace"},
		{name: "the Advisor pack is not imported yet", req: mpsync.OverrideRequest{Rule: rules.MPUpdate, Enabled: new(false)},
			is: mpsync.ErrImportRefused, inErr: "Microsoft.SystemCenter.Advisor >= 7.1.10226.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			if tt.sync {
				r.sync(t)
			}
			before := r.versions(t)
			_, err := r.engine.SetOverride(ctx, tt.req)
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.inErr)
			assert.Equal(t, before, r.versions(t), "nothing changed")
			recs, err := ledger.NewJSONL(r.store).Query(ctx, ledger.Query{Pack: mpsync.DefaultOverridePackID})
			require.NoError(t, err)
			assert.Empty(t, recs)
		})
	}
}
