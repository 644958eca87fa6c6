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
// The manifest is read as written, and what Operations Manager would refuse
// or read differently is refused with [ErrMalformed] rather than repaired:
// white space around the pack's or a reference's ID or Version (its schema
// allows only A-Z a-z 0-9 . _ in an id, fewer than 256 characters, and the
// id must be the file's name, so " X " and "X" are not the same pack; the
// display Name and a PublicKeyToken are trimmed); a second Identity, ID,
// Version, Name or References in the manifest, or a second ID, Version or
// PublicKeyToken in a reference; a second <Manifest> (ReadManifest looks at
// the element after </Manifest> for it, Validate at the whole root); and
// UTF-16 text with a lone surrogate or an odd final byte, which a decoder
// would otherwise read as U+FFFD.
//
// # The forms a pack comes in
//
// [ReadManifest] and [Validate] take a pack in either of its two forms and
// tell them apart by the first bytes:
//
//   - XML (.xml), unsealed packs and exported sealed ones;
//   - a sealed pack (.mp): a .NET assembly (a PE file, starting with "MZ")
//     signed by its vendor. Its XML is stored in the assembly's manifest
//     resources: in Microsoft's packs, the entry ManagementPack of the
//     .resources file MPResources.resources (magic 0xBEEFCACE), as a
//     byte array holding gzip-compressed UTF-16LE without a byte-order mark.
//     The reader walks the PE headers to the CLI header (data directory 14),
//     the metadata root (BSJB) and its #~, #Strings and #Blob streams,
//     sizes every metadata table stored before ManifestResource (ECMA-335
//     II.22, II.24), looks for an embedded resource holding a ManagementPack
//     entry (or a resource of that name), and decompresses it as the XML is
//     read. The file is read into memory, up to [Limits].MaxBytes, since
//     the walk needs random access; the XML inside is held to the same
//     limits as an XML file, so a compression bomb is refused after at most
//     MaxBytes of output. The [Manifest] of a sealed pack has Sealed set to
//     [SealedYes] and PublicKeyToken set to the assembly's public key token
//     (the last eight bytes of the SHA-1 of its public key, reversed, in
//     hex: 31bf3856ad364e35 for Microsoft's packs), the value other packs'
//     References name it by.
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
//   - a bundle (.mpb, an OLE compound document starting with D0 CF 11 E0):
//     [ErrNotManagementPack]; extract its packs first;
//   - a PE file that is not a .NET assembly (no CLI header), or an assembly
//     with no pack resource: [ErrNotManagementPack];
//   - a corrupt sealed pack (truncated headers, offsets or sizes that point
//     outside the file, its section or its resource, corrupt compressed
//     data): [ErrMalformed], naming the offset, table or resource;
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
// the document. Errors name the pack id (once known) and the line. A
// [Validator] is Validate fed by writes, for a caller that copies a pack
// (to a file, a hash) and checks it in the same pass over the bytes.
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
// the package. Sealed packs are read with the standard library only.
package pack
