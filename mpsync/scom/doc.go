// Package scom holds reference facts about Operations Manager releases: the
// tables a program needs to reason about a management group it cannot query.
// It is the home of SCOM reference tables; it imports no mpsync package but
// [mpsync.dev/mpsync/pack].
//
// # Releases and their platform inventories
//
// A management group ships with platform libraries (System.Library,
// Microsoft.SystemCenter.Library and the like) that almost every pack
// references and no workspace ever serves. Which versions it holds depends
// on the release: [Releases] lists the releases this package knows, from
// Operations Manager 2012 SP1 to 2025, and [Release.Platform] returns the
// platform inventory of one. [Platform] picks the release from a group's
// four-part version ([ReleaseOf]) and returns its inventory; [ReleaseNamed]
// finds one by name ("2012 R2", "2019").
//
// The built-in tables are minimums, collected from evidence: a reference
// that a real pack makes and that imports on a release shows that the
// release ships the library at that version or higher. Where no evidence
// was found the tables are permissive rather than blocking (see the comments
// in release.go): a library the release rebuilt is taken at the release's
// own build, and the libraries that stayed in the 7.5.8501 line at the
// highest version seen. They list only the platform libraries; packs the
// operator or other products installed (Windows Server, SQL Server,
// UNIX/Linux libraries) are not in them.
//
// # The operator's inventory
//
// When the built-in tables do not fit, the operator exports the group's real
// inventory:
//
//	Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv -NoTypeInformation packs.csv
//	Get-SCOMManagementPack | Select-Object Name, Version | ConvertTo-Json | Out-File packs.json
//
// [ReadInventory] and [LoadInventory] read either form, as Windows
// PowerShell 5.1 and PowerShell 7 write it (UTF-8 with or without a
// byte-order mark, UTF-16 with one, CRLF line ends, the "#TYPE" line,
// Version as a string or as a System.Version object), and refuse anything
// else with an error that wraps [ErrInvalidInventory] and names the line or
// element and the offending value.
//
// Everything in this package is safe for concurrent use; the functions
// return fresh maps the caller may change.
package scom
