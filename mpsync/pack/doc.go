// Package pack models Operations Manager management packs as far as keeping
// a management group in step needs: their versions, their manifests, whether
// a document is a well-formed pack, and the order their references impose.
// It is the leaf of the module: it imports no other mpsync package.
//
// # Versions
//
// A pack version is the .NET System.Version form Major.Minor.Build.Revision:
// four integers from 0 to [MaxVersionPart], compared part by part and
// numerically, so 7.1.10226.1239 < 7.1.10226.1240 < 7.2.0.0. Semantic
// versioning does not apply: there are no pre-release tags and the fourth
// part matters. [ParseVersion] accepts one to four parts (a missing part is
// 0) and refuses signs, spaces, wildcards, empty parts and overflow with an
// error wrapping [ErrInvalidVersion] that quotes the input and names the
// part. A [Version] is a comparable value; it encodes as its four-part string
// in text and JSON.
//
// Version policies ("only 7.1 builds", "at least 7.0.8433") are a
// [Constraint], written in Masterminds/semver syntax (~, ^, comparisons,
// hyphen ranges, "," or space for and, "||" for or) and evaluated on
// Major.Minor.Build. A bound written with four parts also compares the
// revision when the first three parts tie, so ">= 7.1.10226.1239" admits
// 7.1.10226.1240 and refuses 7.1.10226.1238. Masterminds/semver does not
// parse four-part versions; no semver type appears in this API.
//
// # Manifests
//
// The Manifest element comes first in a pack and holds everything a diff
// needs: the identity (ID, Version), the display Name, and the References
// to other packs by alias, id and least version. [ReadManifest] streams the
// document with encoding/xml and stops at </Manifest>, so reading the
// manifest of a 50 MB pack costs what reading that of a 50 KB pack costs: it
// reads at most a few KB past </Manifest>, the decoders' buffers, and never
// more than 4 MiB in all.
//
// # Encodings and what is refused
//
// Packs in the wild are UTF-8 with or without a byte-order mark, and
// sometimes UTF-16 with a byte-order mark (Windows tools write it). The
// reader sniffs the first bytes: a UTF-8 BOM is dropped; a UTF-16 BOM (FF FE
// or FE FF) selects a transcoder (golang.org/x/text) so the XML decoder sees
// UTF-8. The encoding declared in the XML declaration must then be a UTF-8 or
// UTF-16 label. Everything else is refused with an error that says what the
// input is:
//
//   - a sealed pack (.mp, a .NET assembly starting with "MZ") or a bundle
//     (.mpb, an OLE compound document starting with D0 CF 11 E0):
//     [ErrNotManagementPack]; export or extract the XML first;
//   - UTF-16 or UTF-32 without a byte-order mark, or another declared
//     encoding such as windows-1252: [ErrNotManagementPack];
//   - well-formed XML whose root is not ManagementPack: [ErrNotManagementPack];
//   - a DTD or entity declaration (the "billion laughs" family), XML that is
//     not well-formed, an element before the Manifest, text outside the
//     root, a missing id or an unparsable version: [ErrMalformed].
//
// # Validation and limits
//
// [Validate] reads the whole document within [Limits] — size (64 MiB), element
// depth (256) and attributes per element (256) by default, see
// [DefaultLimits] — and checks that nothing but comments and space follows
// the root. It returns the manifest, and with an [Expect] it also checks the
// identity the document declares against the one a catalog promised,
// failing with [ErrIdentity]. It keeps no tree: memory does not grow with
// the document. Errors name the pack id (once known) and the line.
// [CheckID] tells whether an id is safe as a catalog id and a file name.
//
// # The reference graph
//
// Operations Manager imports a pack only when every pack it references is
// present at the referenced version or higher, and removes a pack only
// after the packs that reference it. [NewGraph] builds the graph of a set
// of manifests; [Graph.ImportOrder] puts references first and
// [Graph.RemovalOrder] puts dependents first, both breaking ties by id so a
// plan is the same on every run; [Graph.Dependents] and
// [Graph.AllDependents] say what blocks a removal. A loop of references is a
// [*CycleError] naming the packs. [Graph.Unsatisfied] lists references that
// are missing or present at a lower version, looking outside the set
// through a function the caller supplies — typically [Inventory.Lookup] over
// the management group's platform libraries and imported packs.
//
// Types from github.com/Masterminds/semver and golang.org/x/text stay inside
// the package.
package pack
