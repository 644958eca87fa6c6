package scom_test

import (
	"fmt"
	"strings"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

func ExamplePlatform() {
	// A 2012 R2 group at Update Rollup 14.
	inv, r := scom.Platform(pack.MustParseVersion("7.1.10226.1239"))
	fmt.Println(r)
	fmt.Println(inv["System.Image.Library"], inv["Microsoft.SystemCenter.Library"])

	// An unknown version gets the latest release's inventory.
	_, r = scom.Platform(pack.Version{})
	fmt.Println(r.Name)
	// Output:
	// Operations Manager 2012 R2
	// 7.5.8501.0 7.1.10226.0
	// 2025
}

func ExampleReleaseNamed() {
	r, ok := scom.ReleaseNamed("2019")
	fmt.Println(ok, r.Build, r.Platform()["Microsoft.SystemCenter.Library"])
	// Output: true 10.19.10050.0 10.19.10050.0
}

func ExampleReadInventory() {
	// Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv
	export := "#TYPE Selected.Microsoft.EnterpriseManagement.Configuration.ManagementPack\r\n" +
		"\"Name\",\"Version\"\r\n" +
		"\"System.Library\",\"7.5.8501.0\"\r\n" +
		"\"Microsoft.SQLServer.Core.Library\",\"7.0.7.0\"\r\n"
	inv, err := scom.ReadInventory(strings.NewReader(export))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inv["Microsoft.SQLServer.Core.Library"])

	_, err = scom.ReadInventory(strings.NewReader(`[{"Name": "System.Library", "Version": "7.5.x"}]`))
	fmt.Println(err)
	// Output:
	// 7.0.7.0
	// invalid management pack inventory: element 0: Version of System.Library: "7.5.x": invalid management pack version "7.5.x": part 3 ("x") is not a non-negative decimal integer
}
