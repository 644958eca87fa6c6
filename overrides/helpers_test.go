package overrides_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mpsync.dev/overrides"
)

const (
	ruleMPUpdate = "Microsoft.SystemCenter.Advisor.MPUpdate"
	ruleGIP      = "Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule"
)

// testdata returns the path of a file in the repository's testdata/overrides.
func testdata(name string) string { return filepath.Join("..", "testdata", "overrides", name) }

// corpus returns the shared corpus directory, skipping the test when absent.
func corpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "mp-corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus not present (%v)", err)
	}
	return dir
}

// ov is one override for packXML.
type ov struct {
	id, rule, setting, value, context, instance string
	enforced                                    bool
}

// packXML builds an override pack with aliases SC (library), Advisor, and
// Windows (Microsoft.Windows.Library).
func packXML(id, version string, ovs ...ov) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<ManagementPack ContentReadable="true" SchemaVersion="2.0">
  <Manifest>
    <Identity><ID>%s</ID><Version>%s</Version></Identity>
    <Name>%s</Name>
    <References>
      <Reference Alias="SC"><ID>Microsoft.SystemCenter.Library</ID><Version>7.0.8433.0</Version><PublicKeyToken>31bf3856ad364e35</PublicKeyToken></Reference>
      <Reference Alias="Advisor"><ID>Microsoft.SystemCenter.Advisor</ID><Version>7.1.10226.0</Version><PublicKeyToken>31bf3856ad364e35</PublicKeyToken></Reference>
      <Reference Alias="Windows"><ID>Microsoft.Windows.Library</ID><Version>7.5.8501.0</Version><PublicKeyToken>31bf3856ad364e35</PublicKeyToken></Reference>
    </References>
  </Manifest>
  <Monitoring><Overrides>
`, id, version, id)
	for _, o := range ovs {
		ctx := o.context
		if ctx == "" {
			ctx = "SC!Microsoft.SystemCenter.ManagementGroup"
		}
		inst := ""
		if o.instance != "" {
			inst = fmt.Sprintf(` ContextInstance="%s"`, o.instance)
		}
		if o.setting == "Enabled" {
			fmt.Fprintf(&b, `    <RulePropertyOverride ID="%s" Context="%s"%s Enforced="%t" Rule="Advisor!%s" Property="Enabled"><Value>%s</Value></RulePropertyOverride>`+"\n",
				o.id, ctx, inst, o.enforced, o.rule, o.value)
		} else {
			fmt.Fprintf(&b, `    <RuleConfigurationOverride ID="%s" Context="%s"%s Enforced="%t" Rule="Advisor!%s" Parameter="%s" Module="Scheduler"><Value>%s</Value></RuleConfigurationOverride>`+"\n",
				o.id, ctx, inst, o.enforced, o.rule, o.setting, o.value)
		}
	}
	b.WriteString("  </Overrides></Monitoring>\n</ManagementPack>\n")
	return b.String()
}

func mustPack(t testing.TB, xml string) *overrides.Pack {
	t.Helper()
	p, err := overrides.ReadPack(strings.NewReader(xml))
	require.NoError(t, err)
	return p
}

func mustSet(t testing.TB, packs ...*overrides.Pack) *overrides.Set {
	t.Helper()
	s, err := overrides.NewSet(packs...)
	require.NoError(t, err)
	return s
}

func readFile(t testing.TB, path string) *overrides.Pack {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p, err := overrides.ReadPack(f)
	require.NoError(t, err, path)
	return p
}
