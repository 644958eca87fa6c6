package scom_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

func TestResources(t *testing.T) {
	tests := []struct {
		version, release, folder, minimum string
		media                             bool
	}{
		{"", "", "", "0.0.0.0", false},
		{"7.0.9538.1117", "2012 SP1", scom.ResourcesFolder2012SP1, "7.0.9538.0", false},
		{"7.1.10226.1239", "2012 R2", scom.ResourcesFolder2012R2, "7.1.10226.0", false},
		{"7.2.11719.0", "2016", scom.ResourcesMediaFolder, "7.2.11719.0", true},
		{"7.3.13261.0", "1801", scom.ResourcesMediaFolder, "7.3.13142.0", true},
		{"10.22.10118.0", "2022", scom.ResourcesMediaFolder, "10.22.10118.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			var v pack.Version
			if tc.version != "" {
				v = pack.MustParseVersion(tc.version)
			}
			r := scom.Resources("JPN", v)
			assert.Equal(t, "Microsoft.SystemCenter.Advisor.Resources.JPN", r.ID)
			assert.Equal(t, "Microsoft.SystemCenter.Advisor.Resources.JPN.mpb", r.File)
			assert.Equal(t, tc.release, r.Release.Name)
			assert.Equal(t, tc.folder, r.Folder)
			assert.Equal(t, tc.media, r.OnMedia)
			assert.Equal(t, tc.minimum, r.Minimum.String())
			assert.NotEmpty(t, r.MinimumReason)
			assert.NotEmpty(t, r.Where())
		})
	}
	for id, want := range map[string]string{"Microsoft.SystemCenter.Advisor.Resources.ENU": "ENU", "Microsoft.SystemCenter.Advisor.Resources.DEU": "DEU", "Microsoft.SystemCenter.Advisor": "", "Microsoft.SystemCenter.Advisor.Resources.": "", "Microsoft.SystemCenter.Advisor.Resources.ENU.Extra": ""} {
		got, ok := scom.ResourcesLanguage(id)
		assert.Equal(t, want, got, id)
		assert.Equal(t, want != "", ok, id)
	}
}
