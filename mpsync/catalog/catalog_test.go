package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const good = `{
  "schemaVersion": "1.0",
  "workspaceId": "ws-1",
  "serial": 42,
  "generatedAt": "2026-11-24T10:00:00Z",
  "solutions": [{"name": "AlertManagement", "enabled": true}, {"name": "Updates", "enabled": false}],
  "packs": [
    {"id": "Microsoft.SystemCenter.Advisor", "version": "7.1.10226.1239", "channel": "base",
     "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 48213,
     "href": "packs/Microsoft.SystemCenter.Advisor/7.1.10226.1239"},
    {"id": "Microsoft.IntelligencePacks.AlertManagement", "version": "7.2.11719", "channel": "solution",
     "solution": "AlertManagement", "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
     "size": 10422, "href": "packs/Microsoft.IntelligencePacks.AlertManagement/7.2.11719.0"},
    {"id": "Microsoft.IntelligencePacks.Updates", "version": "7.2.100.0", "channel": "solution",
     "solution": "Updates", "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
     "size": 0, "href": "https://cdn.example.test/u.xml"}
  ]
}`

func TestDecodeGood(t *testing.T) {
	c, err := Decode(strings.NewReader(good))
	require.NoError(t, err)
	assert.Equal(t, int64(42), c.Serial)
	assert.Equal(t, "7.2.11719.0", c.Packs[1].Version.String(), "a missing part is 0")
	p, ok := c.Pack("Microsoft.IntelligencePacks.AlertManagement")
	require.True(t, ok)
	assert.True(t, c.Wanted(p))
	u, _ := c.Pack("Microsoft.IntelligencePacks.Updates")
	assert.False(t, c.Wanted(u), "solution disabled")
	b, _ := c.Pack("Microsoft.SystemCenter.Advisor")
	assert.True(t, c.Wanted(b), "base packs are always wanted")
	assert.False(t, c.Enabled("Ghost"), "a solution missing from the list is not enabled")
	_, ok = c.Pack("nope")
	assert.False(t, ok)
}

func TestDecodeRefusesInvalid(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"not JSON", `{`, `[`, "not a JSON catalog"},
		{"major version unknown", `"schemaVersion": "1.0"`, `"schemaVersion": "2.0"`, "major version 2 is not supported"},
		{"schema version garbage", `"schemaVersion": "1.0"`, `"schemaVersion": "one"`, "schemaVersion \"one\""},
		{"empty id", `"id": "Microsoft.SystemCenter.Advisor"`, `"id": ""`, "invalid management pack id: empty"},
		{"bad id characters", `"id": "Microsoft.SystemCenter.Advisor"`, `"id": "../etc/passwd"`, "allowed: A-Z a-z 0-9 . _ -"},
		{"long id", `"id": "Microsoft.SystemCenter.Advisor"`, `"id": "` + strings.Repeat("a", 257) + `"`, "at most 256 allowed"},
		{"bad version", `"version": "7.1.10226.1239"`, `"version": "7.1.x"`, "packs[0] (Microsoft.SystemCenter.Advisor): version"},
		{"duplicate id", `"id": "Microsoft.IntelligencePacks.Updates"`, `"id": "Microsoft.SystemCenter.Advisor"`, "listed twice"},
		{"short hash", `"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`, `"sha256": "9f86"`, "not 64 hex digits"},
		{"hash not hex", `"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`, `"sha256": "zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`, "not 64 hex digits"},
		{"dot id", `"id": "Microsoft.SystemCenter.Advisor"`, `"id": ".."`, "invalid management pack id"},
		{"negative size", `"size": 48213`, `"size": -5`, "size -5 is negative"},
		{"solution pack without solution", `"solution": "AlertManagement", "sha256"`, `"sha256"`, "names no solution"},
		{"unknown channel", `"channel": "base"`, `"channel": "beta"`, "neither base nor solution"},
		{"nameless solution", `{"name": "Updates", "enabled": false}`, `{"name": "", "enabled": false}`, "solutions[1] has no name"},
		// A catalog without packs used to read as "the workspace wants no
		// packs" and removed every workspace pack.
		{"packs missing", `"packs": [`, `"other": [`, `"packs" is missing`},
		{"packs null", `"packs": [`, `"packs": null, "other": [`, `"packs" is null`},
		{"solutions missing", `"solutions":`, `"other":`, `"solutions" is missing`},
		{"solutions null", `"solutions": [`, `"solutions": null, "other": [`, `"solutions" is null`},
		{"serial missing", `"serial": 42,`, ``, `"serial" is missing`},
		{"serial null", `"serial": 42`, `"serial": null`, `"serial" is null`},
		{"workspaceId missing", `"workspaceId": "ws-1",`, ``, `"workspaceId" is missing`},
		{"schemaVersion null", `"schemaVersion": "1.0"`, `"schemaVersion": null`, `"schemaVersion" is null`},
		{"data after the object", "\n}", "\n} {}", "data after the catalog's JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(good, tt.from, tt.to, 1)
			require.NotEqual(t, good, doc, "the edit must apply")
			_, err := Decode(strings.NewReader(doc))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid), "%v", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestValidateNamesTheFirstProblem(t *testing.T) {
	c, err := Decode(strings.NewReader(good))
	require.NoError(t, err)
	c.Packs[1].SHA256 = "x"
	c.Packs[2].Size = -1
	err = c.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "packs[1]")
	assert.NotContains(t, err.Error(), "packs[2]")
}

// What docs/protocol.md §1 does not list as invalid is accepted.
func TestDecodeAcceptsWhatTheProtocolAllows(t *testing.T) {
	for _, tt := range []struct{ name, from, to string }{
		{"upper-case hash", `"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`, `"sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"`},
		{"duplicate solution", `{"name": "Updates", "enabled": false}`, `{"name": "AlertManagement", "enabled": false}`},
		{"negative serial", `"serial": 42`, `"serial": -1`},
		{"id of 256 characters", `"id": "Microsoft.SystemCenter.Advisor"`, `"id": "` + strings.Repeat("a", 256) + `"`},
		{"solution pack whose solution is not listed", `"solution": "Updates"`, `"solution": "Ghost"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(good, tt.from, tt.to, 1)
			require.NotEqual(t, good, doc)
			c, err := Decode(strings.NewReader(doc))
			require.NoError(t, err)
			for _, p := range c.Packs {
				assert.Equal(t, strings.ToLower(p.SHA256), p.SHA256, "hashes are lower-cased")
			}
		})
	}
	c, err := Decode(strings.NewReader(strings.Replace(good, `{"name": "Updates", "enabled": false}`, `{"name": "AlertManagement", "enabled": false}`, 1)))
	require.NoError(t, err)
	assert.True(t, c.Enabled("AlertManagement"), "the first entry of a solution listed twice counts")
}

func TestCheckSerial(t *testing.T) {
	c := &Catalog{WorkspaceID: "ws", Serial: 7}
	tests := []struct {
		name       string
		c          *Catalog
		applied    int64
		appliedFor string
		wantErr    bool
	}{
		{"lower for the same workspace", c, 10, "ws", true},
		{"equal", c, 7, "ws", false},
		{"higher", c, 3, "ws", false},
		{"another workspace's serial does not count", c, 10, "other", false},
		{"no catalog", nil, 10, "ws", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSerial(tt.c, tt.applied, tt.appliedFor, "the held catalog's ")
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrSerialRegressed)
			assert.EqualError(t, err, "catalog serial went backwards: serial 7 is lower than the held catalog's 10")
		})
	}
}
