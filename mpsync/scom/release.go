package scom

import (
	"strings"

	"mpsync.dev/mpsync/pack"
)

// Release is one Operations Manager release. Its zero value is no release.
type Release struct {
	// Name is the release's short name: "2012 SP1", "2012 R2", "2016",
	// "1801" (which also covers 1807), "2019", "2022", "2025".
	Name string
	// Build is the release's first build (its RTM), e.g. 7.1.10226.0. A
	// group version belongs to the release when it has the same Major and
	// Minor and is not below Build (see [Release.Includes]).
	Build pack.Version

	// line is the version of the libraries of the 7.5.8501 line (below).
	line pack.Version
	// also is a later full release that shares the row: 1807 (7.3.13261.0)
	// in the 1801 row. Its builds rebuild the libraries at its build.
	also pack.Version
}

// String returns "Operations Manager " and the name.
func (r Release) String() string { return "Operations Manager " + r.Name }

// Includes reports whether a group at version v runs this release: the same
// Major.Minor as r.Build and a version not below it. 7.1.10226.1239 (2012 R2
// Update Rollup 14) is a 2012 R2 build; 7.0.8560.0 (2012 RTM) is not a 2012
// SP1 build.
func (r Release) Includes(v pack.Version) bool {
	return r.Name != "" && v.Major == r.Build.Major && v.Minor == r.Build.Minor && !v.Less(r.Build)
}

// Platform returns the platform inventory of a group at the release's
// first build: every library of the platform tables at the version the
// release ships (the comments in this file give the evidence). Use
// [Platform] for a group at a later build of the release.
func (r Release) Platform() pack.Inventory { return r.platformAt(r.Build) }

// platformAt is the inventory of r for a group at build v of r: the
// libraries the release rebuilds carry r.Build, or r.also when v is at or
// above it (a 1807 group). Update rollups are not counted: no source says
// which libraries a rollup rebuilds.
func (r Release) platformAt(v pack.Version) pack.Inventory {
	if r.Name == "" {
		return nil
	}
	rebuiltAt := r.Build
	if !r.also.IsZero() && r.Includes(v) && !v.Less(r.also) {
		rebuiltAt = r.also
	}
	inv := make(pack.Inventory, len(rebuiltLibraries)+len(lineLibraries))
	for _, id := range rebuiltLibraries {
		inv[id] = rebuiltAt
	}
	for _, id := range lineLibraries {
		inv[id] = r.line
	}
	return inv
}

// The platform libraries, in two families: the libraries every
// Operations Manager release installs, which Microsoft's own packs
// reference. Windows Server, SQL Server
// and UNIX/Linux libraries are left out: no source was found for the
// versions a release ships, and they are not platform libraries in the
// sense that every group has them; an operator whose packs reference them
// passes the group's real inventory ([LoadInventory]).
//
// The first three parts of a library's version are the Operations Manager
// build it was built with ("The first three sections of the version (or
// build) number are the version number of the Operations Manager product",
// Stefan Stranger quoting the product group, "Version numbers of management
// packs", blogs.technet.microsoft.com/stefan_stranger, 2008-05-08). So:
var (
	// rebuiltLibraries are rebuilt with each release and carry its build:
	// Azure.Monitoring (mp-corpus) references
	// Microsoft.SystemCenter.DataWarehouse.Library at 7.1.10226.0, the
	// 2012 R2 build; Microsoft's Azure pack 1.3.18.0 (mp-corpus) references
	// Microsoft.SystemCenter.Visualization.Component.Library at 7.0.9538.0,
	// the 2012 SP1 build; packs written for 2022 and 2025 reference
	// Microsoft.SystemCenter.Library at 10.22.10118.0 and 10.25.10132.0 (see
	// the releases table). The revision is taken as 0: update rollups may
	// ship some of them at a higher revision, which no table here claims.
	rebuiltLibraries = []string{
		"System.Health.Library", "System.Performance.Library", "System.ApplicationLog.Library", "System.Snmp.Library",
		"Microsoft.SystemCenter.Library", "Microsoft.SystemCenter.Internal",
		"Microsoft.SystemCenter.DataWarehouse.Library", "Microsoft.SystemCenter.OperationsManager.Library",
		"Microsoft.SystemCenter.WebApplication.Library", "Microsoft.SystemCenter.ServiceDesigner.Library",
		"Microsoft.SystemCenter.Visualization.Library", "Microsoft.SystemCenter.Visualization.Configuration.Library",
		"Microsoft.SystemCenter.Visualization.Component.Library",
	}
	// lineLibraries stayed at 7.5.8501 from 2012 on (the 7.5.8501 line):
	// the corpus packs reference each of them at 7.5.8501.0 and import on
	// 2012 R2, and "Microsoft.Windows.Library 7.5.8501.0" ships with 2012,
	// 2012 SP1, 2012 R2 and 2016, in four different files (Silect, "What's
	// in a Name (or Version Number)?", silect.com/whats-name-version-number).
	// Later releases moved some of them to 7.5.8501.1 (the releases table).
	lineLibraries = []string{
		"System.Library", "System.AdminItem.Library", "System.Software.Library", "System.Image.Library",
		"Microsoft.Windows.Library", "Microsoft.SystemCenter.InstanceGroup.Library",
	}
)

// releases is the table, oldest first. Build numbers: Microsoft's
// "Operations Manager build versions" pages and Blake Drumm's build table
// (github.com/blakedrumm/SCOM-Scripts-and-SQL, Get-ProductVersion.ps1), as
// mpsync's requirement table cites them. line is the version of the
// 7.5.8501 line; the libraries rebuilt take Build.
var releases = []Release{
	// 2012 SP1, 7.0.9538.0. Rebuilt: Visualization.Component.Library
	// 7.0.9538.0 (Microsoft's Azure pack 1.3.18.0); no source for the
	// others, taken at the build. Line: 7.5.8501.0 (Silect).
	{Name: "2012 SP1", Build: v(7, 0, 9538, 0), line: v(7, 5, 8501, 0)},
	// 2012 R2, 7.1.10226.0. Rebuilt: DataWarehouse.Library 7.1.10226.0
	// (Azure.Monitoring, mp-corpus); no source for the others. Line:
	// 7.5.8501.0, System.Image.Library included (the corpus packs,
	// Microsoft's Azure pack among them, reference it there and import on
	// 2012 R2; Silect for Microsoft.Windows.Library).
	{Name: "2012 R2", Build: v(7, 1, 10226, 0), line: v(7, 5, 8501, 0)},
	// 2016, 7.2.11719.0. Rebuilt: no source for these libraries (a public
	// pack references Microsoft.SystemCenter.Notifications.Library, not in
	// this table, at 7.2.11719.0), taken at the build. Line: 7.5.8501.0
	// (Silect: Microsoft.Windows.Library 7.5.8501.0 in 2016).
	{Name: "2016", Build: v(7, 2, 11719, 0), line: v(7, 5, 8501, 0)},
	// 1801 (7.3.13142.0) and 1807 (7.3.13261.0, also). No source
	// found for any library version: rebuilt at the build; line at
	// 7.5.8501.1, the highest seen (2022), since 2016 had 7.5.8501.0 and a
	// later release 7.5.8501.1 and this one lies between (permissive).
	{Name: "1801", Build: v(7, 3, 13142, 0), line: v(7, 5, 8501, 1), also: v(7, 3, 13261, 0)},
	// 2019, 10.19.10050.0. No source found for any library version: rebuilt
	// at the build; line at 7.5.8501.1 as for 1801 (permissive).
	{Name: "2019", Build: v(10, 19, 10050, 0), line: v(7, 5, 8501, 1)},
	// 2022, 10.22.10118.0. Group packs that a public Ansible collection for
	// SCOM generates (2026) reference Microsoft.SystemCenter.Library
	// 10.22.10118.0, System.Library 7.5.8501.1 and
	// Microsoft.SystemCenter.InstanceGroup.Library 7.5.8501.1. No source for
	// the other libraries: rebuilt at the build, line at 7.5.8501.1.
	{Name: "2022", Build: v(10, 22, 10118, 0), line: v(7, 5, 8501, 1)},
	// 2025, 10.25.10132.0. Packs imported with Import-SCOMManagementPack in
	// "Homelab Build-Out — Standing Up SCOM 2025" (uzrg, 2026-08-13)
	// reference Microsoft.SystemCenter.Library and
	// Microsoft.SystemCenter.Visualization.Library 10.25.10132.0, and
	// System.Library and Microsoft.Windows.Library 7.5.8501.1. No source
	// for the others: rebuilt at the build, line at 7.5.8501.1.
	{Name: "2025", Build: v(10, 25, 10132, 0), line: v(7, 5, 8501, 1)},
}

func v(major, minor, build, revision uint32) pack.Version {
	return pack.Version{Major: major, Minor: minor, Build: build, Revision: revision}
}

// Releases returns the releases this package knows, oldest first.
func Releases() []Release { return append([]Release(nil), releases...) }

// ReleaseNamed returns the release with the given name, compared without
// regard to case and with an optional "Operations Manager " or "SCOM "
// prefix: "2012 R2", "SCOM 2019". "1807" names the 1801 release (whose
// [Release.Platform] is at the 1801 build; [Platform] of a 1807 build gives
// that build's).
func ReleaseNamed(name string) (Release, bool) {
	n := strings.TrimSpace(name)
	for _, prefix := range []string{"operations manager ", "scom "} {
		if len(n) >= len(prefix) && strings.EqualFold(n[:len(prefix)], prefix) {
			n = strings.TrimSpace(n[len(prefix):])
		}
	}
	if n == "1807" {
		n = "1801"
	}
	for _, r := range releases {
		if strings.EqualFold(r.Name, n) {
			return r, true
		}
	}
	return Release{}, false
}

// ReleaseOf returns the release a group at version v runs
// ([Release.Includes]), and false when v is no known release's build (zero,
// older than 2012 SP1, or a release this package does not know).
func ReleaseOf(v pack.Version) (Release, bool) {
	for _, r := range releases {
		if r.Includes(v) {
			return r, true
		}
	}
	return Release{}, false
}

// Latest returns the newest release this package knows.
func Latest() Release { return releases[len(releases)-1] }

// Platform returns the built-in platform inventory for a management group
// at version groupVersion, and the release it was taken from:
//
//   - a build of a known release ([ReleaseOf]) gets that release's
//     inventory (a 1807 build gets 7.3.13261.0 for the rebuilt libraries;
//     an update rollup's build gets its release's first build, since no
//     source says which libraries a rollup rebuilds);
//   - zero, meaning the version is unknown, gets the [Latest] release's:
//     every library there is at its highest version in the tables (a later
//     release never ships a library at a lower version), so it satisfies
//     every reference any built-in inventory satisfies. It is the
//     permissive choice: an unknown version blocks no pack the tables
//     could admit, and Operations Manager itself still refuses an import
//     whose references the real group lacks;
//   - a version between known releases or after the latest (a release this
//     package does not know yet) gets the newest release below it;
//   - a version older than 2012 SP1 (2012 RTM, 2007) gets 2012 SP1's, the
//     oldest this package knows; the connection requirement refuses such
//     groups anyway.
//
// The inventory lists only platform libraries; pass the group's real
// inventory ([LoadInventory]) when packs reference others.
func Platform(groupVersion pack.Version) (pack.Inventory, Release) {
	if groupVersion.IsZero() {
		r := Latest()
		return r.Platform(), r
	}
	if r, ok := ReleaseOf(groupVersion); ok {
		return r.platformAt(groupVersion), r
	}
	r := releases[0]
	for _, c := range releases {
		if !groupVersion.Less(c.Build) {
			r = c
		}
	}
	return r.Platform(), r
}
