package overrides_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
)

func write(t *testing.T, d *overrides.Document) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := d.WriteTo(&buf)
	require.NoError(t, err)
	require.EqualValues(t, buf.Len(), n)
	return buf.Bytes()
}

func TestNewPackRoundTrip(t *testing.T) {
	d, err := overrides.NewPack("Contoso.Advisor.Settings", "Contoso Advisor Settings", pack.MustParseVersion("1.0.0.0"), nil)
	require.NoError(t, err)
	o1, err := d.SetEnabled(ruleMPUpdate, false, &overrides.SetOptions{Comment: "freeze"})
	require.NoError(t, err)
	assert.Equal(t, "Contoso.Advisor.Settings.MPUpdate.Enabled", o1.ID)
	o2, warn, err := d.SetFrequency(ruleGIP, 3600, &overrides.SetOptions{Enforced: true})
	require.NoError(t, err)
	assert.Empty(t, warn)
	o3, warn, err := d.SetFrequency(ruleGIP, 30, &overrides.SetOptions{ContextInstance: mgInstance})
	require.NoError(t, err)
	require.Len(t, warn, 1)
	assert.Equal(t, o3.ID, warn[0].Override)
	assert.Equal(t, "Contoso.Advisor.Settings", warn[0].Pack)

	out := write(t, d)
	// A valid pack: the manifest reader and the whole-document validator accept it.
	m, err := pack.Validate(bytes.NewReader(out), pack.Expect{ID: "Contoso.Advisor.Settings", Version: pack.MustParseVersion("1.0.0.0")}, pack.Limits{})
	require.NoError(t, err, string(out))
	assert.Equal(t, "Contoso Advisor Settings", m.Name)
	lib, ok := m.Reference("Microsoft.SystemCenter.Library")
	require.True(t, ok)
	assert.Equal(t, "SC", lib.Alias)
	assert.Equal(t, "31bf3856ad364e35", lib.PublicKeyToken)
	adv, ok := m.Reference("Microsoft.SystemCenter.Advisor")
	require.True(t, ok)
	assert.Equal(t, "Advisor", adv.Alias)
	assert.Equal(t, "7.1.10226.0", adv.Version.String())

	got, err := overrides.ReadPack(bytes.NewReader(out))
	require.NoError(t, err)
	assert.Equal(t, []overrides.Override{o1, o2, o3}, got.Overrides())
	mem, err := d.Pack()
	require.NoError(t, err)
	assert.Equal(t, mem.Overrides(), got.Overrides())

	s := string(out)
	assert.Contains(t, s, `<RulePropertyOverride ID="Contoso.Advisor.Settings.MPUpdate.Enabled" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="false" Rule="Advisor!Microsoft.SystemCenter.Advisor.MPUpdate" Property="Enabled" Comment="freeze">`)
	assert.Contains(t, s, `<DisplayString ElementID="Contoso.Advisor.Settings.MPUpdate.Enabled">`)
	assert.Contains(t, s, "\n      <RuleConfigurationOverride ID=\"Contoso.Advisor.Settings.GetIntelligencePacksRule.Frequency\"")
	assert.True(t, strings.HasPrefix(s, `<?xml version="1.0" encoding="utf-8"?>`))
}

func TestNewPackErrors(t *testing.T) {
	_, err := overrides.NewPack("bad id", "x", pack.Version{}, nil)
	require.ErrorIs(t, err, pack.ErrInvalidID)

	d, err := overrides.NewPack("Contoso.X", "", pack.MustParseVersion("1.0"), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleGIP, 0, nil)
	require.ErrorIs(t, err, overrides.ErrInvalid)
	var e *overrides.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "0", e.Value)
	assert.Equal(t, "Contoso.X", e.Pack)
	_, err = d.SetEnabled("", true, nil)
	require.ErrorIs(t, err, overrides.ErrInvalid)

	_, err = d.SetEnabled(ruleMPUpdate, true, &overrides.SetOptions{ID: "Contoso.X.Same"})
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleMPUpdate, 60, &overrides.SetOptions{ID: "Contoso.X.Same"})
	require.ErrorIs(t, err, overrides.ErrInvalid)
	assert.Contains(t, err.Error(), "Contoso.X.Same")
}

func TestSetUpdatesInPlace(t *testing.T) {
	d, err := overrides.NewPack("Contoso.X", "X", pack.MustParseVersion("1.0.0.0"), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleGIP, 600, nil)
	require.NoError(t, err)
	o, _, err := d.SetFrequency(ruleGIP, 900, &overrides.SetOptions{Module: "DS"})
	require.NoError(t, err)
	p, err := d.Pack()
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1)
	assert.Equal(t, "900", o.Value)
	assert.Equal(t, "DS", o.Module)
	// An instance override is a separate override.
	_, _, err = d.SetFrequency(ruleGIP, 300, &overrides.SetOptions{ContextInstance: mgInstance})
	require.NoError(t, err)
	p, err = d.Pack()
	require.NoError(t, err)
	assert.Len(t, p.Overrides(), 2)
	// A new pack keeps the version it was given.
	assert.Equal(t, "1.0.0.0", d.Version().String())
}

func TestOpenUnchangedIsByteIdentical(t *testing.T) {
	for _, name := range []string{"console-export.xml", "mpupdate-disabled.xml", "wrong-target.xml"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(testdata(name))
			require.NoError(t, err)
			d, err := overrides.OpenDocument(bytes.NewReader(src), nil)
			require.NoError(t, err)
			assert.False(t, d.Changed())
			assert.Equal(t, string(src), string(write(t, d)))
		})
	}
}

func TestOpenEditKeepsUnrelated(t *testing.T) {
	src, err := os.ReadFile(testdata("console-export.xml"))
	require.NoError(t, err)
	d, err := overrides.OpenDocument(bytes.NewReader(src), nil)
	require.NoError(t, err)
	_, err = d.SetEnabled(ruleMPUpdate, false, nil)
	require.NoError(t, err)
	assert.True(t, d.Changed())
	assert.Equal(t, "3.4.0.13", d.Version().String())
	_, _, err = d.SetFrequency(ruleGIP, 3600, nil)
	require.NoError(t, err)
	assert.Equal(t, "3.4.0.13", d.Version().String(), "bumped once per editing session")
	out := string(write(t, d))

	// Every original line is still there, in order: nothing was rewritten.
	lines := strings.Split(strings.TrimSuffix(string(src), "\r\n"), "\r\n")
	rest := out
	for _, l := range lines {
		if strings.Contains(l, "<Version>3.4.0.12</Version>") {
			l = strings.Replace(l, "3.4.0.12", "3.4.0.13", 1)
		}
		i := strings.Index(rest, l+"\r\n")
		require.GreaterOrEqual(t, i, 0, "line %q lost or moved", l)
		rest = rest[i+len(l):]
	}
	assert.NotContains(t, strings.ReplaceAll(out, "\r\n", ""), "\n", "CR LF line ends kept")
	// The existing library reference (alias SystemCenter) is reused; the
	// Advisor reference is added.
	assert.Contains(t, out, `Context="SystemCenter!Microsoft.SystemCenter.ManagementGroup"`)
	assert.Contains(t, out, "<Reference Alias=\"Advisor\">\r\n        <ID>Microsoft.SystemCenter.Advisor</ID>")

	p, err := overrides.ReadPack(strings.NewReader(out))
	require.NoError(t, err)
	assert.Len(t, p.Overrides(), 2)
	assert.Len(t, p.Others(), 2)
	assert.Equal(t, "3.4.0.13", p.Ref().Version.String())

	// Removing what was added gives back the original content, version aside.
	d2, err := overrides.OpenDocument(strings.NewReader(out), &overrides.DocumentOptions{Bump: overrides.BumpNone})
	require.NoError(t, err)
	require.True(t, d2.Remove("Contoso.Operations.Overrides.MPUpdate.Enabled"))
	require.True(t, d2.Remove("Contoso.Operations.Overrides.GetIntelligencePacksRule.Frequency"))
	assert.False(t, d2.Remove("Contoso.Operations.Overrides.Nope"))
	back := string(write(t, d2))
	assert.NotContains(t, back, "MPUpdate")
	assert.Contains(t, back, "Contoso.Operations.Overrides.CPU.Disabled")
	assert.Equal(t, "3.4.0.13", d2.Version().String())
}

func TestOpenBumpPolicies(t *testing.T) {
	src, err := os.ReadFile(testdata("gip-hourly.xml"))
	require.NoError(t, err)
	for bump, want := range map[overrides.Bump]string{
		overrides.BumpRevision: "1.0.0.4",
		overrides.BumpBuild:    "1.0.1.0",
		overrides.BumpMinor:    "1.1.0.0",
		overrides.BumpNone:     "1.0.0.3",
	} {
		d, err := overrides.OpenDocument(bytes.NewReader(src), &overrides.DocumentOptions{Bump: bump})
		require.NoError(t, err)
		_, _, err = d.SetFrequency(ruleGIP, 1800, nil)
		require.NoError(t, err)
		p, err := overrides.ReadPack(bytes.NewReader(write(t, d)))
		require.NoError(t, err)
		assert.Equal(t, want, p.Ref().Version.String(), "bump %d", bump)
		require.Len(t, p.Overrides(), 1, "the existing override is updated, not duplicated")
		assert.Equal(t, "Contoso.Advisor.Hourly.GetIntelligencePacks.Frequency", p.Overrides()[0].ID)
		assert.Equal(t, "1800", p.Overrides()[0].Value)
	}
	d, err := overrides.OpenDocument(bytes.NewReader(src), nil)
	require.NoError(t, err)
	d.SetVersion(pack.MustParseVersion("5.0.0.0"))
	_, err = d.SetEnabled(ruleGIP, true, nil)
	require.NoError(t, err)
	assert.Equal(t, "5.0.0.0", d.Version().String())
}

func TestOpenUTF16KeepsEncoding(t *testing.T) {
	src, err := os.ReadFile(testdata("mpupdate-disabled.xml"))
	require.NoError(t, err)
	in, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(bytes.Replace(src, []byte(`encoding="utf-8"`), []byte(`encoding="utf-16"`), 1))
	require.NoError(t, err)
	d, err := overrides.OpenDocument(bytes.NewReader(in), nil)
	require.NoError(t, err)
	assert.Equal(t, in, write(t, d), "unchanged UTF-16 file written back identically")
	_, err = d.SetEnabled(ruleMPUpdate, true, nil)
	require.NoError(t, err)
	out := write(t, d)
	assert.Equal(t, []byte{0xFF, 0xFE}, out[:2])
	p, err := overrides.ReadPack(bytes.NewReader(out))
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1)
	assert.Equal(t, "true", p.Overrides()[0].Value)
}

func TestOpenRefusesInvalid(t *testing.T) {
	for _, name := range []string{"malformed.xml", "invalid-frequency.xml"} {
		src, err := os.ReadFile(testdata(name))
		require.NoError(t, err)
		_, err = overrides.OpenDocument(bytes.NewReader(src), nil)
		require.Error(t, err, name)
	}
}

func TestOpenCreatesMissingSections(t *testing.T) {
	const bare = `<ManagementPack SchemaVersion="2.0">
  <Manifest>
    <Identity>
      <ID>Contoso.Bare</ID>
      <Version>1.0.0.0</Version>
    </Identity>
  </Manifest>
  <Presentation />
</ManagementPack>`
	d, err := overrides.OpenDocument(strings.NewReader(bare), nil)
	require.NoError(t, err)
	_, err = d.SetEnabled(ruleGIP, false, nil)
	require.NoError(t, err)
	out := string(write(t, d))
	m, err := pack.Validate(strings.NewReader(out), pack.Expect{}, pack.Limits{})
	require.NoError(t, err, out)
	assert.Len(t, m.References, 2)
	assert.Less(t, strings.Index(out, "<Monitoring>"), strings.Index(out, "<Presentation/>"), "Monitoring goes before Presentation")
	assert.Less(t, strings.Index(out, "<Presentation/>"), strings.Index(out, "<LanguagePacks>"))
	assert.Equal(t, 1, strings.Count(out, "<References>"))
	p, err := overrides.ReadPack(strings.NewReader(out))
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1)
}

// Regression: a derived override id collided with an existing override's id.
//
// The pack holds a wrong-target override whose id is the default id that
// SetEnabled derives: the new override gets a unique id and the pack stays
// valid.
func TestRegressionDocumentIDCollisionGetsAUniqueID(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Ov.MPUpdate.Enabled", rule: ruleMPUpdate, setting: "Enabled", value: "true", context: "Windows!Microsoft.Windows.Computer"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	o, err := d.SetEnabled(ruleMPUpdate, false, nil)
	require.NoError(t, err)
	require.Equal(t, "Contoso.Ov.MPUpdate.Enabled.2", o.ID)
	var buf bytes.Buffer
	_, err = d.WriteTo(&buf)
	require.NoError(t, err)
	p, err := overrides.ReadPack(&buf)
	require.NoError(t, err, "the written pack reads back")
	require.Len(t, p.Overrides(), 2)
	set, err := overrides.NewSet(p)
	require.NoError(t, err)
	res := set.Resolve(ruleMPUpdate, overrides.Enabled, overrides.Target{})
	require.NotNil(t, res.Winner)
	require.Equal(t, "false", res.Winner.Value)
}

// Regression: a set refused for a taken id still changed the document.
//
// An id that is already taken, given explicitly, is refused without
// changing the document.
func TestRegressionExplicitIDTakenLeavesTheDocumentAlone(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Taken", rule: ruleMPUpdate, setting: "Enabled", value: "true"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleMPUpdate, 3600, &overrides.SetOptions{ID: "Contoso.Taken"})
	require.Error(t, err)
	require.False(t, d.Changed())
	require.Equal(t, "1.0.0.0", d.Version().String())
}

// Regression: a UTF-16 big-endian override pack was not written back in its
// own encoding (byte-order mark FE FF).
func TestRegressionUTF16BE(t *testing.T) {
	xml := strings.Replace(packXML("Contoso.BE", "1.0.0.0", ov{id: "X", rule: ruleMPUpdate, setting: "Enabled", value: "false"}), "utf-8", "utf-16", 1)
	be, err := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(xml))
	require.NoError(t, err)
	p, err := overrides.ReadPack(bytes.NewReader(be))
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1)
	d, err := overrides.OpenDocument(bytes.NewReader(be), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleGIP, 3600, nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	d.WriteTo(&buf)
	require.Equal(t, []byte{0xFE, 0xFF}, buf.Bytes()[:2])
	p2, err := overrides.ReadPack(&buf)
	require.NoError(t, err)
	require.Len(t, p2.Overrides(), 2)
}

// Regression: an update by id kept the override's old target (an instance)
// instead of the target asked for.
func TestRegressionSetByIDRetargets(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Ov.X", rule: ruleMPUpdate, setting: "Enabled", value: "true", instance: "11111111-1111-1111-1111-111111111111"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	o, err := d.SetEnabled(ruleMPUpdate, false, &overrides.SetOptions{ID: "Contoso.Ov.X"})
	require.NoError(t, err)
	require.Equal(t, "", o.ContextInstance, "asked for a class override (empty ContextInstance), got instance %s", o.ContextInstance)
}
