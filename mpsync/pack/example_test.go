package pack_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

func ExampleParseVersion() {
	a, err := pack.ParseVersion("7.1.10226.1239")
	if err != nil {
		fmt.Println(err)
		return
	}
	b := pack.MustParseVersion("7.1.10226.1240")
	fmt.Println(a, a.Compare(b), a.Less(b))
	fmt.Println(pack.MustParseVersion("7.1")) // missing parts are 0

	_, err = pack.ParseVersion("7.1.x")
	fmt.Println(errors.Is(err, pack.ErrInvalidVersion))
	fmt.Println(err)
	// Output:
	// 7.1.10226.1239 -1 true
	// 7.1.0.0
	// true
	// invalid management pack version "7.1.x": part 3 ("x") is not a non-negative decimal integer
}

func ExampleConstraint() {
	c, err := pack.ParseConstraint(">= 7.1.10226.1239, < 7.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range []string{"7.1.10226.1238", "7.1.10226.1239", "7.1.20000.0", "7.2.0.0"} {
		fmt.Println(v, c.Check(pack.MustParseVersion(v)))
	}
	// Output:
	// 7.1.10226.1238 false
	// 7.1.10226.1239 true
	// 7.1.20000.0 true
	// 7.2.0.0 false
}

func ExampleReadManifest() {
	const doc = `<?xml version="1.0" encoding="utf-8"?>
<ManagementPack ContentReadable="true" SchemaVersion="2.0">
  <Manifest>
    <Identity><ID>Contoso.Example</ID><Version>1.0.3.0</Version></Identity>
    <Name>Contoso Example</Name>
    <References>
      <Reference Alias="SC">
        <ID>Microsoft.SystemCenter.Library</ID>
        <Version>7.0.8433.0</Version>
      </Reference>
    </References>
  </Manifest>
  <Monitoring><!-- not read --></Monitoring>
</ManagementPack>`
	m, err := pack.ReadManifest(strings.NewReader(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.ID, m.Version, m.Name)
	for _, r := range m.References {
		fmt.Printf("%s!  %s >= %s\n", r.Alias, r.ID, r.Version)
	}
	// Output:
	// Contoso.Example 1.0.3.0 Contoso Example
	// SC!  Microsoft.SystemCenter.Library >= 7.0.8433.0
}

func ExampleReadManifest_sealed() {
	// A sealed pack (.mp) is a .NET assembly; packgen.Seal builds one the
	// way Microsoft's tools do.
	doc, _ := packgen.Spec{ID: "Contoso.Sealed", Version: pack.MustParseVersion("2.0.1.0")}.Bytes()
	mp, err := packgen.Seal(doc, packgen.SealOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := pack.ReadManifest(bytes.NewReader(mp))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(mp[:2]), m.ID, m.Version, m.Sealed, m.PublicKeyToken)
	// Output: MZ Contoso.Sealed 2.0.1.0 yes 96a81ca748a15aa1
}

func ExampleReadManifest_bundle() {
	_, err := pack.ReadManifest(strings.NewReader("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
	fmt.Println(errors.Is(err, pack.ErrNotManagementPack))
	fmt.Println(err)
	// Output:
	// true
	// not a management pack: this is a management pack bundle (.mpb, an OLE compound document starting with D0 CF 11 E0); extract its packs first
}

func ExampleValidate() {
	const doc = `<ManagementPack><Manifest><Identity><ID>Contoso.Example</ID><Version>1.0.3.0</Version></Identity></Manifest></ManagementPack>`
	_, err := pack.Validate(strings.NewReader(doc), pack.Expect{ID: "Contoso.Example", Version: pack.MustParseVersion("1.0.4.0")}, pack.Limits{})
	fmt.Println(errors.Is(err, pack.ErrIdentity))
	fmt.Println(err)
	// Output:
	// true
	// management pack identity differs from the expected one: document declares Contoso.Example 1.0.3.0, expected version 1.0.4.0
}

func ExampleGraph_ImportOrder() {
	v := pack.MustParseVersion
	g, err := pack.NewGraph([]pack.Manifest{
		{ID: "Azure.Monitoring", Version: v("1.0.0.0"), References: []pack.Reference{
			{Alias: "Azure", ID: "Microsoft.SystemCenter.MicrosoftAzure", Version: v("1.3.18.0")},
			{Alias: "System", ID: "System.Library", Version: v("7.5.8501.0")},
		}},
		{ID: "Microsoft.SystemCenter.MicrosoftAzure", Version: v("1.3.18.0")},
		{ID: "Contoso.Tools", Version: v("2.0.0.0")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	order, err := g.ImportOrder()
	fmt.Println(order, err)
	removal, _ := g.RemovalOrder()
	fmt.Println(removal)

	platform := pack.Inventory{"System.Library": v("7.0.8433.0")}
	for _, u := range g.Unsatisfied(platform.Lookup) {
		fmt.Println(u)
	}
	// Output:
	// [Contoso.Tools Microsoft.SystemCenter.MicrosoftAzure Azure.Monitoring] <nil>
	// [Azure.Monitoring Contoso.Tools Microsoft.SystemCenter.MicrosoftAzure]
	// Azure.Monitoring references System.Library 7.5.8501.0 (alias System), found 7.0.8433.0
}

func ExampleCycleError() {
	v := pack.MustParseVersion("1.0")
	g, _ := pack.NewGraph([]pack.Manifest{
		{ID: "B", Version: v, References: []pack.Reference{{Alias: "A", ID: "A", Version: v}}},
		{ID: "A", Version: v, References: []pack.Reference{{Alias: "B", ID: "B", Version: v}}},
	})
	_, err := g.ImportOrder()
	var ce *pack.CycleError
	if errors.As(err, &ce) {
		fmt.Println(ce.Cycle)
	}
	fmt.Println(err)
	// Output:
	// [A B A]
	// management packs reference each other in a cycle: A -> B -> A
}

// A Validator checks a pack while it is copied: here the copy goes to a
// hash and to the validator at once, so the document is read one time.
func ExampleValidator() {
	const doc = `<ManagementPack><Manifest><Identity><ID>Contoso.Example</ID><Version>1.0.4.0</Version></Identity></Manifest><Monitoring/></ManagementPack>`
	h := sha256.New()
	v := pack.NewValidator(pack.Expect{ID: "Contoso.Example"}, pack.Limits{})
	if _, err := io.Copy(io.MultiWriter(h, v), strings.NewReader(doc)); err != nil {
		fmt.Println(err)
	}
	m, err := v.Close()
	fmt.Println(m.ID, m.Version, err)
	fmt.Printf("%x\n", h.Sum(nil)[:4])
	// Output:
	// Contoso.Example 1.0.4.0 <nil>
	// 2b68f8ba
}
