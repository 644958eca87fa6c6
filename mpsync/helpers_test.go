package mpsync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/event"

	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// fakeWS is an in-memory Workspace.
type fakeWS struct {
	mu     sync.Mutex
	id     string
	cat    *catalog.Catalog
	data   map[string][]byte // by sha
	noSeek bool
	stale  bool
}

func newFakeWS(id string) *fakeWS {
	return &fakeWS{id: id, cat: &catalog.Catalog{SchemaVersion: "1.0", WorkspaceID: id, Serial: 1}, data: map[string][]byte{}}
}

func (f *fakeWS) ID() string { return f.id }

func (f *fakeWS) Catalog(ctx context.Context) (mpsync.CatalogResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *f.cat
	c.Packs = append([]catalog.Pack(nil), f.cat.Packs...)
	c.Solutions = append([]catalog.Solution(nil), f.cat.Solutions...)
	res := mpsync.CatalogResult{Catalog: &c, ETag: fmt.Sprint(c.Serial)}
	if f.stale {
		res.Stale, res.Err = true, fmt.Errorf("down")
	}
	return res, nil
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func (f *fakeWS) Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.data[p.SHA256]
	if !ok {
		return nil, fmt.Errorf("no such pack %s", p.ID)
	}
	if f.noSeek {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return nopSeekCloser{bytes.NewReader(b)}, nil
}

// put publishes id@ver (solution pack of solution sol, or base when sol=="").
func (f *fakeWS) put(id, ver, sol string, refs ...pack.Reference) catalog.Pack {
	b := mpsynctest.Pack(id, ver, refs...)
	s := sha256.Sum256(b)
	h := hex.EncodeToString(s[:])
	ch := catalog.ChannelBase
	if sol != "" {
		ch = catalog.ChannelSolution
	}
	p := catalog.Pack{ID: id, Version: pack.MustParseVersion(ver), Channel: ch, Solution: sol, SHA256: h, Size: int64(len(b)), Href: "packs/" + id}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[h] = b
	for i, q := range f.cat.Packs {
		if q.ID == id {
			f.cat.Packs[i] = p
			f.cat.Serial++
			return p
		}
	}
	f.cat.Packs = append(f.cat.Packs, p)
	f.cat.Serial++
	return p
}

func (f *fakeWS) drop(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, q := range f.cat.Packs {
		if q.ID == id {
			f.cat.Packs = append(f.cat.Packs[:i], f.cat.Packs[i+1:]...)
			f.cat.Serial++
			return
		}
	}
}

func (f *fakeWS) solution(name string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.cat.Solutions {
		if s.Name == name {
			f.cat.Solutions[i].Enabled = on
			f.cat.Serial++
			return
		}
	}
	f.cat.Solutions = append(f.cat.Solutions, catalog.Solution{Name: name, Enabled: on})
	f.cat.Serial++
}

func rref(id, ver string) pack.Reference {
	return pack.Reference{Alias: "R" + fmt.Sprint(len(id)), ID: id, Version: pack.MustParseVersion(ver), PublicKeyToken: "31bf3856ad364e35"}
}

func newFakeEngine(t *testing.T, ws mpsync.Workspace, s mpsync.Store, opts *mpsync.Options) *mpsync.Engine {
	t.Helper()
	var o mpsync.Options
	if opts != nil {
		o = *opts
	}
	o.Workspace = ws
	if o.Clock == nil {
		o.Clock = mpsynctest.NewManualClock(t0)
	}
	e, err := mpsync.New(s, &o)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func storeVersions(t *testing.T, s mpsync.Store) map[string]string {
	t.Helper()
	l, err := s.List(context.Background())
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range l {
		out[e.ID] = e.Version.String()
	}
	return out
}

const advisor = "Microsoft.SystemCenter.Advisor"

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

const (
	advisorID  = "Microsoft.SystemCenter.Advisor"
	internalID = "Microsoft.SystemCenter.Advisor.Internal"
	alertID    = "Microsoft.IntelligencePacks.AlertManagement"
	alertLibID = "Microsoft.IntelligencePacks.AlertManagement.Library"
	updatesID  = "Microsoft.IntelligencePacks.Updates"
)

var scLib = mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

func ref(id, ver string) pack.Reference {
	return pack.Reference{Alias: "R", ID: id, Version: pack.MustParseVersion(ver), PublicKeyToken: "31bf3856ad364e35"}
}

// rig is a management group wired to a fake workspace in memory.
type rig struct {
	srv    *mpsynctest.Server
	client *workspace.Client
	store  *store.Memory
	clock  *mpsynctest.ManualClock
	engine *mpsync.Engine
	events []event.Event
}

func newServer(t *testing.T) *mpsynctest.Server {
	t.Helper()
	clock := func() time.Time { return time.Now() }
	return mpsynctest.NewWorkspace(
		mpsynctest.WithClock(clock),
		mpsynctest.WithSolution("AlertManagement", true),
		mpsynctest.WithSolution("Updates", false),
		mpsynctest.WithPack(advisorID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(advisorID, "7.1.10226.1239", scLib)),
		mpsynctest.WithPack(internalID, "7.1.10226.1239", catalog.ChannelBase, "", mpsynctest.Pack(internalID, "7.1.10226.1239", scLib, ref(advisorID, "7.1.10226.0"))),
		mpsynctest.WithPack(alertLibID, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertLibID, "7.2.11719.0", scLib, ref(advisorID, "7.1.10226.0"))),
		mpsynctest.WithPack(alertID, "7.2.11719.0", catalog.ChannelSolution, "AlertManagement", mpsynctest.Pack(alertID, "7.2.11719.0", scLib, ref(alertLibID, "7.2.11719.0"))),
		mpsynctest.WithPack(updatesID, "7.2.100.0", catalog.ChannelSolution, "Updates", mpsynctest.Pack(updatesID, "7.2.100.0", scLib, ref(advisorID, "7.1.10226.0"))),
	)
}

func newClient(t *testing.T, srv *mpsynctest.Server) *workspace.Client {
	t.Helper()
	cfg := srv.ClientConfig()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	cfg.TempDir = t.TempDir()
	c, err := workspace.New(cfg)
	require.NoError(t, err)
	return c
}

func newRig(t *testing.T, opts *mpsync.Options) *rig {
	t.Helper()
	r := &rig{srv: newServer(t), store: store.NewMemory(), clock: mpsynctest.NewManualClock(t0)}
	r.client = newClient(t, r.srv)
	r.engine = r.newEngine(t, r.store, opts)
	return r
}

func (r *rig) newEngine(t *testing.T, s mpsync.Store, opts *mpsync.Options) *mpsync.Engine {
	t.Helper()
	var o mpsync.Options
	if opts != nil {
		o = *opts
	}
	o.Workspace, o.Clock = r.client, r.clock
	o.OnEvent = func(ev event.Event) { r.events = append(r.events, ev) }
	e, err := mpsync.New(s, &o)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func (r *rig) sync(t *testing.T, rs ...rules.Rule) *mpsync.Report {
	t.Helper()
	rep, err := r.engine.Sync(context.Background(), rs...)
	require.NoError(t, err)
	return rep
}

func (r *rig) versions(t *testing.T) map[string]string {
	t.Helper()
	list, err := r.store.List(context.Background())
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range list {
		out[e.ID] = e.Version.String()
	}
	return out
}

func results(rep *mpsync.Report) map[string]string {
	out := map[string]string{}
	for _, o := range rep.Outcomes {
		out[o.Pack] = string(o.Action) + "/" + string(o.Result)
	}
	return out
}

func newClientFrom(cfg workspace.Config) (*workspace.Client, error) {
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	return workspace.New(cfg)
}
