package overrides_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
)

func TestReadPackTestdata(t *testing.T) {
	p := readFile(t, testdata("mpupdate-disabled.xml"))
	require.Len(t, p.Overrides(), 1)
	got := p.Overrides()[0]
	assert.Equal(t, overrides.Override{
		ID:          "Contoso.Advisor.Freeze.MPUpdate.Disabled",
		Kind:        overrides.RuleProperty,
		Rule:        ruleMPUpdate,
		RulePack:    "Microsoft.SystemCenter.Advisor",
		Property:    "Enabled",
		Value:       "false",
		Context:     "Microsoft.SystemCenter.ManagementGroup",
		ContextPack: "Microsoft.SystemCenter.Library",
		Comment:     "Change freeze: base packs are imported by the release pipeline",
		Pack:        overrides.PackRef{ID: "Contoso.Advisor.Freeze", Version: pack.MustParseVersion("1.0.0.0")},
	}, got)
	assert.Equal(t, overrides.Enabled, got.Setting())

	g := readFile(t, testdata("gip-hourly.xml")).Overrides()[0]
	assert.Equal(t, overrides.RuleConfiguration, g.Kind)
	assert.Equal(t, "Frequency", g.Parameter)
	assert.Equal(t, "Scheduler", g.Module)
	d, err := g.Seconds()
	require.NoError(t, err)
	assert.Equal(t, 3600.0, d.Seconds())

	assert.True(t, readFile(t, testdata("enforced.xml")).Overrides()[0].Enforced)

	c := readFile(t, testdata("console-export.xml"))
	assert.Empty(t, c.Overrides())
	assert.Equal(t, []overrides.OtherOverride{
		{Type: "MonitorPropertyOverride", ID: "Contoso.Operations.Overrides.CPU.Disabled"},
		{Type: "DiscoveryPropertyOverride", ID: "Contoso.Operations.Overrides.Discovery.Off"},
	}, c.Others())
}

func TestReadPackErrors(t *testing.T) {
	base := func(o string) string {
		return strings.Replace(packXML("Contoso.Bad", "1.0.0.0"), "<Overrides>\n", "<Overrides>\n"+o+"\n", 1)
	}
	tests := []struct {
		name      string
		xml       string
		sentinel  error
		override  string
		value     string
		errSubstr string
	}{
		{"frequency not a number", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.1", rule: ruleGIP, setting: "Frequency", value: "fast"}), overrides.ErrInvalid, "O.1", "fast", "whole number of seconds"},
		{"frequency zero", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.2", rule: ruleGIP, setting: "Frequency", value: "0"}), overrides.ErrInvalid, "O.2", "0", "at least 1"},
		{"frequency negative", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.3", rule: ruleGIP, setting: "Frequency", value: "-5"}), overrides.ErrInvalid, "O.3", "-5", ""},
		{"frequency fraction", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.4", rule: ruleGIP, setting: "Frequency", value: "60.5"}), overrides.ErrInvalid, "O.4", "60.5", ""},
		{"enabled not bool", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.5", rule: ruleMPUpdate, setting: "Enabled", value: "no"}), overrides.ErrInvalid, "O.5", "no", `"true" or "false"`},
		{"unknown alias", base(`<RulePropertyOverride ID="O.6" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="false" Rule="Nope!X" Property="Enabled"><Value>true</Value></RulePropertyOverride>`), overrides.ErrInvalid, "O.6", "Nope!X", "alias \"Nope\""},
		{"enforced not bool", base(`<RulePropertyOverride ID="O.7" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="yes" Rule="Advisor!X" Property="Enabled"><Value>true</Value></RulePropertyOverride>`), overrides.ErrInvalid, "O.7", "yes", "Enforced"},
		{"no value", base(`<RulePropertyOverride ID="O.8" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="false" Rule="Advisor!X" Property="Enabled"/>`), overrides.ErrInvalid, "O.8", "", "no Value"},
		{"no context", base(`<RulePropertyOverride ID="O.9" Enforced="false" Rule="Advisor!X" Property="Enabled"><Value>true</Value></RulePropertyOverride>`), overrides.ErrInvalid, "O.9", "", "no Context"},
		{"no module", base(`<RuleConfigurationOverride ID="O.10" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="false" Rule="Advisor!X" Parameter="Frequency"><Value>60</Value></RuleConfigurationOverride>`), overrides.ErrInvalid, "O.10", "", "no Module"},
		{"no id", base(`<RulePropertyOverride Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="false" Rule="Advisor!X" Property="Enabled"><Value>true</Value></RulePropertyOverride>`), overrides.ErrInvalid, "", "", "no ID"},
		{"duplicate id", packXML("Contoso.Bad", "1.0.0.0", ov{id: "O.11", rule: ruleGIP, setting: "Frequency", value: "60"}, ov{id: "O.11", rule: ruleMPUpdate, setting: "Enabled", value: "true"}), overrides.ErrInvalid, "O.11", "", "twice"},
		{"not xml", "hello", pack.ErrMalformed, "", "", ""},
		{"sealed", "MZ\x90\x00", pack.ErrNotManagementPack, "", "", "override packs are unsealed XML"},
		{"other root", `<Foo><Manifest/></Foo>`, pack.ErrNotManagementPack, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := overrides.ReadPack(strings.NewReader(tt.xml))
			require.Error(t, err)
			require.ErrorIs(t, err, tt.sentinel)
			if tt.errSubstr != "" {
				assert.Contains(t, err.Error(), tt.errSubstr)
			}
			if tt.sentinel == overrides.ErrInvalid {
				var e *overrides.Error
				require.True(t, errors.As(err, &e), "%T", err)
				assert.Equal(t, "Contoso.Bad", e.Pack)
				assert.Equal(t, tt.override, e.Override)
				assert.Equal(t, tt.value, e.Value)
				assert.Contains(t, err.Error(), "Contoso.Bad")
			}
		})
	}
}

// TestReadPackRefusesSealed: a well-formed sealed pack whose XML is a valid
// override pack is still refused, since override packs are unsealed XML.
func TestReadPackRefusesSealed(t *testing.T) {
	doc := packXML("Contoso.Overrides", "1.0.0.0", ov{id: "O.1", rule: ruleGIP, setting: "Frequency", value: "3600"})
	_, err := overrides.ReadPack(strings.NewReader(doc))
	require.NoError(t, err, "the XML itself is a valid override pack")
	mp, err := packgen.Seal([]byte(doc), packgen.SealOptions{})
	require.NoError(t, err)
	m, err := pack.ReadManifest(bytes.NewReader(mp))
	require.NoError(t, err, "the sealed pack reads as a pack")
	require.Equal(t, pack.SealedYes, m.Sealed)
	_, err = overrides.ReadPack(bytes.NewReader(mp))
	require.ErrorIs(t, err, pack.ErrNotManagementPack)
	assert.Contains(t, err.Error(), "sealed management pack (.mp")
	assert.Contains(t, err.Error(), "override packs are unsealed XML")
}

func TestReadPackTestdataErrors(t *testing.T) {
	f, err := os.ReadFile(testdata("malformed.xml"))
	require.NoError(t, err)
	_, err = overrides.ReadPack(bytes.NewReader(f))
	require.ErrorIs(t, err, pack.ErrMalformed)
	assert.Contains(t, err.Error(), "Contoso.Advisor.Broken")

	f, err = os.ReadFile(testdata("invalid-frequency.xml"))
	require.NoError(t, err)
	_, err = overrides.ReadPack(bytes.NewReader(f))
	var e *overrides.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, &overrides.Error{Pack: "Contoso.Advisor.BadValue", Override: "Contoso.Advisor.BadValue.Frequency", Value: "1.5h", Err: e.Err}, e)
	assert.Equal(t, `override Contoso.Advisor.BadValue.Frequency in pack Contoso.Advisor.BadValue: value "1.5h": Frequency must be a whole number of seconds, at least 1`, err.Error())
}

func TestReadPackWarnings(t *testing.T) {
	p := mustPack(t, packXML("Contoso.Fast", "1.0.0.0",
		ov{id: "Fast.1", rule: ruleGIP, setting: "Frequency", value: "30"},
		ov{id: "Fast.2", rule: ruleMPUpdate, setting: "Frequency", value: "60"}))
	w := p.Warnings()
	require.Len(t, w, 1)
	assert.Equal(t, "Fast.1", w[0].Override)
	assert.Equal(t, "Contoso.Fast", w[0].Pack)
	assert.Equal(t, "30", w[0].Value)
	assert.Len(t, mustSet(t, p).Warnings(), 1)
}

func TestReadPackEncodings(t *testing.T) {
	src, err := os.ReadFile(testdata("gip-hourly.xml"))
	require.NoError(t, err)
	utf16 := func(order unicode.Endianness) []byte {
		b, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().Bytes(bytes.Replace(src, []byte(`encoding="utf-8"`), []byte(`encoding="utf-16"`), 1))
		require.NoError(t, err)
		return b
	}
	for name, in := range map[string][]byte{
		"utf-8":     src,
		"utf-8 bom": append([]byte{0xEF, 0xBB, 0xBF}, src...),
		"utf-16 le": utf16(unicode.LittleEndian),
		"utf-16 be": utf16(unicode.BigEndian),
		"crlf":      bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n")),
	} {
		t.Run(name, func(t *testing.T) {
			p, err := overrides.ReadPack(bytes.NewReader(in))
			require.NoError(t, err)
			require.Len(t, p.Overrides(), 1)
			assert.Equal(t, "3600", p.Overrides()[0].Value)
			assert.Equal(t, "Contoso.Advisor.Hourly", p.Ref().ID)
		})
	}
}

// TestReadPackCorpus reads the real packs of the shared corpus: their
// overrides of other kinds (DiscoveryPropertyOverride with ContextInstance)
// are read past without error, and binaries are refused.
func TestReadPackCorpus(t *testing.T) {
	dir := corpus(t)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		if name == "MANIFEST.md" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			p, err := overrides.ReadPack(fh)
			switch {
			case name == "not-a-management-pack.xml", strings.HasSuffix(name, ".mp"), strings.HasSuffix(name, ".mpb"):
				require.ErrorIs(t, err, pack.ErrNotManagementPack)
			default:
				require.NoError(t, err)
				if name == "Microsoft.SystemCenter.MicrosoftAzure.xml" {
					// UTF-16 with BOM; three rule overrides aimed at a group of
					// the same pack (no alias), which never apply to the
					// management group.
					require.Len(t, p.Overrides(), 3)
					set := mustSet(t, p)
					for _, o := range p.Overrides() {
						assert.Equal(t, "Microsoft.SystemCenter.MicrosoftAzure.Group.ResourcePoolComputers", o.Context)
						assert.Empty(t, o.ContextPack)
						res := set.Resolve(o.Rule, overrides.Enabled, overrides.Target{})
						assert.Nil(t, res.Winner)
						require.Len(t, res.NotApplying, 1)
						assert.Contains(t, res.NotApplying[0].Reason, "Microsoft.SystemCenter.ManagementGroup")
					}
					return
				}
				assert.Empty(t, p.Overrides())
				if name == "Azure.Monitoring.xml" {
					assert.Len(t, p.Others(), 7)
					for _, o := range p.Others() {
						assert.Equal(t, "DiscoveryPropertyOverride", o.Type)
					}
				}
			}
		})
	}
}
