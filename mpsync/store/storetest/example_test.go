package storetest_test

import (
	"bytes"
	"fmt"
	"log"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store/storetest"
)

// Pack builds a valid management pack; its manifest reads back as written.
func ExamplePack() {
	lib := pack.Reference{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8427.0")}
	data := storetest.Pack("Contoso.Example", "1.2.0.0", lib)
	m, err := pack.ReadManifest(bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.ID, m.Version, m.Name)
	fmt.Println(m.References[0].Alias, m.References[0].ID, m.References[0].Version)
	// Output:
	// Contoso.Example 1.2.0.0 Contoso.Example (storetest)
	// SC Microsoft.SystemCenter.Library 7.0.8427.0
}

// Request describes the exact bytes of a pack, as a catalog entry would.
func ExampleRequest() {
	data := storetest.PaddedPack("Contoso.Large", "1.0.0.0", 1<<20)
	req := storetest.Request("Contoso.Large", "1.0.0.0", data)
	fmt.Println(req.ID, req.Version, req.Size >= 1<<20, len(req.SHA256), req.Provenance.Owner)
	// Output:
	// Contoso.Large 1.0.0.0 true 64 workspace
}
