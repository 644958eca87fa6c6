package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/event"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/metrics"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// serve serves m.Handler() on 127.0.0.1:0 and returns the base URL.
func serve(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// scrape fetches /metrics and parses it with the Prometheus text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the sample of family name whose labels include
// labels (name=value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func newEngine(t *testing.T, m *metrics.Metrics, opts *mpsync.Options) (*mpsync.Engine, *mpsynctest.Server) {
	t.Helper()
	wsOpts, err := mpsynctest.LoadDir(filepath.Join("..", "..", "testdata", "workspace"))
	require.NoError(t, err)
	srv := mpsynctest.NewServer(wsOpts...)
	t.Cleanup(srv.Close)
	st, err := store.OpenDir(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cfg := srv.ClientConfig()
	cfg.Transport = m.Transport(cfg.Transport)
	cfg.RetryMax = -1
	cl, err := workspace.New(cfg)
	require.NoError(t, err)
	if opts == nil {
		opts = &mpsync.Options{}
	}
	opts.Group = scom.ManagementGroup{Name: "PROD", Language: "ENU"}
	opts.Workspace = cl
	opts.OnEvent = m.Observe
	eng, err := mpsync.New(st, opts)
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	m.Attach(eng)
	return eng, srv
}

func TestScrapeAfterSync(t *testing.T) {
	ctx := context.Background()
	m := metrics.New(nil)
	base := serve(t, m)

	// Before the engine is attached: event metrics only, not ready.
	fams := scrape(t, base)
	v, _ := value(fams, "mpsync_status_up")
	assert.Equal(t, 0.0, v)
	code, body := get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "no engine attached")

	eng, srv := newEngine(t, m, nil)
	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "the store is never, not connected")

	rep, err := eng.Sync(ctx)
	require.NoError(t, err)
	require.NoError(t, rep.Err())

	fams = scrape(t, base)
	v, _ = value(fams, "mpsync_status_up")
	assert.Equal(t, 1.0, v)
	for _, r := range []string{"MPUpdate", "GetIntelligencePacks"} {
		v, ok := value(fams, "mpsync_runs_total", "rule", r, "result", "ok")
		assert.True(t, ok, r)
		assert.Equal(t, 1.0, v, r)
		ts, ok := value(fams, "mpsync_last_success_timestamp_seconds", "rule", r)
		assert.True(t, ok, r)
		assert.InDelta(t, float64(time.Now().Unix()), ts, 60)
	}
	v, _ = value(fams, "mpsync_changes_total", "action", "import", "result", "applied")
	assert.Equal(t, 6.0, v)
	v, _ = value(fams, "mpsync_imported_packs", "owner", "workspace")
	assert.Equal(t, 6.0, v)
	v, _ = value(fams, "mpsync_imported_packs", "owner", "custom")
	assert.Equal(t, 0.0, v)
	v, _ = value(fams, "mpsync_catalog_serial")
	assert.Equal(t, float64(srv.Serial()), v)
	v, _ = value(fams, "mpsync_pending_approvals")
	assert.Equal(t, 0.0, v)
	v, _ = value(fams, "mpsync_connected", "state", "connected")
	assert.Equal(t, 1.0, v)
	v, _ = value(fams, "mpsync_downloads_total")
	assert.Equal(t, float64(srv.Stats().PackRequests), v)
	v, _ = value(fams, "mpsync_downloaded_bytes_total")
	assert.Equal(t, float64(srv.Stats().PackBytes), v, "every pack byte the server sent")
	assert.Positive(t, v)
	_, ok := value(fams, "mpsync_lease_holder")
	assert.False(t, ok, "no lease configured")
	_, ok = fams["go_goroutines"]
	assert.True(t, ok, "a new registry has the Go collector")

	code, body = get(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	// The scheduler is not running: not healthy.
	code, body = get(t, base+"/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "has not started")

	code, _ = get(t, base+"/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestPendingDeniedAndFailedRuns(t *testing.T) {
	ctx := context.Background()
	m := metrics.New(nil)
	base := serve(t, m)
	st := store.NewMemory()
	manual := approval.NewManual(st)
	eng, srv := newEngine(t, m, &mpsync.Options{Approver: manual, Queue: manual})
	_, err := eng.Sync(ctx, rules.MPUpdate)
	require.NoError(t, err)

	fams := scrape(t, base)
	pending, _ := value(fams, "mpsync_changes_total", "action", "import", "result", "pending")
	assert.Positive(t, pending)
	v, _ := value(fams, "mpsync_pending_approvals", "approval", "waiting")
	assert.Equal(t, pending, v, "every change asked waits in the queue")

	// The service fails: the run has no catalog at all and is an error;
	// readiness says which rule.
	srv.Fail("catalog", mpsynctest.Fault{Status: http.StatusInternalServerError})
	_, _ = eng.Sync(ctx, rules.GetIntelligencePacks) // stale or no catalog: either way not a success
	fams = scrape(t, base)
	v, _ = value(fams, "mpsync_runs_total", "rule", "GetIntelligencePacks", "result", "stale")
	e, _ := value(fams, "mpsync_runs_total", "rule", "GetIntelligencePacks", "result", "error")
	assert.Equal(t, 1.0, v+e, "the failed run is counted")
	code, body := get(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "the last run of GetIntelligencePacks")
}

// The health follows the scheduler's events; the lease holder comes from
// Options.LeaseHolder.
func TestHealthAndLease(t *testing.T) {
	holder := "ms01.contoso.com"
	m := metrics.New(&metrics.Options{LeaseHolder: func(context.Context) (string, error) { return holder, nil }})
	base := serve(t, m)
	code, _ := get(t, base+"/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)

	m.Observe(event.Event{Kind: event.SchedulerStarted, Time: time.Now()})
	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "scheduler is running")
	fams := scrape(t, base)
	v, _ := value(fams, "mpsync_scheduler_running")
	assert.Equal(t, 1.0, v)
	v, ok := value(fams, "mpsync_lease_holder", "holder", holder)
	assert.True(t, ok)
	assert.Equal(t, 1.0, v)
	v, _ = value(fams, "mpsync_events_total", "kind", "scheduler-started")
	assert.Equal(t, 1.0, v)

	m.Observe(event.Event{Kind: event.SchedulerStopped, Time: time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC),
		Err: errors.New("store disconnected")})
	code, body = get(t, base+"/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "stopped at 2026-06-03T12:00:00Z: store disconnected")

	holder = ""
	_, ok = value(scrape(t, base), "mpsync_lease_holder")
	assert.False(t, ok, "a free lease has no holder")
}

func TestOwnRegistry(t *testing.T) {
	m := metrics.New(&metrics.Options{})
	reg := m.Registry()
	fams, err := reg.Gather()
	require.NoError(t, err)
	names := []string{}
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	assert.Contains(t, strings.Join(names, " "), "mpsync_scheduler_running")
}
