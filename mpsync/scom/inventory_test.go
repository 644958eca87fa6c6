package scom_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

// crlf turns the LF line ends of a Go raw string into the CRLF PowerShell
// writes on Windows.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// utf16LE encodes s as Windows PowerShell 5.1's -Encoding Unicode does:
// UTF-16 little endian with a byte-order mark.
func utf16LE(s string) string {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

const utf8BOM = "\xEF\xBB\xBF"

// Windows PowerShell 5.1: Get-SCOMManagementPack | Select-Object Name,
// Version | Export-Csv packs.csv (with the #TYPE line, every field quoted).
var csvWindowsPowerShell = crlf(`#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack
"Name","Version"
"System.Library","7.5.8501.0"
"Microsoft.SystemCenter.Library","7.1.10226.0"
"System.Image.Library","7.5.8501.0"
"Microsoft.SQLServer.Core.Library","7.0.7.0"
`)

// PowerShell 7: Export-Csv writes no #TYPE line by default.
var csvPowerShell7 = crlf(`"Name","Version"
"System.Library","7.5.8501.0"
"Microsoft.SystemCenter.Library","7.1.10226.0"
"System.Image.Library","7.5.8501.0"
"Microsoft.SQLServer.Core.Library","7.0.7.0"
`)

// Windows PowerShell 5.1: ... | ConvertTo-Json, its indentation and its
// two spaces after each colon; Version is a System.Version object.
var jsonWindowsPowerShell = crlf(`[
    {
        "Name":  "System.Library",
        "Version":  {
                        "Major":  7,
                        "Minor":  5,
                        "Build":  8501,
                        "Revision":  0,
                        "MajorRevision":  0,
                        "MinorRevision":  0
                    }
    },
    {
        "Name":  "Microsoft.SystemCenter.Library",
        "Version":  {
                        "Major":  7,
                        "Minor":  1,
                        "Build":  10226,
                        "Revision":  0,
                        "MajorRevision":  0,
                        "MinorRevision":  0
                    }
    },
    {
        "Name":  "System.Image.Library",
        "Version":  {
                        "Major":  7,
                        "Minor":  5,
                        "Build":  8501,
                        "Revision":  0,
                        "MajorRevision":  0,
                        "MinorRevision":  0
                    }
    },
    {
        "Name":  "Microsoft.SQLServer.Core.Library",
        "Version":  "7.0.7.0"
    }
]
`)

// PowerShell 7: ConvertTo-Json of a single pack is one object, not an array.
var jsonSingle = `{
  "Name": "Microsoft.SQLServer.Core.Library",
  "Version": {
    "Major": 7,
    "Minor": 0,
    "Build": 7,
    "Revision": 0,
    "MajorRevision": 0,
    "MinorRevision": 0
  }
}
`

var wantFour = pack.Inventory{
	"System.Library":                   pack.MustParseVersion("7.5.8501.0"),
	"Microsoft.SystemCenter.Library":   pack.MustParseVersion("7.1.10226.0"),
	"System.Image.Library":             pack.MustParseVersion("7.5.8501.0"),
	"Microsoft.SQLServer.Core.Library": pack.MustParseVersion("7.0.7.0"),
}

// referencing is a one-pack graph whose pack references id at version.
func referencing(t *testing.T, id, version string) *pack.Graph {
	t.Helper()
	g, err := pack.NewGraph([]pack.Manifest{{
		ID: "Contoso.App", Version: pack.MustParseVersion("1.0.0.0"),
		References: []pack.Reference{{Alias: "Ref", ID: id, Version: pack.MustParseVersion(version)}},
	}})
	require.NoError(t, err)
	return g
}

func TestReadInventoryAsPowerShellWritesIt(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  pack.Inventory
	}{
		{"Export-Csv, Windows PowerShell 5.1, ASCII", csvWindowsPowerShell, wantFour},
		{"Export-Csv -Encoding UTF8 (BOM)", utf8BOM + csvWindowsPowerShell, wantFour},
		{"Export-Csv -Encoding Unicode (UTF-16 LE, BOM)", utf16LE(csvWindowsPowerShell), wantFour},
		{"Export-Csv, PowerShell 7 (no #TYPE)", csvPowerShell7, wantFour},
		{"Export-Csv, LF line ends and unquoted fields", "Name,Version\nSystem.Library,7.5.8501.0\nMicrosoft.SystemCenter.Library,7.1.10226.0\nSystem.Image.Library,7.5.8501.0\nMicrosoft.SQLServer.Core.Library,7.0.7.0\n", wantFour},
		{"Export-Csv of more columns, reordered", crlf(`"Version","DisplayName","Name"
"7.5.8501.0","System Library","System.Library"
"7.1.10226.0","System Center Core Library","Microsoft.SystemCenter.Library"
"7.5.8501.0","Image Library (System)","System.Image.Library"
"7.0.7.0","Microsoft SQL Server Core Library","Microsoft.SQLServer.Core.Library"
`), wantFour},
		{"ConvertTo-Json, Windows PowerShell 5.1", jsonWindowsPowerShell, wantFour},
		{"ConvertTo-Json | Out-File, UTF-16 LE with BOM", utf16LE(jsonWindowsPowerShell), wantFour},
		{"ConvertTo-Json, UTF-8 BOM", utf8BOM + jsonWindowsPowerShell, wantFour},
		{"ConvertTo-Json of one pack (an object)", jsonSingle, pack.Inventory{"Microsoft.SQLServer.Core.Library": pack.MustParseVersion("7.0.7.0")}},
		{"ConvertTo-Json, Build and Revision -1 (a two-part System.Version)",
			`[{"Name":"Contoso.Lib","Version":{"Major":1,"Minor":2,"Build":-1,"Revision":-1}}]`,
			pack.Inventory{"Contoso.Lib": pack.MustParseVersion("1.2")}},
		{"the same pack twice at the same version", crlf("\"Name\",\"Version\"\n\"System.Library\",\"7.5.8501.0\"\n\"System.Library\",\"7.5.8501.0\"\n"),
			pack.Inventory{"System.Library": pack.MustParseVersion("7.5.8501.0")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := scom.ReadInventory(strings.NewReader(tc.input))
			require.NoError(t, err)
			assert.Equal(t, tc.want, inv)
		})
	}
}

// Each form decides a reference both ways: met at the version present or
// lower, not met above it, missing when the pack is not listed.
func TestReadInventoryDecidesReferences(t *testing.T) {
	inputs := map[string]string{
		"csv":          csvWindowsPowerShell,
		"csv utf-16":   utf16LE(csvWindowsPowerShell),
		"json":         jsonWindowsPowerShell,
		"json utf-16":  utf16LE(jsonWindowsPowerShell),
		"json one":     jsonSingle,
		"csv ps7 bom":  utf8BOM + csvPowerShell7,
		"json ps7 bom": utf8BOM + jsonSingle,
	}
	refs := []struct {
		id, version string
		met         bool
	}{
		{"Microsoft.SQLServer.Core.Library", "7.0.7.0", true},
		{"Microsoft.SQLServer.Core.Library", "7.0.0.0", true},
		{"Microsoft.SQLServer.Core.Library", "7.0.7.1", false},
		{"Microsoft.SQLServer.Core.Library", "7.4.0.0", false},
		{"Contoso.NotInstalled", "1.0.0.0", false},
	}
	for name, input := range inputs {
		inv, err := scom.ReadInventory(strings.NewReader(input))
		require.NoError(t, err, name)
		for _, r := range refs {
			u := referencing(t, r.id, r.version).Unsatisfied(inv.Lookup)
			assert.Equal(t, r.met, len(u) == 0, "%s: %s >= %s: %v", name, r.id, r.version, u)
		}
	}
	// The bug this package fixes: the Azure pack's System.Image.Library
	// reference against an exported 2012 R2 group.
	inv, err := scom.ReadInventory(strings.NewReader(csvWindowsPowerShell))
	require.NoError(t, err)
	assert.Empty(t, referencing(t, "System.Image.Library", "7.5.8501.0").Unsatisfied(inv.Lookup))
}

func TestReadInventoryErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the error
	}{
		{"empty", "", []string{"empty"}},
		{"only white space", " \r\n", []string{"empty"}},
		{"header only", crlf("#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack\n\"Name\",\"Version\"\n"), []string{"no management packs"}},
		{"no Version column", crlf("\"Name\",\"DisplayName\"\n\"System.Library\",\"System Library\"\n"), []string{"line 1", "Name,DisplayName", "Version column"}},
		{"no Version column after #TYPE", crlf("#TYPE x\n\"Name\",\"Sealed\"\n"), []string{"line 2"}},
		{"bad version on line 4", crlf(`#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack
"Name","Version"
"System.Library","7.5.8501.0"
"System.Health.Library","7.0.x.0"
`), []string{"line 4", `"7.0.x.0"`, "System.Health.Library"}},
		{"empty version", crlf("\"Name\",\"Version\"\n\"System.Library\",\"\"\n"), []string{"line 2", `Version ""`}},
		{"bad name", crlf("\"Name\",\"Version\"\n\"System Library\",\"7.5.8501.0\"\n"), []string{"line 2", `"System Library"`}},
		{"wrong number of fields", crlf("\"Name\",\"Version\"\n\"System.Library\",\"7.5.8501.0\",\"x\"\n"), []string{"line 2", "number of fields"}},
		{"unterminated quote", crlf("\"Name\",\"Version\"\n\"System.Library,7.5.8501.0\n"), []string{"line 2"}},
		{"two versions of one pack", crlf(`"Name","Version"
"System.Library","7.5.8501.0"
"System.Health.Library","7.0.8433.0"
"System.Library","7.5.8501.1"
`), []string{"line 4", "System.Library", "7.5.8501.1", "line 2", "7.5.8501.0"}},
		{"UTF-16 without BOM", "N\x00a\x00m\x00e\x00", []string{"byte-order mark"}},
		{"not UTF-8", "Name,Version\n\xff\xfeX,1\n", []string{"UTF-8"}},
		{"json: bad syntax", `[{"Name": "System.Library", "Version": }]`, []string{"JSON"}},
		{"json: trailing document", `[{"Name":"System.Library","Version":"7.5.8501.0"}] []`, []string{"more than one document"}},
		{"json: not objects", `["System.Library"]`, []string{"element 0", "want an object", `"System.Library"`}},
		{"a bare JSON string reads as CSV", `"System.Library"`, []string{"line 1", "Name and a Version column"}},
		{"json: element without Name", `[{"Name":"System.Library","Version":"7.5.8501.0"},{"Version":"1.0"}]`, []string{"element 1", "no Name"}},
		{"json: Name not a string", `[{"Name":7,"Version":"1.0"}]`, []string{"element 0", "Name", "7"}},
		{"json: no Version", `[{"Name":"System.Library"}]`, []string{"element 0", "System.Library", "no Version"}},
		{"json: bad version string", `[{"Name":"System.Library","Version":"7.5.8501.0"},{"Name":"X.Lib","Version":"7.5.x"}]`, []string{"element 1", "X.Lib", `"7.5.x"`}},
		{"json: Version.Major negative", `[{"Name":"System.Library","Version":{"Major":-7,"Minor":5,"Build":8501,"Revision":0}}]`, []string{"element 0", "Major", "-7"}},
		{"json: Version.Build missing", `{"Name":"System.Library","Version":{"Major":7,"Minor":5,"Revision":0}}`, []string{"element 0", "Build", "missing"}},
		{"json: Version.Revision fractional", `[{"Name":"System.Library","Version":{"Major":7,"Minor":5,"Build":8501,"Revision":0.5}}]`, []string{"element 0", "Revision", "0.5"}},
		{"json: Version.Build too large", `[{"Name":"System.Library","Version":{"Major":7,"Minor":5,"Build":2147483648,"Revision":0}}]`, []string{"Build", "2147483648"}},
		{"json: Version a number", `[{"Name":"System.Library","Version":7.5}]`, []string{"element 0", "7.5"}},
		{"json: bad name", `[{"Name":"../etc","Version":"1.0"}]`, []string{"element 0", `"../etc"`}},
		{"json: two versions", `[{"Name":"A.B","Version":"1.0"},{"Name":"A.B","Version":"2.0"}]`, []string{"element 1", "element 0", "A.B"}},
		{"json: empty array", `[]`, []string{"no management packs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := scom.ReadInventory(strings.NewReader(tc.input))
			require.Error(t, err)
			assert.Nil(t, inv)
			assert.ErrorIs(t, err, scom.ErrInvalidInventory)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestReadInventoryTooLarge(t *testing.T) {
	big := strings.Repeat(" ", scom.MaxInventorySize+1)
	_, err := scom.ReadInventory(strings.NewReader(big))
	assert.ErrorIs(t, err, scom.ErrInvalidInventory)
}

func TestLoadInventory(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "packs.csv")
	require.NoError(t, os.WriteFile(good, []byte(utf16LE(csvWindowsPowerShell)), 0o600))
	inv, err := scom.LoadInventory(good)
	require.NoError(t, err)
	assert.Equal(t, wantFour, inv)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`[{"Name":"A.B","Version":"x"}]`), 0o600))
	_, err = scom.LoadInventory(bad)
	require.Error(t, err)
	assert.ErrorIs(t, err, scom.ErrInvalidInventory)
	assert.Contains(t, err.Error(), "platform inventory "+bad+": ")
	assert.Contains(t, err.Error(), "element 0")

	missing := filepath.Join(dir, "missing.csv")
	_, err = scom.LoadInventory(missing)
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Equal(t, 1, strings.Count(err.Error(), missing), "names the file once: %v", err)
}
