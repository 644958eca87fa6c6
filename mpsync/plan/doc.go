// Package plan is the planner: the pure diff of a workspace's catalog
// against the packs a store holds, and the values it produces ([Plan],
// [Change], [Action]).
//
// [Classify] decides what each pack needs — import, upgrade, remove, keep,
// or blocked with a reason (a downgrade, the same version with other
// content, a pack the operator owns, a removal the connection guide forbids
// or that a stale catalog cannot justify) — and names the catalog packs whose
// manifests the second half needs. The engine downloads those and calls
// [Resolve], which checks every import's references against what the group
// will hold (plan targets, packs that stay, the platform inventory; a
// reference naming another key token than the referenced sealed pack's is
// blocked), blocks what depends on a blocked change and packs in reference
// loops, blocks removals that would break a pack that stays, and orders the
// result: references first, base packs ahead of solution packs, removals
// dependents first.
//
// Both are functions of an [Input] value: no I/O, no clock, no engine. That
// is why the planner is a package of its own: its table tests cover every
// branch without a server, and a program can plan from values it holds
// (a catalog file, a store listing) without an engine. Package mpsync
// aliases Plan and Change. A [Verdict] is change control's answer for a
// change (package approval decides it, the ledger records it).
package plan
