// Package approval is change control: the protocol between the engine and
// whatever decides on a change (the [Approver] interface, its [Request] and
// [Decision], the approval [Queue] a person works through and its [State]),
// and the approvers the engine asks before it imports, upgrades or removes a
// management pack. It does not import the engine, so an approver is written
// without it.
//
// The engine calls [Approver.Decide] once for every import, upgrade
// and removal of a plan, with the request's Now read from its clock. An
// approver answers Approve (apply now), Deny (refuse, with a reason) or
// Defer (ask again later, not before NotBefore when it is known). Every
// approver here decides from req.Now and never reads the system clock, so a
// test or a staging pipeline that moves a manual clock sees the same
// decisions production would. Each has a String method whose result is the
// Decision.By of its answers ([Name] returns it for any approver).
//
// # The approvers
//
//   - [Auto] approves everything: the default.
//   - [Freeze] denies everything with a reason, for an incident or a
//     quarter close.
//   - [Window] approves inside allowed windows and outside denied ones.
//     Each window is a [Span]: a cron expression (five fields or a
//     descriptor such as @daily, read by robfig/cron's standard parser), a
//     duration and a time zone. [ParseWindow]("0 2 * * SAT", 4*time.Hour,
//     "Europe/Berlin") allows Saturdays 02:00–06:00 Berlin time. Outside, it
//     defers until [Window.NextOpen], which a status page can show.
//   - [Manual] defers until an operator approves the change by id; its queue
//     is kept in the store ([Meta]) and [Manual.Pending] lists what waits.
//   - [Promotion] approves only a pack (id, version, hash) that has been
//     applied in another group, such as QA, for a soak time, according to a
//     shared [ledger.Ledger]; [MarkBad] stops a version.
//   - [Policy] denies targets outside version constraints per pack-id
//     pattern ("Microsoft.IntelligencePacks.*" must satisfy "~7.1").
//
// # Combining
//
// [All] approves only what every part approves (deny wins, then defer) and
// [Any] approves what one part approves. A typical production policy:
//
//	win, _ := approval.ParseWindow("0 2 * * SAT", 4*time.Hour, "Europe/Berlin")
//	promo, _ := approval.NewPromotion(sharedLedger, "QA", 72*time.Hour)
//	approver, _ := approval.All(promo, win, approval.NewManual(store))
//
// All asks every part even after one defers, so a [Manual] in the list
// queues the change for an operator while the window is still closed, and
// the change goes through at the next window once approved.
//
// # The command's modes
//
// [ParseMode] turns the command's --approval value (auto, freeze[:reason],
// manual, window:<cron>:<duration>[:<tz>]) into an approver.
//
// # Policy files
//
// [ParsePolicy] (and [LoadPolicyFile]) read a policy file, YAML or JSON,
// that composes all of the above without Go: windows with allow and deny
// spans (cron, duration, time zone), manual, freeze, promotion (from which
// group, soak time), version policies (pack-id pattern to constraint), and
// all/any nesting. The program supplies what the file cannot name: the
// store a manual keeps its queue in and the ledger a promotion reads
// ([PolicyOptions]). An error is a [*PolicyError] naming the line, the
// column and the field. The result, a [*PolicyFile], keeps the tree with
// each node's line for display, and its Approver goes into
// [mpsync.dev/mpsync.Options.Approver]. The command's --approval-file reads one, and
// "mpsync approval check FILE" prints it as the engine reads it.
//
// # Errors
//
// Constructors check their input and return errors wrapping [ErrInvalid]
// that quote what was wrong (the expression, the zone, the rule number).
// [Manual] methods return errors wrapping [ErrUnknownChange] or
// [ErrSuperseded] for ids that cannot be approved.
package approval
