// Package harness is a copyable example of how a program that embeds mpsync
// tests its own use of the engine, without a network, without sleeping and
// without a real workspace. It has no code of its own: the tests in
// harness_test.go are the example. Copy them next to your code and adapt the
// catalog and the assertions.
//
// The pieces, all from the library:
//
//   - mpsynctest.NewWorkspace: a fake workspace service that speaks the
//     catalog protocol in memory; Server.ClientConfig gives the
//     workspace.Config that reaches it, and the mutators (EnableSolution,
//     DisableSolution, Publish, ...) change the catalog between runs.
//   - Server.Fail: fault injection (error statuses, delays, dropped or
//     truncated bodies) for the catalog, every pack, or one pack.
//   - store.NewMemory: the directory store's semantics in memory.
//   - mpsynctest.NewManualClock and mpsynctest.Drive: move the engine's
//     clock by hand and run exactly the runs the rules' schedules make, so
//     twelve hours of the 12-hour and 5-minute rules take milliseconds.
//   - approval.NewManual: an approver to test the approval path against.
//   - testing/synctest: to test Engine.Start itself, with its goroutine and
//     timers, in a bubble whose fake clock jumps when everything waits.
//
// Run them with
//
//	go test ./examples/harness/
package harness
