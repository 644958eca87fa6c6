package overrides_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
)

// Write an override pack that disables MPUpdate and runs
// GetIntelligencePacksRule hourly, then read it back.
func ExampleNewPack() {
	d, err := overrides.NewPack("Contoso.Advisor.Settings", "Contoso Advisor Settings", pack.MustParseVersion("1.0.0.0"), nil)
	if err != nil {
		panic(err)
	}
	if _, err := d.SetEnabled("Microsoft.SystemCenter.Advisor.MPUpdate", false, nil); err != nil {
		panic(err)
	}
	if _, _, err := d.SetFrequency("Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule", 3600, nil); err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		panic(err)
	}
	p, err := overrides.ReadPack(&buf)
	if err != nil {
		panic(err)
	}
	for _, o := range p.Overrides() {
		fmt.Println(o.Kind, o.Rule, o.Setting(), o.Value)
	}
	// Output:
	// RulePropertyOverride Microsoft.SystemCenter.Advisor.MPUpdate Enabled false
	// RuleConfigurationOverride Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule Frequency 3600
}

// Resolve which of two overrides of the same setting is in effect.
func ExampleSet_Resolve() {
	const pk = `<ManagementPack>
  <Manifest>
    <Identity><ID>%s</ID><Version>1.0.0.0</Version></Identity>
    <References>
      <Reference Alias="SC"><ID>Microsoft.SystemCenter.Library</ID><Version>7.0.8433.0</Version></Reference>
      <Reference Alias="Advisor"><ID>Microsoft.SystemCenter.Advisor</ID><Version>7.1.10226.0</Version></Reference>
    </References>
  </Manifest>
  <Monitoring><Overrides>
    <RuleConfigurationOverride ID="%s" Context="SC!Microsoft.SystemCenter.ManagementGroup" Enforced="%s"
        Rule="Advisor!Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule" Parameter="Frequency" Module="Scheduler">
      <Value>%s</Value>
    </RuleConfigurationOverride>
  </Overrides></Monitoring>
</ManagementPack>`
	read := func(id, ov, enforced, value string) *overrides.Pack {
		p, err := overrides.ReadPack(strings.NewReader(fmt.Sprintf(pk, id, ov, enforced, value)))
		if err != nil {
			panic(err)
		}
		return p
	}
	set, err := overrides.NewSet(
		read("Contoso.Team", "Contoso.Team.Hourly", "false", "3600"),
		read("Contoso.Policy", "Contoso.Policy.TwoHours", "true", "7200"),
	)
	if err != nil {
		panic(err)
	}
	res := set.Resolve("Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule", overrides.Frequency, overrides.Target{})
	fmt.Println(res.Winner.ID, res.Winner.Value, res.Scope)
	// Output:
	// Contoso.Policy.TwoHours 7200 class
}

// Keep overrides current from a directory; an unchanged directory costs a
// few stat calls.
func ExampleSource() {
	dir, err := os.MkdirTemp("", "overrides")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	d, err := overrides.NewPack("Contoso.Freeze", "Change freeze", pack.MustParseVersion("1.0.0.0"), nil)
	if err != nil {
		panic(err)
	}
	if _, err := d.SetEnabled("Microsoft.SystemCenter.Advisor.MPUpdate", false, nil); err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if _, err := d.WriteTo(&buf); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "freeze.xml"), buf.Bytes(), 0o644); err != nil {
		panic(err)
	}

	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}})
	set, err := src.Load(context.Background())
	if err != nil {
		panic(err)
	}
	res := set.Resolve("Microsoft.SystemCenter.Advisor.MPUpdate", overrides.Enabled, overrides.Target{})
	fmt.Println(res.Winner)
	// Output:
	// override Contoso.Freeze.MPUpdate.Enabled (Enabled=false) in pack Contoso.Freeze 1.0.0.0
}
