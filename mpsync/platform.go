package mpsync

import "mpsync.dev/mpsync/pack"

// DefaultPlatform returns the platform inventory assumed when
// Options.Platform is nil: packs that ship with the management group itself,
// never served by a workspace nor imported by the engine, which the planner
// counts as present when it checks references. It lists
// the platform libraries of an Operations Manager 2012 R2 management group,
// which the real packs mp-format.md surveys reference at versions from
// 7.0.8427.0 to 7.5.8501.0.
//
// The libraries that Operations Manager 2012 carried forward from its
// 7.5.8501.0 generation (System.Library, System.AdminItem.Library,
// System.Software.Library, Microsoft.Windows.Library,
// Microsoft.SystemCenter.InstanceGroup.Library) are listed at 7.5.8501.0; the
// others at 7.1.10226.0, the 2012 R2 build. An older or newer group should
// pass its own inventory (for example, read from Get-SCOMManagementPack).
func DefaultPlatform() pack.Inventory {
	inv := pack.Inventory{}
	for _, id := range []string{
		"System.Library", "System.AdminItem.Library", "System.Software.Library",
		"Microsoft.Windows.Library", "Microsoft.SystemCenter.InstanceGroup.Library",
	} {
		inv[id] = pack.Version{Major: 7, Minor: 5, Build: 8501}
	}
	for _, id := range []string{
		"System.Health.Library", "System.Performance.Library", "System.Image.Library",
		"System.ApplicationLog.Library", "System.Snmp.Library",
		"Microsoft.SystemCenter.Library", "Microsoft.SystemCenter.Internal",
		"Microsoft.SystemCenter.DataWarehouse.Library",
		"Microsoft.SystemCenter.OperationsManager.Library",
		"Microsoft.SystemCenter.WebApplication.Library",
		"Microsoft.SystemCenter.Visualization.Library",
		"Microsoft.SystemCenter.Visualization.Configuration.Library",
		"Microsoft.SystemCenter.Visualization.Component.Library",
		"Microsoft.SystemCenter.ServiceDesigner.Library",
	} {
		inv[id] = pack.Version{Major: 7, Minor: 1, Build: 10226}
	}
	return inv
}
