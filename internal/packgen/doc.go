// Package packgen builds management pack XML for tests, examples and
// benchmarks of this module.
//
// A [Spec] names the pack (ID, Version, Name), the packs it references, how
// many rules it carries and how large it should be at least. [Spec.Bytes]
// returns the document; [Spec.WriteTo] streams it, so a 100 MB pack can be
// written to a file or a pipe without being held in memory:
//
//	spec := packgen.Spec{
//		ID:         "Contoso.Big",
//		Version:    pack.MustParseVersion("1.0.0.0"),
//		TargetSize: 100 << 20,
//		Encoding:   packgen.UTF16LE,
//	}
//	_, err := spec.WriteTo(f)
//
// The output has the shape of a real unsealed pack (the format the
// package doc of mpsync.dev/mpsync/pack describes): the ManagementPack root with its schema
// attributes, the Manifest first, a module type in TypeDefinitions with an
// overrideable interval, timed-script rules whose VBScript sits in CDATA,
// and an English language pack with a display string for the pack and for
// every rule. Padding to TargetSize adds more such rules, so large packs look
// like large real ones (many rules, scripts, display strings) rather than
// one huge text node.
//
// The output is deterministic: the same Spec always gives the same bytes.
// Everything packgen writes reads back with pack.ReadManifest and passes
// pack.Validate with the default limits.
//
// [Seal] wraps a document as a sealed pack (.mp): a minimal PE32 (or PE32+)
// .NET assembly with a CLI header, metadata (Module, Assembly with a public
// key, ManifestResource, and optionally rows in the other tables so that
// readers must size them) and the pack in the ManagementPack entry of
// MPResources.resources, gzip-compressed UTF-16LE, as in Microsoft's packs.
// [SealWithLayout] also returns the offsets of each part, for tests that
// corrupt them. The output opens with debug/pe.
//
// The package is internal: its output format may change whenever the tests
// need it to.
package packgen
