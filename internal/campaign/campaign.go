// Package campaign is the seeded fault campaign of RELIABILITY.md, shared
// by the tests that run it against each store: random scenarios against
// the fake workspace service (mpsync/mpsynctest) on a loopback address,
// through the real workspace client with short timeouts. Each scenario
// builds a catalog, imports an operator's pack, then takes steps that change
// the catalog and inject faults (errors, stalls, resets, truncated and
// corrupted packs, lying catalog entries and manifests, lower serials,
// flapping solutions) before a sync, and checks after every step that
//
//   - every stored pack's bytes match its recorded SHA-256 and size,
//   - every pack the workspace owns was approved at that hash,
//   - nothing the workspace still wants was removed,
//   - the operator's pack is untouched,
//
// and, once the faults stop, that one sync converges the store to the
// catalog. A failure names the scenario's seed; [Run] replays it alone with
// MPSYNC_CAMPAIGN_SEED=<seed> MPSYNC_CAMPAIGN_SCENARIOS=1.
package campaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/workspace"
)

// Options configure [Run].
type Options struct {
	// Scenarios is how many scenarios run unless MPSYNC_CAMPAIGN_SCENARIOS
	// says otherwise.
	Scenarios int
	// OpenStore opens a new, empty store for scenario i; the campaign
	// closes it (when it is an io.Closer) at the scenario's end.
	OpenStore func(t *testing.T, i int) mpsync.Store
	// Replay is the command that runs the calling test, for the replay
	// line a failure prints ("go test ./mpsync -run TestFaultCampaign").
	Replay string
}

// Run runs the campaign: opts.Scenarios scenarios (MPSYNC_CAMPAIGN_SCENARIOS
// overrides) from seed MPSYNC_CAMPAIGN_SEED (default: the clock, so that
// every run covers new ground; the seed is logged). It stops at the first
// failing scenario, printing how to replay it, logs what the campaign did,
// and fails when no sync of a campaign of 20 scenarios or more failed or ran
// stale: the faults had no effect.
func Run(t *testing.T, opts Options) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MPSYNC_CAMPAIGN_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MPSYNC_CAMPAIGN_SEED=%q: %v", s, err)
		}
		seed = n
	}
	count := opts.Scenarios
	if s := os.Getenv("MPSYNC_CAMPAIGN_SCENARIOS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MPSYNC_CAMPAIGN_SCENARIOS=%q: want a positive number", s)
		}
		count = n
	}
	t.Logf("campaign: %d scenarios from seed %d", count, seed)

	var total campaignTally
	start := time.Now()
	for i := range count {
		s := seed + uint64(i)
		ok := t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			total.add(runScenario(t, s, opts.OpenStore(t, i)))
		})
		if !ok {
			t.Fatalf("scenario failed; replay it with MPSYNC_CAMPAIGN_SEED=%d MPSYNC_CAMPAIGN_SCENARIOS=1 %s -v", s, opts.Replay)
		}
	}
	t.Logf("campaign: %d scenarios, %d steps, %d faults injected (%s), %d syncs failed or stale, %d converged, in %s",
		count, total.steps, total.faultCount(), total.faultSummary(), total.failedSyncs, total.converged, time.Since(start).Round(time.Millisecond))
	if count >= 20 && total.failedSyncs == 0 {
		t.Fatalf("no sync failed or ran stale in %d steps: the faults had no effect", total.steps)
	}
}

// scLib is the platform library every campaign pack references.
var scLib = mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

const (
	campaignCustomID = "Contoso.Custom.Monitoring"
	// campaignSyncBound is how long one sync may take before the campaign
	// calls it a hang: far above what the client's timeouts allow.
	campaignSyncBound = 30 * time.Second
)

var campaignSolutions = []string{"AlertManagement", "Updates", "ChangeTracking"}

// campaignTally counts what a scenario did.
type campaignTally struct {
	steps, failedSyncs, converged int
	faults                        map[string]int
}

func (c *campaignTally) fault(kind string) {
	if c.faults == nil {
		c.faults = map[string]int{}
	}
	c.faults[kind]++
}

func (c *campaignTally) add(o campaignTally) {
	c.steps += o.steps
	c.failedSyncs += o.failedSyncs
	c.converged += o.converged
	for k, n := range o.faults {
		for range n {
			c.fault(k)
		}
	}
}

func (c *campaignTally) faultCount() int {
	n := 0
	for _, v := range c.faults {
		n += v
	}
	return n
}

func (c *campaignTally) faultSummary() string {
	kinds := make([]string, 0, len(c.faults))
	for k := range c.faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, c.faults[k])
	}
	return strings.Join(parts, ", ")
}

// truthPack is a pack as the workspace means to publish it.
type truthPack struct {
	id, version, solution string
	data                  []byte
}

func (p truthPack) channel() catalog.Channel {
	if p.solution == "" {
		return catalog.ChannelBase
	}
	return catalog.ChannelSolution
}

func (p truthPack) sha() string {
	s := sha256.Sum256(p.data)
	return hex.EncodeToString(s[:])
}

// scenario is one run of the campaign.
type scenario struct {
	t      *testing.T
	rng    *rand.Rand
	srv    *mpsynctest.Server
	client *workspace.Client
	store  mpsync.Store
	tally  campaignTally

	truth     map[string]truthPack
	solutions map[string]bool
	nextID    int

	approver *campaignApprover
	custom   []byte   // the operator's pack, byte for byte
	lied     []string // ids whose catalog entry or bytes lie this step; "" for the serial
	high     int64    // the highest serial the server has served
}

func runScenario(t *testing.T, seed uint64, st mpsync.Store) campaignTally {
	sc := &scenario{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		truth: map[string]truthPack{}, solutions: map[string]bool{}}
	sc.approver = &campaignApprover{seed: seed, approved: map[string]bool{}, denying: true}
	sc.store = st
	sc.start()
	defer sc.srv.Close()

	storeOpen := true
	defer func() { // on a failure too: a pool or open files per scenario add up
		if c, ok := sc.store.(io.Closer); ok && storeOpen {
			c.Close()
		}
	}()

	e := sc.engine(sc.client, 0)
	defer e.Close() // Close is idempotent; this one is for a failing step
	sc.importCustom(e)
	steps := 3 + sc.rng.IntN(4)
	for range steps {
		sc.step(e)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("closing the engine: %v", err)
	}
	sc.converge()
	if c, ok := sc.store.(io.Closer); ok {
		storeOpen = false
		if err := c.Close(); err != nil {
			t.Fatalf("closing the store: %v", err)
		}
	}
	return sc.tally
}

// start publishes a random catalog and makes the client.
func (sc *scenario) start() {
	for _, sol := range campaignSolutions {
		sc.solutions[sol] = sc.rng.IntN(4) != 0
	}
	opts := []mpsynctest.Option{mpsynctest.WithClock(time.Now)}
	for _, sol := range campaignSolutions {
		opts = append(opts, mpsynctest.WithSolution(sol, sc.solutions[sol]))
	}
	for range 4 + sc.rng.IntN(8) {
		p := sc.newPack()
		sc.truth[p.id] = p
		opts = append(opts, mpsynctest.WithPack(p.id, p.version, p.channel(), p.solution, p.data))
	}
	sc.srv = mpsynctest.NewServer(opts...)

	sc.client = sc.newClient(150 * time.Millisecond)
}

// newClient is a workspace client for the scenario's server that gives up
// on a response after timeout (headers, and between reads of the body).
func (sc *scenario) newClient(timeout time.Duration) *workspace.Client {
	cfg := sc.srv.ClientConfig()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	cfg.HeaderTimeout, cfg.IdleTimeout, cfg.RequestTimeout = timeout, timeout, 20*timeout
	cfg.MaxRetryAfter = 50 * time.Millisecond
	cfg.TempDir = sc.t.TempDir()
	c, err := workspace.New(cfg)
	if err != nil {
		sc.t.Fatal(err)
	}
	return c
}

// newPack makes a pack that does not exist yet: base or in a solution.
func (sc *scenario) newPack() truthPack {
	sc.nextID++
	sol := ""
	if sc.rng.IntN(3) != 0 {
		sol = campaignSolutions[sc.rng.IntN(len(campaignSolutions))]
	}
	id := fmt.Sprintf("Campaign.Pack%02d", sc.nextID)
	v := fmt.Sprintf("1.0.%d.0", sc.rng.IntN(50))
	return truthPack{id: id, version: v, solution: sol, data: mpsynctest.Pack(id, v, scLib)}
}

func (sc *scenario) engine(ws mpsync.Workspace, maxRemovalShare float64) *mpsync.Engine {
	e, err := mpsync.New(sc.store, &mpsync.Options{Workspace: ws, Approver: sc.approver,
		MaxRemovalShare: maxRemovalShare, RunTimeout: 10 * time.Second})
	if err != nil {
		sc.t.Fatal(err)
	}
	return e
}

func (sc *scenario) importCustom(e *mpsync.Engine) {
	sc.custom = mpsynctest.Pack(campaignCustomID, "1.0.0.0", scLib)
	if _, err := e.Import(context.Background(), bytes.NewReader(sc.custom), mpsync.ImportOptions{Source: "custom.xml"}); err != nil {
		sc.t.Fatalf("importing the operator's pack: %v", err)
	}
}

// step changes the catalog, injects faults, syncs and checks.
func (sc *scenario) step(e *mpsync.Engine) {
	sc.tally.steps++
	for range 1 + sc.rng.IntN(2) {
		sc.mutate()
	}
	for range sc.rng.IntN(4) {
		sc.inject()
	}
	before := sc.entries()
	wanted := sc.wanted()

	ctx, cancel := context.WithTimeout(context.Background(), campaignSyncBound)
	rep, err := e.Sync(ctx)
	hung := ctx.Err() != nil // this bound, not the engine's RunTimeout, which a run may meet
	cancel()
	if hung {
		sc.t.Fatalf("sync hung for %s under faults %s: %v", campaignSyncBound, sc.tally.faultSummary(), err)
	}
	if err != nil || rep.Err() != nil || rep.Plan.Stale {
		sc.tally.failedSyncs++
	}
	sc.check(before, wanted)
	sc.heal()
}

// mutate changes what the workspace means to publish.
func (sc *scenario) mutate() {
	ids := sc.truthIDs()
	switch n := sc.rng.IntN(10); {
	case n < 3 && len(ids) > 0: // a new version
		p := sc.truth[ids[sc.rng.IntN(len(ids))]]
		v := pack.MustParseVersion(p.version)
		p.version = fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Build+1+uint32(sc.rng.IntN(3)), v.Revision)
		p.data = mpsynctest.Pack(p.id, p.version, scLib)
		sc.truth[p.id] = p
		sc.srv.Publish(p.id, p.version, p.channel(), p.solution, p.data)
	case n < 5: // a new pack
		p := sc.newPack()
		sc.truth[p.id] = p
		sc.srv.Publish(p.id, p.version, p.channel(), p.solution, p.data)
	case n < 6 && len(ids) > 1: // withdrawn
		id := ids[sc.rng.IntN(len(ids))]
		delete(sc.truth, id)
		sc.srv.Unpublish(id)
	default: // a solution flaps
		sol := campaignSolutions[sc.rng.IntN(len(campaignSolutions))]
		sc.solutions[sol] = !sc.solutions[sol]
		if sc.solutions[sol] {
			sc.srv.EnableSolution(sol)
		} else {
			sc.srv.DisableSolution(sol)
		}
		sc.tally.fault("flapping solution")
	}
}

// inject adds one fault for the next sync.
func (sc *scenario) inject() {
	ids := sc.truthIDs()
	if len(ids) == 0 {
		return
	}
	id := ids[sc.rng.IntN(len(ids))]
	p := sc.truth[id]
	times := sc.rng.IntN(3) // 0: every request
	stall := 400 * time.Millisecond
	switch sc.rng.IntN(14) {
	case 0:
		sc.srv.Fail("catalog", mpsynctest.Fault{Status: []int{500, 502, 503}[sc.rng.IntN(3)], Times: times})
		sc.tally.fault("catalog error")
	case 1:
		sc.srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(sc.rng.IntN(3)), Times: times})
		sc.tally.fault("catalog throttled")
	case 2:
		sc.srv.Fail("catalog", mpsynctest.Fault{Delay: stall, Times: times})
		sc.tally.fault("catalog stall")
	case 3:
		bodies := [][]byte{[]byte(`{"schemaVersion":`), []byte(`{}`), []byte(`[]`), []byte(`null`),
			[]byte(`{"schemaVersion":"1.0","workspaceId":"` + sc.srv.WorkspaceID() + `","serial":` + strconv.FormatInt(sc.srv.Serial()+1, 10) + `,"packs":null,"solutions":[]}`),
			append(sc.catalogJSON(), []byte(` {"trailing":true}`)...)}
		sc.srv.Fail("catalog", mpsynctest.Fault{Body: bodies[sc.rng.IntN(len(bodies))], Times: times})
		sc.tally.fault("malformed catalog")
	case 4:
		sc.srv.Fail(id, mpsynctest.Fault{Status: []int{403, 404, 500, 503}[sc.rng.IntN(4)], Times: times})
		sc.tally.fault("pack error")
	case 5:
		sc.srv.Fail(id, mpsynctest.Fault{Delay: stall, Times: times})
		sc.tally.fault("pack stall")
	case 6:
		sc.srv.Fail(id, mpsynctest.Fault{Drop: true, DropAfter: sc.rng.Int64N(int64(len(p.data))), Times: times})
		sc.tally.fault("connection reset")
	case 7:
		sc.srv.Fail(id, mpsynctest.Fault{Truncate: true, TruncateTo: sc.rng.Int64N(int64(len(p.data))), Times: times})
		sc.tally.fault("truncated pack")
	case 8: // same size, one byte changed
		bad := slices.Clone(p.data)
		bad[sc.rng.IntN(len(bad))] ^= byte(1 + sc.rng.IntN(255))
		sc.srv.Fail(id, mpsynctest.Fault{Body: bad, Times: times})
		sc.tally.fault("corrupted pack")
	case 9: // the catalog's hash or size lies about the bytes
		sc.srv.Tamper(id, func(c *catalog.Pack) {
			if sc.rng.IntN(2) == 0 {
				c.SHA256 = strings.Repeat("ab", 32)
			} else {
				c.Size += 1 + sc.rng.Int64N(100)
			}
		})
		sc.lied = append(sc.lied, id)
		sc.tally.fault("lying catalog entry")
	case 10: // the bytes are another pack: the operator's, or a neighbour
		other := campaignCustomID
		if sc.rng.IntN(2) == 0 {
			other = ids[sc.rng.IntN(len(ids))]
		}
		sc.srv.Publish(id, p.version, p.channel(), p.solution, mpsynctest.Pack(other, p.version, scLib))
		sc.lied = append(sc.lied, id)
		sc.tally.fault("lying manifest")
	case 11: // the manifest's version is not the catalog's
		v := pack.MustParseVersion(p.version)
		sc.srv.Publish(id, p.version, p.channel(), p.solution, mpsynctest.Pack(id, fmt.Sprintf("%d.%d.%d.%d", v.Major+1, v.Minor, v.Build, v.Revision), scLib))
		sc.lied = append(sc.lied, id)
		sc.tally.fault("lying manifest")
	case 12:
		if s := sc.srv.Serial(); s > 1 {
			sc.high = max(sc.high, s)
			sc.srv.SetSerial(s - 1 - sc.rng.Int64N(s-1))
			sc.lied = append(sc.lied, "")
			sc.tally.fault("lower serial")
		}
	case 13:
		sc.srv.Fail("*", mpsynctest.Fault{Status: http.StatusServiceUnavailable, Times: 1 + sc.rng.IntN(4)})
		sc.tally.fault("outage")
	}
}

// heal undoes the step's faults: the catalog says the truth again, with a
// serial above any the client has seen.
func (sc *scenario) heal() {
	sc.srv.ClearFaults()
	for _, id := range sc.lied {
		if p, ok := sc.truth[id]; ok {
			sc.srv.Publish(p.id, p.version, p.channel(), p.solution, p.data)
		}
	}
	if len(sc.lied) > 0 {
		sc.high = max(sc.high, sc.srv.Serial()) + 1
		sc.srv.SetSerial(sc.high)
	}
	sc.lied = nil
}

func (sc *scenario) catalogJSON() []byte {
	b, err := json.Marshal(sc.srv.Catalog())
	if err != nil {
		sc.t.Fatal(err)
	}
	return b
}

// converge stops the faults, approves everything and confirms removals;
// one sync must then bring the store to the catalog exactly.
func (sc *scenario) converge() {
	sc.heal()
	sc.approver.setDenying(false)
	// A client with generous timeouts: once the faults stop, a slow
	// answer on a loaded machine is not a fault.
	e := sc.engine(sc.newClient(10*time.Second), 1)
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), campaignSyncBound)
	defer cancel()
	rep, err := e.Sync(ctx)
	if err != nil {
		sc.t.Fatalf("converging sync: %v", err)
	}
	if err := rep.Err(); err != nil {
		sc.t.Fatalf("converging sync: %v\n%s", err, rep)
	}
	want := map[string]string{campaignCustomID: "1.0.0.0"}
	for id, ok := range sc.wanted() {
		if ok {
			want[id] = sc.truth[id].version
		}
	}
	got := map[string]string{}
	for _, en := range sc.entries() {
		got[en.ID] = en.Version.String()
		if tp, ok := sc.truth[en.ID]; ok && en.SHA256 != tp.sha() {
			sc.t.Errorf("after converging, %s has hash %s, the catalog's is %s", en.ID, en.SHA256, tp.sha())
		}
	}
	if !mapsEqual(got, want) {
		sc.t.Fatalf("the store did not converge to the catalog:\n got  %v\n want %v\n%s", got, want, rep)
	}
	sc.check(nil, nil)
	sc.tally.converged++
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// wanted is the set of pack ids the workspace wants now.
func (sc *scenario) wanted() map[string]bool {
	w := map[string]bool{}
	for id, p := range sc.truth {
		w[id] = p.solution == "" || sc.solutions[p.solution]
	}
	return w
}

func (sc *scenario) truthIDs() []string {
	ids := make([]string, 0, len(sc.truth))
	for id := range sc.truth {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (sc *scenario) entries() map[string]storage.Entry {
	l, err := sc.store.List(context.Background())
	if err != nil {
		sc.t.Fatalf("listing the store: %v", err)
	}
	m := make(map[string]storage.Entry, len(l))
	for _, en := range l {
		m[en.ID] = en
	}
	return m
}

// check asserts the campaign's invariants after a step: before is the store
// before the step, wanted what the workspace wanted during it.
func (sc *scenario) check(before map[string]storage.Entry, wanted map[string]bool) {
	t := sc.t
	t.Helper()
	now := sc.entries()
	for id, en := range now {
		b := sc.read(id)
		s := sha256.Sum256(b)
		if hex.EncodeToString(s[:]) != en.SHA256 || int64(len(b)) != en.Size {
			t.Fatalf("stored pack %s: bytes (%d, sha256 %x) do not match the entry (%d, %s)", id, len(b), s, en.Size, en.SHA256)
		}
		if en.Owner == storage.OwnerWorkspace && !sc.approver.wasApproved(id, en.SHA256) {
			t.Fatalf("stored pack %s %s (sha256 %s) was never approved", id, en.Version, en.SHA256)
		}
	}
	for id := range before {
		if _, still := now[id]; !still && wanted[id] {
			t.Fatalf("pack %s was removed while the workspace still wanted it", id)
		}
	}
	c, ok := now[campaignCustomID]
	if !ok {
		t.Fatalf("the operator's pack %s is gone", campaignCustomID)
	}
	if c.Owner != storage.OwnerCustom || c.Version.String() != "1.0.0.0" || !bytes.Equal(sc.read(campaignCustomID), sc.custom) {
		t.Fatalf("the operator's pack was touched: owner %s version %s", c.Owner, c.Version)
	}
}

func (sc *scenario) read(id string) []byte {
	rc, err := sc.store.Open(context.Background(), id)
	if err != nil {
		sc.t.Fatalf("opening stored pack %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		sc.t.Fatalf("reading stored pack %s: %v", id, err)
	}
	return b
}

// campaignApprover approves a change unless, while denying, a hash of the
// seed and the change's id says no (about one in five); it remembers every
// pack and hash it approved.
type campaignApprover struct {
	seed     uint64
	mu       sync.Mutex
	approved map[string]bool
	denying  bool
}

func (a *campaignApprover) Decide(_ context.Context, req approval.Request) (approval.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", a.seed, req.Change.ID)
	if a.denying && h.Sum64()%5 == 0 {
		return approval.Decision{Verdict: plan.Deny, Reason: "campaign: denied", By: "campaign"}, nil
	}
	if req.Change.SHA256 != "" {
		a.approved[req.Change.Pack+"@"+req.Change.SHA256] = true
	}
	return approval.Decision{Verdict: plan.Approve, By: "campaign"}, nil
}

func (a *campaignApprover) wasApproved(id, sha string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.approved[id+"@"+sha]
}

func (a *campaignApprover) setDenying(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.denying = on
}
