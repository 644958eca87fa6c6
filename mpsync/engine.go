package mpsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/clock"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/rules"
)

// Options configure an [Engine]. The zero value of every field is useful; the
// comment on each says what it means.
type Options struct {
	// Group is the management group. Group.Name names it in the ledger (and
	// so in promotion evidence); empty means "default". Group.Language empty
	// means "ENU". Group.Version zero means unknown: the connection
	// requirement is then not checked.
	Group scom.ManagementGroup
	// Workspace is the service that says which packs the group should have.
	// Required for Plan, Sync, Start and Connect; nil allows only local
	// operations (Status, Disconnect of local state, Rollback).
	Workspace Workspace
	// Approver decides on every import, upgrade and removal. Nil approves
	// everything.
	Approver approval.Approver
	// Queue is the approval queue Status lists and Approve decides
	// through. Nil means the one Approver holds (an approval.Manual, alone
	// or in a combination), if any. Set it when the queue is not part of the
	// approver in force: `mpsync approve` works on the store's manual queue
	// whatever --approval says.
	Queue approval.Queue
	// Ledger records decisions and results. Nil keeps them in the store's
	// "ledger.jsonl" metadata record.
	Ledger ledger.Ledger
	// Settings supplies each rule's effective Frequency and Enabled.
	//
	// Overrides live in the management group: nil means the override packs
	// in the store (imported by Import, written by SetOverride) on top of the
	// rules' defaults (12 h and 5 min, both enabled). An
	// [*rules.OverrideSource] (from [rules.FromOverrides]) adds its files to
	// the store's packs, resolved together with SCOM's precedence as if the
	// files were imported too; a pack id in both counts once, at the higher
	// version (the file's when equal). Any other SettingsSource (a
	// [rules.SettingsFunc], [rules.DefaultSettings]) decides the settings alone and the
	// store's override packs are not consulted.
	Settings SettingsSource
	// Schedule shapes the scheduler's run times: alignment to a time of day
	// (SCOM's SyncTime) and a stable jitter. The zero value runs each rule
	// every Frequency on a grid counted from the Unix epoch. An empty
	// JitterSeed means the group's name.
	Schedule rules.ScheduleOptions
	// Platform lists the packs the management group has installed that no
	// workspace serves (ids and versions): they satisfy references but are
	// never imported. Give the group's real inventory, read from
	// Get-SCOMManagementPack's export with [scom.LoadInventory]. Nil means
	// the platform libraries of the group's release, [scom.Platform] of
	// Group.Version (the latest release when the version is zero).
	Platform pack.Inventory
	// Requirements is the table Connect checks the group's version against.
	// Nil means [scom.DefaultRequirements].
	Requirements scom.Requirements
	// Proxy describes the proxy the workspace client uses, for the
	// connection record and the proxy minimum of the version requirement.
	// Leave it zero when Workspace is a [ProxyReporter] (workspace.Client
	// is): the engine then learns the proxy from the workspace, and New
	// refuses a Proxy that disagrees with it. Set it only for a Workspace
	// that cannot tell (one of your own, or a workspace.Client given its
	// own Transport). The zero value with such a Workspace means no proxy.
	Proxy status.Proxy
	// Clock is the engine's time source. Nil means [clock.System].
	Clock clock.Clock
	// Logger receives the engine's logs. Nil discards them.
	Logger *slog.Logger
	// OnEvent, when set, is called synchronously for every [Event], from
	// the goroutine doing the work and while a run holds the engine; keep it
	// fast (send to a channel, bump a metric) and do not call the engine's
	// methods from it (Stop, Sync and the like would wait for the run that
	// is calling it).
	OnEvent func(event.Event)
	// MaxParallel bounds concurrent pack downloads. <= 0 means 4.
	MaxParallel int
	// AcceptLowerSerial accepts a catalog whose serial is lower than one
	// already applied for the same workspace (a deliberate rollback of the
	// catalog). Default false: such a run fails with [ErrSerialRegressed].
	AcceptLowerSerial bool
	// MaxRemovalShare bounds how much of the workspace's packs one run may
	// remove without confirmation, as Argo CD and Flux guard pruning: when a
	// run would remove more than one pack and more than this share of the
	// packs the workspace owns in the store, its removals are denied by
	// the removal guard ([RemovalGuardName], reason in the ledger) and the
	// rest of its plan applies. 0 means [DefaultMaxRemovalShare]; 1 allows
	// any removal, which is how a deliberate large removal is confirmed.
	// SwitchWorkspace is not guarded: the operator chose the new catalog.
	// Values outside [0, 1] are refused by New.
	MaxRemovalShare float64
	// RunTimeout bounds one run of the rules whole: the catalog, the
	// downloads, the approver's decisions and the imports. A run past it is
	// cancelled and fails with [ErrRunTimeout]; what it applied stays. <= 0
	// means [DefaultRunTimeout]. Each request also has the workspace
	// client's own limits (workspace.Config.HeaderTimeout and friends).
	RunTimeout time.Duration
	// Lease, when set, lets only one of several engines (one per management
	// server) run the scheduled rules at a time. Nil: this engine always
	// runs (a directory store admits one process anyway).
	Lease Lease
	// Holder names this engine to the Lease, e.g. the management server's
	// host name. Empty means the host name.
	Holder string
	// LeaseTTL is how long a scheduled run holds the lease. <= 0 means
	// [DefaultLeaseTTL].
	LeaseTTL time.Duration
}

// DefaultRunTimeout is how long a run may take when Options.RunTimeout is
// not set: a cold first sync of a thousand packs fits well inside it.
const DefaultRunTimeout = time.Hour

// Engine keeps a management group's packs in step with its workspace: it
// plans, asks the approver, applies, records, and schedules both rules.
//
// All methods are safe for concurrent use. Runs are serialised: a run of a
// rule never overlaps another run, so the store sees one writer at a time.
type Engine struct {
	store    Store
	ws       Workspace
	approver approval.Approver
	queueOpt approval.Queue
	ledger   ledger.Ledger
	settings SettingsSource
	// group0 is settings when they come from override packs (the store's,
	// and files); nil for a caller's own SettingsSource.
	group0 *groupSettings
	// storeOv reads the store's override packs, for group0 and for the
	// checks of Import and SetOverride.
	storeOv   *storeOverrides
	schedOpts rules.ScheduleOptions
	platform  pack.Inventory
	// platformName says where platform came from, for blocked reasons.
	platformName string
	reqs         scom.Requirements
	proxy        status.Proxy
	clock        clock.Clock
	log          *slog.Logger
	onEvent      func(event.Event)
	group        scom.ManagementGroup
	parallel     int
	lease        Lease
	holder       string
	// maxRemovalShare is Options.MaxRemovalShare, defaulted.
	maxRemovalShare float64
	// acceptLowerSerial is Options.AcceptLowerSerial.
	acceptLowerSerial bool
	leaseTTL          time.Duration
	runTimeout        time.Duration

	// runMu serialises runs and connection changes.
	runMu sync.Mutex
	// runsMu serialises read-modify-writes of the run history and pending
	// records, which Validate also updates outside runMu.
	runsMu sync.Mutex
	// mu guards the fields below.
	mu        sync.Mutex
	manifests map[string]pack.Manifest // by sha256: a pending change is not re-downloaded to plan it
	noted     map[string]string        // last recorded decision and result by change id
	sched     *scheduler
	// idle is what the last run leaves for the next to reuse (see
	// idleRun); guarded by runMu. noIdle turns reuse off (tests compare
	// the two).
	idle   *idleState
	noIdle bool
	rc     ruleClock
	closed bool
	// inflight counts the operations admitted by enter; Close waits for it.
	inflight sync.WaitGroup
}

// New returns an engine over the store s. It validates the options and reads
// nothing yet.
func New(s Store, opts *Options) (*Engine, error) {
	if s == nil {
		return nil, errors.New("mpsync.New: store is nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	e := &Engine{
		store: s, ws: o.Workspace, approver: o.Approver, queueOpt: o.Queue, ledger: o.Ledger, settings: o.Settings,
		schedOpts: o.Schedule, platform: o.Platform, reqs: o.Requirements, proxy: o.Proxy,
		clock: o.Clock, log: o.Logger, onEvent: o.OnEvent, group: o.Group, parallel: o.MaxParallel,
		lease: o.Lease, holder: o.Holder, leaseTTL: o.LeaseTTL, runTimeout: o.RunTimeout, acceptLowerSerial: o.AcceptLowerSerial,
		maxRemovalShare: o.MaxRemovalShare,
		manifests:       map[string]pack.Manifest{},
		noted:           map[string]string{},
		rc:              ruleClock{next: map[rules.Rule]time.Time{}, settings: map[rules.Rule]rules.Settings{}, ranAt: map[rules.Rule]time.Time{}},
	}
	if e.approver == nil {
		e.approver = approveAll{}
	}
	if e.ledger == nil {
		e.ledger = ledger.NewJSONL(s)
	}
	e.ledger = cleanLedger{e.ledger}
	e.platformName = "the inventory in Options.Platform"
	if e.platform == nil {
		var rel scom.Release
		e.platform, rel = scom.Platform(e.group.Version)
		e.platformName = "the built-in inventory of " + rel.String()
		if e.group.Version.IsZero() {
			e.platformName += ", assumed as the group's version is not known"
		}
	}
	if e.reqs == nil {
		e.reqs = scom.DefaultRequirements()
	}
	if e.clock == nil {
		e.clock = clock.System{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.storeOv = newStoreOverrides(s, e.log)
	switch src := e.settings.(type) {
	case nil:
		e.group0 = &groupSettings{store: e.storeOv}
		e.settings = e.group0
	case *rules.OverrideSource:
		e.group0 = &groupSettings{files: src, target: src.Target(), store: e.storeOv}
		e.settings = e.group0
	}
	if e.group.Name == "" {
		e.group.Name = "default"
	}
	if e.group.Language == "" {
		e.group.Language = "ENU"
	}
	if e.parallel <= 0 {
		e.parallel = 4
	}
	if err := checkMaxRemovalShare(e.maxRemovalShare); err != nil {
		return nil, err
	}
	if e.maxRemovalShare == 0 {
		e.maxRemovalShare = DefaultMaxRemovalShare
	}
	if e.runTimeout <= 0 {
		e.runTimeout = DefaultRunTimeout
	}
	if e.leaseTTL <= 0 {
		e.leaseTTL = DefaultLeaseTTL
	}
	if e.holder == "" {
		e.holder, _ = os.Hostname()
	}
	if e.schedOpts.JitterSeed == "" {
		e.schedOpts.JitterSeed = e.group.Name
	}
	if _, err := rules.NewSchedule(rules.GetIntelligencePacks.DefaultFrequency(), e.schedOpts); err != nil {
		return nil, fmt.Errorf("mpsync.New: Options.Schedule: %w", err)
	}
	if err := checkLanguage(e.group.Language); err != nil {
		return nil, fmt.Errorf("mpsync.New: %w", err)
	}
	if p, ok := proxyOf(e.ws); ok && o.Proxy != (status.Proxy{}) && o.Proxy != p {
		return nil, fmt.Errorf("mpsync.New: Options.Proxy (%s) disagrees with the proxy workspace %s uses (%s); leave Options.Proxy empty and the engine takes the workspace's",
			o.Proxy, e.ws.ID(), p)
	}
	return e, nil
}

// Group returns the management group the engine serves.
func (e *Engine) Group() scom.ManagementGroup { return e.group }

// enter admits one operation on the engine: it returns [ErrClosed] after
// Close, and otherwise a done func the operation calls when it ends. Close
// waits for every admitted operation, so a Sync running on another
// goroutine has finished writing when Close returns.
func (e *Engine) enter() (done func(), err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	e.inflight.Add(1)
	return e.inflight.Done, nil
}

func (e *Engine) needWorkspace(op string) error {
	if e.workspace() == nil {
		return fmt.Errorf("%s: no workspace configured (Options.Workspace is nil)", op)
	}
	return nil
}

// normaliseRules returns the rules to run in run order (MPUpdate first), all
// rules when none is given, and an error for an unknown rule.
func normaliseRules(rs []rules.Rule) ([]rules.Rule, error) {
	if len(rs) == 0 {
		return rules.All(), nil
	}
	var out []rules.Rule
	for _, r := range rules.All() {
		for _, want := range rs {
			if !want.Valid() {
				return nil, fmt.Errorf("unknown rule %q", want)
			}
			if want == r {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

// approveAll is the approver of an engine configured without one.
type approveAll struct{}

func (approveAll) String() string { return "auto" }

func (approveAll) Decide(context.Context, approval.Request) (approval.Decision, error) {
	return approval.Decision{Verdict: plan.Approve, Reason: "no approver configured", By: "auto"}, nil
}
