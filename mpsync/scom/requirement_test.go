package scom

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
)

func TestDefaultRequirements(t *testing.T) {
	tests := []struct {
		version string
		proxy   bool
		release string // "" when accepted
		minimum string
	}{
		// 2012 SP1: UR6 for the integration, UR7 with a proxy.
		{version: "7.0.9538.0", release: "Operations Manager 2012 SP1", minimum: "7.0.9538.1109"},
		{version: "7.0.9538.1108", release: "Operations Manager 2012 SP1", minimum: "7.0.9538.1109"},
		{version: "7.0.9538.1109"},
		{version: "7.0.9538.1109", proxy: true, release: "Operations Manager 2012 SP1", minimum: "7.0.9538.1117"},
		{version: "7.0.9538.1117", proxy: true},
		// 2012 R2: UR2, UR3 with a proxy.
		{version: "7.1.10226.0", release: "Operations Manager 2012 R2", minimum: "7.1.10226.1015"},
		{version: "7.1.10226.1011", release: "Operations Manager 2012 R2", minimum: "7.1.10226.1015"},
		{version: "7.1.10226.1015"},
		{version: "7.1.10226.1015", proxy: true, release: "Operations Manager 2012 R2", minimum: "7.1.10226.1037"},
		{version: "7.1.10226.1037", proxy: true},
		{version: "7.1.10226.1387", proxy: true},
		// 2012 RTM is never supported.
		{version: "7.0.8560.0", release: "Operations Manager 2012"},
		// Later releases.
		{version: "7.2.11719.0"},
		{version: "7.2.11719.0", proxy: true},
		{version: "7.3.13261.0"},
		{version: "10.19.10050.0", proxy: true},
		{version: "10.22.10118.0"},
		{version: "10.25.10132.0"},
		{version: "10.26.100.0"},
	}
	reqs := DefaultRequirements()
	for _, tt := range tests {
		err := reqs.Check(pack.MustParseVersion(tt.version), tt.proxy)
		if tt.release == "" {
			assert.NoError(t, err, "%s proxy=%t", tt.version, tt.proxy)
			continue
		}
		var re *RequirementError
		require.True(t, errors.As(err, &re), "%s proxy=%t: %v", tt.version, tt.proxy, err)
		assert.ErrorIs(t, err, ErrRequirement)
		assert.Equal(t, tt.release, re.Release, tt.version)
		assert.Contains(t, err.Error(), tt.version, "the refusal names the version given")
		assert.Contains(t, err.Error(), tt.release)
		if tt.minimum != "" {
			assert.Equal(t, tt.minimum, re.Minimum.String())
			assert.Contains(t, err.Error(), tt.minimum, "the refusal names the minimum")
		}
	}
}

func TestRequirementUnrecognised(t *testing.T) {
	for _, v := range []string{"6.1.7221.0", "7.2.10015.0", "8.0.0.0", "1.0"} {
		err := DefaultRequirements().Check(pack.MustParseVersion(v), false)
		require.ErrorIs(t, err, ErrRequirement, v)
		assert.Contains(t, err.Error(), "not a recognised Operations Manager release")
	}
}

func TestRequirementTableReplaceable(t *testing.T) {
	custom := Requirements{{Release: "Lab build", Match: ">= 1.0", Minimum: pack.MustParseVersion("1.2.0.0"), MinimumName: "lab minimum"}}
	assert.NoError(t, custom.Check(pack.MustParseVersion("1.2.0.0"), true))
	assert.ErrorContains(t, custom.Check(pack.MustParseVersion("1.1.9.9"), false), "lab minimum")
	bad := Requirements{{Release: "Broken", Match: "~>>1"}}
	assert.Error(t, bad.Check(pack.MustParseVersion("1.0.0.0"), false))
}

func TestMalformedVersionsAreRefusedByTheParser(t *testing.T) {
	for _, s := range []string{"", "7.1.x", "-1", "1..2", "7.1.10226.2147483648", "2016"} {
		if _, err := pack.ParseVersion(s); s == "2016" {
			assert.NoError(t, err, "2016 parses as a version; the table then refuses it")
			assert.Error(t, DefaultRequirements().Check(pack.MustParseVersion(s), false))
		} else {
			assert.Error(t, err, s)
		}
	}
}
