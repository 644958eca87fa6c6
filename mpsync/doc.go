// Package mpsync keeps a System Center Operations Manager management group
// in step with the management packs its cloud workspace wants.
//
// It models the two rules with which Operations Manager keeps Log Analytics
// (OMS) packs current, as scheduled jobs:
//
//   - Microsoft.SystemCenter.Advisor.MPUpdate ([rules.MPUpdate]) keeps the
//     base packs current, every 12 hours by default;
//   - Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule
//     ([rules.GetIntelligencePacks]) keeps the packs of every enabled
//     solution current, every 5 minutes by default.
//
// Both honour SCOM-style Frequency and Enabled overrides read from override
// management packs: those in the store, as in a management group (imported
// with [Engine.Import] or written by [Engine.SetOverride]), and files
// ([rules.FromOverrides]), resolved together; and every import, upgrade and
// removal passes a pluggable change-control [approval.Approver] (windows, manual
// approval, promotion from a QA group: package
// [mpsync.dev/mpsync/approval]).
//
// The product behaviour modelled is that of Microsoft's article "Connect
// Operations Manager to Log Analytics" (2016), cited in comments and reasons
// as "the connection guide": connecting, the proxy, pack updates, overrides,
// switching workspace, validating and removing the integration. The
// workspace's wire protocol is docs/protocol.md in the repository, and the
// mpsync command's contract docs/cli.md.
//
// # A run
//
// A run of one or both rules fetches the workspace's catalog ([Workspace];
// [mpsync.dev/mpsync/workspace.Client] speaks the catalog protocol), diffs it
// against the packs in the [Store] and builds a [Plan]: each pack is
// imported, upgraded, removed, kept, or blocked with a reason (a downgrade,
// a reference nothing satisfies, a pack the operator imported by hand, a
// removal that would break a pack that stays). Imports and upgrades come
// references first, removals dependents first. The approver decides on each
// change; approved changes are applied one by one, each atomic in the store;
// a change whose dependency was not applied is skipped, and every decision
// and result goes to the [ledger.Ledger]. A [Report] says what happened to each
// change. Nothing is ever removed on the strength of a stale or missing
// catalog.
//
// Change ids are derived from the rule, the pack, the target version and
// hash, so an approval binds to exactly what was approved: when the catalog
// publishes something else, the change gets a new id and asks again.
//
// # Ownership
//
// The store records who imported each pack. Packs a workspace imported are
// the engine's to upgrade and remove; packs an operator imported by hand are
// "custom" and are never changed, whatever their name (the connection guide's removal
// procedure deletes packs by name, custom ones included; this package tracks
// ownership instead).
//
// # The connection
//
// A store is bound to one workspace at a time. [Engine.Connect] checks the
// group's version against the requirement table ([scom.DefaultRequirements]),
// checks the key with one signed request, records the connection and its
// parts (Run As account and profiles, connectors and their subscription,
// the monitoring server group) and runs MPUpdate once. The first [Engine.Sync]
// of a store that was never connected connects it implicitly.
// [Engine.SwitchWorkspace] moves to another workspace, removing the old
// workspace's packs through the approver. [Engine.Disconnect] removes the
// integration (every workspace pack, dependents first, except the two core
// Advisor packs that stay); rules then refuse to run with a
// [*NotConnectedError] until Connect succeeds again, which on a reconnect
// requires the operator to have imported the Advisor Resources pack for the
// group's language ([Engine.Import], [scom.Resources] says which file and
// where). [Engine.Validate] checks the integration as the connection guide
// describes, asking the service whether it accepts the key.
//
// # Scheduling and time
//
// [Engine.Start] (or [Engine.Run], which blocks) runs both rules on their
// effective schedules: on a first start both run at once, base packs first;
// after that each runs every Frequency ([rules.Schedule] adds alignment and
// jitter). A disabled rule does not run; when an override pack changes on
// disk, the schedule follows without a restart. A change the approver defers
// until a window opens wakes its rule at that moment, so a 12-hour rule does
// not miss a 4-hour window. Runs never overlap; [Engine.Stop] waits for an
// in-flight run and leaves no goroutine behind. Run is shaped like a
// controller-runtime Runnable: it returns nil when its context ends and a
// permanent error (the store disconnected or bound elsewhere, the group
// below the requirement, the engine closed) as soon as the rules cannot run
// again. [Engine.Close] waits for every operation in flight.
// [Engine.NextRuns] only reads.
//
// # Operators' actions
//
// What a person does to the group goes through the engine, with the same
// checks and the same ledger as a run: [Engine.Import] brings in a pack by
// hand (no downgrade, references satisfied, a workspace's pack only with
// Force), [Engine.Approve] approves changes by id through the
// [approval.Queue], [Engine.Rollback] restores a previous version, and
// [Engine.Status] lists packs, rules, runs and what waits for approval;
// [Engine.Probe] asks the service whether it answers. The mpsync command is a
// thin layer over these.
//
// # Damage
//
// Nothing in the store is trusted blindly. The engine checks a pack's bytes
// against the SHA-256 the store recorded before it relies on them
// (Rollback, [Engine.ReadPack], the override packs it reads) and
// [Engine.Validate] re-hashes every stored pack; a pack that differs is a
// [*TamperedError], and importing the good bytes again repairs it. A
// metadata record that does not decode is a [*storage.CorruptRecordError] naming
// it and its recovery: it is set aside (its bytes kept under its name with
// [storage.CorruptSuffix], a [ledger.KindRepair] in the ledger) before anything writes
// it afresh, never overwritten silently; [Engine.Repair] sets aside the run
// history, the pending changes and the approval queue, and Connect a
// corrupt connection record. Text from the service reaches errors, the
// ledger and the run history without credentials a server or proxy echoed
// and with its control characters escaped.
//
// # The layout of the module, and why
//
// The engine consumes interfaces and is written in values that small
// packages own, so each can be used and tested alone, and none of them
// imports the engine:
//
//   - the planner is the pure package [mpsync.dev/mpsync/plan] (the engine
//     gathers inputs and calls it; Plan and Change are aliased here, the
//     actions and an approver's Verdict are plan's);
//   - the store contract is [mpsync.dev/mpsync/storage], a leaf, so that a
//     third-party store does not import the directory store;
//   - change control is [mpsync.dev/mpsync/approval]: the Approver interface,
//     its Request and Decision, the approval Queue, and the approvers;
//   - the audit trail is [mpsync.dev/mpsync/ledger]: Record, Query, the
//     Ledger interface and the default ledger (JSONL, kept in the store);
//     approval.Promotion reads it without importing the engine;
//   - time is [mpsync.dev/mpsync/clock], and the in-process lease
//     [mpsync.dev/mpsync/lease];
//   - where the rules' settings come from is [mpsync.dev/rules] (defaults,
//     override files);
//   - what the engine reports as it works is [mpsync.dev/mpsync/event]
//     (an Event per run, change and scheduler step, for Options.OnEvent),
//     and what it knows of the group from local state is
//     [mpsync.dev/mpsync/status] (the Snapshot [Engine.Status] returns: its
//     connection, runs, workspace health and pending approvals): values an
//     observer reads without needing the engine's operations;
//   - the facts about Operations Manager releases (requirements, platform
//     inventories, connection parts) and the ManagementGroup itself are
//     [mpsync.dev/mpsync/scom].
//
// The interfaces the engine alone consumes (Store, Workspace, Lease,
// SettingsSource) are in interfaces.go. The workspace protocol is
// docs/protocol.md in the repository and the command's contract
// docs/cli.md.
//
// # Several management servers
//
// A management group has several management servers; one runs the rules at
// a time and another takes over when it is down (connection guide). Engines on those
// servers share a [Lease] (Options.Lease and Options.Holder): before each
// scheduled run, and before each change it applies, an engine renews the
// lease; a standby engine looks again every minute and takes over once the
// holder's lease expires. [mpsync.dev/mpsync/lease.Memory] serves engines in one process; the
// PostgreSQL lease and ledger in [mpsync.dev/mpsync/pgledger] serve several
// machines and several groups.
//
// Time comes from Options.Clock. A harness or a staging pipeline passes a
// [mpsync.dev/mpsync/mpsynctest.ManualClock] and steps through the schedule
// with [Engine.RunDue] (mpsynctest.Drive does the stepping) to see exactly
// the runs a week would make in a few milliseconds; tests of Start itself run
// it inside a testing/synctest bubble.
//
// # Embedded default
//
// With a directory store ([mpsync.dev/mpsync/store.OpenDir]) everything the
// engine keeps lives in that directory: the packs and their index, the
// connection record, the run history, pending approvals and the ledger
// ([ledger.JSONL]). Several management groups that share promotion evidence
// share a [ledger.Ledger] instead.
//
// # Errors
//
// Errors callers branch on are sentinels ([ErrNotConnected],
// [ErrOtherWorkspace], [ErrRequirement], [ErrResourcesMissing],
// [ErrNotApproved], [ErrClosed], and [ErrUnauthorized], [ErrUnavailable]
// from a Workspace) or typed ([*NotConnectedError],
// [*scom.RequirementError], [*ResourcesError] naming the Resources pack, its
// file and folder, [*ChangeError] naming the pack and the step). A
// failed change is reported in the [Report], not as the run's error; the
// run's error is for a run that could not happen.
package mpsync
