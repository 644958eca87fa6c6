package catalog_test

import (
	"fmt"
	"strings"

	"mpsync.dev/mpsync/catalog"
)

func ExampleDecode() {
	c, err := catalog.Decode(strings.NewReader(`{
	  "schemaVersion": "1.2", "workspaceId": "ws-1", "serial": 7,
	  "solutions": [{"name": "AlertManagement", "enabled": true}],
	  "packs": [{"id": "Microsoft.IntelligencePacks.AlertManagement", "version": "7.2.11719.0",
	             "channel": "solution", "solution": "AlertManagement",
	             "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
	             "size": 10422, "href": "packs/Microsoft.IntelligencePacks.AlertManagement/7.2.11719.0"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range c.Packs {
		fmt.Println(p.ID, p.Version, p.Channel, "wanted:", c.Wanted(p))
	}
	_, err = catalog.Decode(strings.NewReader(`{"schemaVersion": "2.0", "workspaceId": "ws-1", "serial": 1, "solutions": [], "packs": []}`))
	fmt.Println(err)
	// Output:
	// Microsoft.IntelligencePacks.AlertManagement 7.2.11719.0 solution wanted: true
	// invalid catalog: schemaVersion 2.0: major version 2 is not supported (this client reads 1.x)
}
