package scom_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

// platformLibraries are the libraries mp-format.md lists; every built-in
// inventory has to hold them all.
var platformLibraries = []string{
	"System.Library", "System.Health.Library", "System.Performance.Library",
	"System.Image.Library", "System.AdminItem.Library", "System.ApplicationLog.Library",
	"System.Snmp.Library", "System.Software.Library", "Microsoft.Windows.Library",
	"Microsoft.SystemCenter.Library", "Microsoft.SystemCenter.Internal",
	"Microsoft.SystemCenter.InstanceGroup.Library",
	"Microsoft.SystemCenter.DataWarehouse.Library",
	"Microsoft.SystemCenter.OperationsManager.Library",
	"Microsoft.SystemCenter.WebApplication.Library",
	"Microsoft.SystemCenter.Visualization.Library",
	"Microsoft.SystemCenter.Visualization.Configuration.Library",
	"Microsoft.SystemCenter.Visualization.Component.Library",
	"Microsoft.SystemCenter.ServiceDesigner.Library",
}

func TestReleases(t *testing.T) {
	rs := scom.Releases()
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"2012 SP1", "2012 R2", "2016", "1801", "2019", "2022", "2025"}, names)
	assert.Equal(t, rs[len(rs)-1], scom.Latest())

	for i, r := range rs {
		inv := r.Platform()
		assert.ElementsMatch(t, platformLibraries, keys(inv), r.Name)
		if i == 0 {
			continue
		}
		assert.True(t, rs[i-1].Build.Less(r.Build), "%s after %s", r.Name, rs[i-1].Name)
		// A later release never ships a library at a lower version, which
		// makes the latest inventory the permissive one.
		prev := rs[i-1].Platform()
		for id, v := range inv {
			assert.False(t, v.Less(prev[id]), "%s: %s %s is below %s's %s", r.Name, id, v, rs[i-1].Name, prev[id])
		}
	}

	rs[0].Name = "changed"
	assert.Equal(t, "2012 SP1", scom.Releases()[0].Name, "Releases returns a copy")
}

func keys(inv pack.Inventory) []string {
	var out []string
	for id := range inv {
		out = append(out, id)
	}
	return out
}

func TestReleasePlatformVersions(t *testing.T) {
	v := pack.MustParseVersion
	tests := []struct {
		release string
		want    map[string]pack.Version
	}{
		{"2012 SP1", map[string]pack.Version{
			"System.Library": v("7.5.8501.0"), "Microsoft.SystemCenter.Library": v("7.0.9538.0"),
			"Microsoft.SystemCenter.Visualization.Component.Library": v("7.0.9538.0"),
		}},
		{"2012 R2", map[string]pack.Version{
			// The bug: real 2012 R2 groups ship System.Image.Library at 7.5.8501.0.
			"System.Image.Library": v("7.5.8501.0"), "Microsoft.Windows.Library": v("7.5.8501.0"),
			"Microsoft.SystemCenter.DataWarehouse.Library": v("7.1.10226.0"),
		}},
		{"2016", map[string]pack.Version{"Microsoft.SystemCenter.Library": v("7.2.11719.0"), "Microsoft.Windows.Library": v("7.5.8501.0")}},
		{"1801", map[string]pack.Version{"Microsoft.SystemCenter.Library": v("7.3.13142.0")}},
		{"2019", map[string]pack.Version{"Microsoft.SystemCenter.Library": v("10.19.10050.0"), "System.Library": v("7.5.8501.1")}},
		{"2022", map[string]pack.Version{
			"Microsoft.SystemCenter.Library": v("10.22.10118.0"), "System.Library": v("7.5.8501.1"),
			"Microsoft.SystemCenter.InstanceGroup.Library": v("7.5.8501.1"),
		}},
		{"2025", map[string]pack.Version{
			"Microsoft.SystemCenter.Library": v("10.25.10132.0"), "Microsoft.SystemCenter.Visualization.Library": v("10.25.10132.0"),
			"System.Library": v("7.5.8501.1"), "Microsoft.Windows.Library": v("7.5.8501.1"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.release, func(t *testing.T) {
			r, ok := scom.ReleaseNamed(tc.release)
			require.True(t, ok)
			inv := r.Platform()
			for id, want := range tc.want {
				assert.Equal(t, want, inv[id], id)
			}
		})
	}
}

func TestReleaseNamed(t *testing.T) {
	tests := []struct {
		name string
		want string
		ok   bool
	}{
		{"2012 R2", "2012 R2", true},
		{"2012 r2", "2012 R2", true},
		{"Operations Manager 2019", "2019", true},
		{"SCOM 2022", "2022", true},
		{" 2025 ", "2025", true},
		{"1807", "1801", true},
		{"2012", "", false},
		{"2007 R2", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		r, ok := scom.ReleaseNamed(tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
		assert.Equal(t, tc.want, r.Name, tc.name)
	}
	assert.Nil(t, scom.Release{}.Platform(), "the zero Release has no inventory")
}

func TestPlatformPicksByGroupVersion(t *testing.T) {
	v := pack.MustParseVersion
	tests := []struct {
		name    string
		group   string
		release string
		known   bool
		scLib   string // Microsoft.SystemCenter.Library in the inventory
	}{
		{"zero: the latest, permissive", "0.0.0.0", "2025", false, "10.25.10132.0"},
		{"2012 SP1 UR6", "7.0.9538.1109", "2012 SP1", true, "7.0.9538.0"},
		{"2012 R2 RTM", "7.1.10226.0", "2012 R2", true, "7.1.10226.0"},
		{"2012 R2 UR14", "7.1.10226.1239", "2012 R2", true, "7.1.10226.0"},
		{"a 2016 update rollup", "7.2.12324.0", "2016", true, "7.2.11719.0"},
		{"1801", "7.3.13142.0", "1801", true, "7.3.13142.0"},
		{"1807", "7.3.13261.0", "1801", true, "7.3.13261.0"},
		{"2019 UR1", "10.19.10311.0", "2019", true, "10.19.10050.0"},
		{"2022 RTM", "10.22.10118.0", "2022", true, "10.22.10118.0"},
		{"2025 RTM", "10.25.10132.0", "2025", true, "10.25.10132.0"},
		{"2012 RTM, older than SP1", "7.0.8560.0", "2012 SP1", false, "7.0.9538.0"},
		{"2007 R2", "6.1.7221.0", "2012 SP1", false, "7.0.9538.0"},
		{"between 1807 and 2019", "8.0.0.0", "1801", false, "7.3.13142.0"},
		{"after 2025", "10.28.10000.0", "2025", false, "10.25.10132.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, r := scom.Platform(v(tc.group))
			assert.Equal(t, tc.release, r.Name)
			assert.Equal(t, v(tc.scLib), inv["Microsoft.SystemCenter.Library"])
			assert.Len(t, inv, len(platformLibraries))
			_, known := scom.ReleaseOf(v(tc.group))
			assert.Equal(t, tc.known, known)
		})
	}
	inv, _ := scom.Platform(pack.Version{})
	inv["System.Library"] = pack.Version{}
	again, _ := scom.Platform(pack.Version{})
	assert.NotEqual(t, pack.Version{}, again["System.Library"], "each call returns a fresh map")
}

func TestReleaseIncludes(t *testing.T) {
	r, ok := scom.ReleaseNamed("2012 R2")
	require.True(t, ok)
	assert.True(t, r.Includes(pack.MustParseVersion("7.1.10226.1239")))
	assert.False(t, r.Includes(pack.MustParseVersion("7.1.10225.0")))
	assert.False(t, r.Includes(pack.MustParseVersion("7.2.11719.0")))
	assert.Equal(t, "Operations Manager 2012 R2", r.String())
	assert.False(t, scom.Release{}.Includes(pack.Version{}))
}
