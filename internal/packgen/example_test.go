package packgen_test

import (
	"bytes"
	"fmt"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

func ExampleSpec_Bytes() {
	spec := packgen.Spec{
		ID:      "Contoso.Example",
		Version: pack.MustParseVersion("1.0.3.0"),
		References: []pack.Reference{
			{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0")},
		},
		Rules:      10,
		TargetSize: 64 << 10,
		Encoding:   packgen.UTF16LE,
	}
	b, err := spec.Bytes()
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := pack.ReadManifest(bytes.NewReader(b))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.ID, m.Version, m.References[0].ID, len(b) >= 64<<10)
	// Output: Contoso.Example 1.0.3.0 Microsoft.SystemCenter.Library true
}
