// Package mpsynctest helps programs that use mpsync test themselves: a fake
// workspace service that speaks docs/protocol.md, management pack builders, and
// a manual clock.
//
// # The fake workspace
//
// [NewServer] starts a [Server] on a loopback address (like
// httptest.NewServer); [NewWorkspace] makes one that does not listen, for
// tests inside testing/synctest bubbles, reached through
// [Server.Transport], an in-memory http.RoundTripper. Either way
// [Server.ClientConfig] returns a workspace.Config that talks to it:
//
//	srv := mpsynctest.NewServer(
//		mpsynctest.WithSolution("AlertManagement", true),
//		mpsynctest.WithPack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0",
//			catalog.ChannelSolution, "AlertManagement",
//			mpsynctest.Pack("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0")),
//	)
//	defer srv.Close()
//	client, _ := workspace.New(srv.ClientConfig())
//
// The server checks SharedKey signatures (constant-time, with a 15-minute
// clock-skew window on the clock given by [WithClock]), serves ETags and
// 304s, and answers errors with docs/protocol.md's JSON error body.
//
// Between requests a test changes the catalog with [Server.EnableSolution],
// [Server.DisableSolution], [Server.Publish], [Server.Unpublish] and
// [Server.Tamper]; each bumps the serial and changes the ETag.
// [Server.SetSerial] sets the serial, lower values included.
//
// # Faults
//
// [Server.Fail] injects a [Fault] into the catalog, every pack, one pack or
// one path: an error status (401, 404, 429 with Retry-After, 500, 503), a
// delay, a connection dropped mid-body, a truncated body, or a hand-written
// body, for a number of requests or until [Server.ClearFaults]. Catalog
// faults that are about content — a wrong hash or size, an href to another
// host — are made with [Server.Tamper]; a pack whose manifest lies about its
// identity is made by publishing other bytes with [Server.Publish].
//
// # Counters
//
// [Server.Stats] counts requests and body bytes per kind and per path, and
// [Server.Requests] lists them (never with their Authorization header), so
// a test can assert that an unchanged catalog cost one conditional request
// and no pack download.
//
// # Packs
//
// [Pack] builds a small valid management pack; [PlatformReference] a
// reference to a platform pack such as Microsoft.SystemCenter.Library
// 7.0.8433.0; [GeneratedPack] a pack of any size generated as it is read,
// for [Server.PublishStream]. They use the module's internal pack generator.
//
// # Serving a directory
//
// [LoadDir] reads a directory (workspace.json plus packs/*.xml, see
// [DirConfig]) into options, so `mpsync serve-workspace --dir DIR` can
// serve it; the repository's testdata/workspace is a realistic example
// with base packs and three solutions.
//
// # Time
//
// [ManualClock] is an clock.Clock moved by hand, for driving the engine's
// rules without sleeping.
package mpsynctest
