package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mpsync.dev/rules"
)

// DefaultStatusTimeout bounds the [StatusSource] call of one scrape or
// readiness check when Options.StatusTimeout is zero.
const DefaultStatusTimeout = 10 * time.Second

// StatusSource is what the metrics read the engine's local state from;
// [*mpsync.Engine] satisfies it. Status must not need the service.
type StatusSource interface {
	Status(ctx context.Context) (*status.Snapshot, error)
}

// Options configures [New]. The zero value is usable.
type Options struct {
	// Registry is where the metrics are registered; nil: a new registry,
	// returned by [Metrics.Registry]. Give a registry of your own to serve
	// mpsync's metrics with the program's (and the Go and process
	// collectors, which New does not add to a registry it was given).
	Registry *prometheus.Registry
	// Status is the engine's local state, read at each scrape and each
	// readiness check; it may also be set later with [Metrics.Attach]
	// (the engine needs the event hook before it exists). Without one,
	// only the metrics that come from events are exported and /readyz
	// is never ready.
	Status StatusSource
	// LeaseHolder returns who holds the lease of the management group's
	// engines (see [mpsync.Lease]), for mpsync_lease_holder; nil: the
	// metric is not exported (a single engine, with no lease).
	LeaseHolder func(ctx context.Context) (string, error)
	// StatusTimeout bounds one Status or LeaseHolder call; <= 0 means
	// [DefaultStatusTimeout].
	StatusTimeout time.Duration
}

// Metrics turns the engine's events and status into Prometheus metrics and
// answers health and readiness. It is safe for concurrent use: the engine
// calls [Metrics.Observe] from its goroutines while scrapes read.
type Metrics struct {
	reg     *prometheus.Registry
	timeout time.Duration
	lease   func(ctx context.Context) (string, error)

	runs      *prometheus.CounterVec
	changes   *prometheus.CounterVec
	events    *prometheus.CounterVec
	bytes     prometheus.Counter
	downloads prometheus.Counter

	mu          sync.Mutex
	status      StatusSource
	running     bool
	startedAt   time.Time
	stoppedErr  error
	stoppedAt   time.Time
	lastSuccess map[rules.Rule]time.Time
	serial      int64
}

// New returns the metrics, registered in opts.Registry (or a new registry).
// Feed it the engine's events through [Metrics.Observe]
// (mpsync.Options.OnEvent) and give it the engine with [Metrics.Attach].
// It panics only if a metric of the same name is already registered in
// opts.Registry, as prometheus.MustRegister does.
func New(opts *Options) *Metrics {
	if opts == nil {
		opts = &Options{}
	}
	m := &Metrics{
		reg: opts.Registry, timeout: opts.StatusTimeout, lease: opts.LeaseHolder,
		status: opts.Status, lastSuccess: map[rules.Rule]time.Time{},
	}
	if m.timeout <= 0 {
		m.timeout = DefaultStatusTimeout
	}
	if m.reg == nil {
		m.reg = prometheus.NewRegistry()
		m.reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mpsync_runs_total",
		Help: "Runs of a rule that ended, by rule (short name) and result (ok, failed, stale, error).",
	}, []string{"rule", "result"})
	m.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mpsync_changes_total",
		Help: "Changes the engine acted on, by action (import, upgrade, remove, blocked) and result (applied, failed, pending, denied, blocked).",
	}, []string{"action", "result"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mpsync_events_total",
		Help: "Engine events, by kind.",
	}, []string{"kind"})
	m.bytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mpsync_downloaded_bytes_total",
		Help: "Bytes of management packs downloaded from the workspace service, counted by the transport of Metrics.Transport (catalog documents and bodies not read to the end are not counted).",
	})
	m.downloads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mpsync_downloads_total",
		Help: "Management pack downloads read to the end, counted by the transport of Metrics.Transport.",
	})
	m.reg.MustRegister(m.runs, m.changes, m.events, m.bytes, m.downloads, (*collector)(m))
	return m
}

// Attach sets the engine the metrics and readiness read the status of.
func (m *Metrics) Attach(s StatusSource) {
	m.mu.Lock()
	m.status = s
	m.mu.Unlock()
}

// Registry returns the registry the metrics are registered in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe counts one engine event; pass it as mpsync.Options.OnEvent (or
// call it from your own hook). It never blocks on I/O.
func (m *Metrics) Observe(ev event.Event) {
	m.events.WithLabelValues(string(ev.Kind)).Inc()
	switch ev.Kind {
	case event.SchedulerStarted:
		m.mu.Lock()
		m.running, m.startedAt, m.stoppedErr = true, ev.Time, nil
		m.mu.Unlock()
	case event.SchedulerStopped:
		m.mu.Lock()
		m.running, m.stoppedAt, m.stoppedErr = false, ev.Time, ev.Err
		m.mu.Unlock()
	case event.RunFinished:
		result := ev.Message
		if result == "" {
			result = string(status.RunOK)
			if ev.Err != nil {
				result = string(status.RunError)
			}
		}
		m.runs.WithLabelValues(ev.Rule.ShortName(), result).Inc()
		if result == string(status.RunOK) {
			m.mu.Lock()
			if ev.Time.After(m.lastSuccess[ev.Rule]) {
				m.lastSuccess[ev.Rule] = ev.Time
			}
			m.mu.Unlock()
		}
	case event.PlanReady:
		if ev.Plan != nil && ev.Plan.CatalogSerial != 0 {
			m.mu.Lock()
			m.serial = ev.Plan.CatalogSerial
			m.mu.Unlock()
		}
	case event.ChangeApplied, event.ChangeFailed, event.ChangeDenied,
		event.ApprovalNeeded, event.ChangeBlocked:
		action := "unknown"
		if ev.Change != nil {
			action = string(ev.Change.Action)
		}
		m.changes.WithLabelValues(action, changeResult(ev.Kind)).Inc()
	}
}

func changeResult(k event.Kind) string {
	switch k {
	case event.ChangeApplied:
		return "applied"
	case event.ChangeFailed:
		return "failed"
	case event.ChangeDenied:
		return "denied"
	case event.ApprovalNeeded:
		return "pending"
	}
	return "blocked"
}

// Healthy returns nil while the scheduler runs (between
// [event.SchedulerStarted] and [event.SchedulerStopped]) and an
// error saying why not otherwise.
func (m *Metrics) Healthy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.running:
		return nil
	case m.stoppedAt.IsZero():
		return errors.New("the scheduler has not started")
	case m.stoppedErr != nil:
		return fmt.Errorf("the scheduler stopped at %s: %v", m.stoppedAt.UTC().Format(time.RFC3339), m.stoppedErr)
	}
	return fmt.Errorf("the scheduler stopped at %s", m.stoppedAt.UTC().Format(time.RFC3339))
}

// Ready returns nil when the store is connected to its workspace and the
// last run of each enabled rule did not fail, and an error naming what is
// not ready otherwise. A run that failed, could not happen or planned from
// the last-known catalog because the service was unreachable (RunFailed,
// RunError, RunStale) is a failure; an enabled rule that has not run yet is
// not.
func (m *Metrics) Ready(ctx context.Context) error {
	st, err := m.readStatus(ctx)
	if err != nil {
		return err
	}
	var problems []string
	if st.Connection.State != status.Connected {
		problems = append(problems, fmt.Sprintf("the store is %s, not connected", st.Connection.State))
	}
	for _, r := range st.Rules {
		if !r.Enabled {
			continue
		}
		switch r.LastResult {
		case status.RunFailed, status.RunError, status.RunStale:
			problems = append(problems, fmt.Sprintf("the last run of %s (%s) ended %s: %s",
				r.Rule.ShortName(), r.LastRun.UTC().Format(time.RFC3339), r.LastResult, oneLine(r.LastError)))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (m *Metrics) readStatus(ctx context.Context) (*status.Snapshot, error) {
	m.mu.Lock()
	src := m.status
	m.mu.Unlock()
	if src == nil {
		return nil, errors.New("no engine attached")
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	st, err := src.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine status: %w", err)
	}
	return st, nil
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

// Handler serves the metrics (/metrics, the Prometheus text format),
// health (/healthz: 200 while the scheduler runs, 503 otherwise) and
// readiness (/readyz: 200 when [Metrics.Ready] says so, 503 with the
// reason otherwise). Other paths are 404.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		respond(w, m.Healthy(), "ok: the scheduler is running")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		respond(w, m.Ready(r.Context()), "ok: connected, and no enabled rule's last run failed")
	})
	return mux
}

func respond(w http.ResponseWriter, err error, ok string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ok: %s\n", err)
		return
	}
	io.WriteString(w, ok+"\n")
}

// collector exports what is read from the engine's status at each scrape,
// and the gauges events keep.
type collector Metrics

var (
	descLastSuccess = prometheus.NewDesc("mpsync_last_success_timestamp_seconds",
		"End of the last successful run of a rule (Unix seconds); absent for a rule that never succeeded.", []string{"rule"}, nil)
	descLastRun = prometheus.NewDesc("mpsync_last_run_timestamp_seconds",
		"Start of the last run of a rule (Unix seconds), with its result.", []string{"rule", "result"}, nil)
	descRuleEnabled = prometheus.NewDesc("mpsync_rule_enabled",
		"1 when the rule is enabled by its effective settings, 0 when an override disables it.", []string{"rule"}, nil)
	descPending = prometheus.NewDesc("mpsync_pending_approvals",
		"Changes waiting for approval, by where each stands (waiting, approved, denied, superseded, deferred).", []string{"approval"}, nil)
	descSerial = prometheus.NewDesc("mpsync_catalog_serial",
		"Serial of the last catalog the engine read from the workspace service.", nil, nil)
	descPacks = prometheus.NewDesc("mpsync_imported_packs",
		"Management packs in the store, by owner (workspace, custom).", []string{"owner"}, nil)
	descConnected = prometheus.NewDesc("mpsync_connected",
		"1 when the store is connected to a workspace.", []string{"state"}, nil)
	descReachable = prometheus.NewDesc("mpsync_workspace_reachable",
		"1 when the last request to the workspace service succeeded.", nil, nil)
	descScheduler = prometheus.NewDesc("mpsync_scheduler_running",
		"1 while the scheduler runs.", nil, nil)
	descStatusUp = prometheus.NewDesc("mpsync_status_up",
		"1 when the engine's status could be read for this scrape; the status metrics are absent otherwise.", nil, nil)
	descLease = prometheus.NewDesc("mpsync_lease_holder",
		"1 for the engine that holds the management group's lease, labelled with its name; absent when the lease is free or no lease is configured.", []string{"holder"}, nil)
)

// Describe sends the descriptors of the collector's metrics.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastSuccess, descLastRun, descRuleEnabled, descPending, descSerial,
		descPacks, descConnected, descReachable, descScheduler, descStatusUp, descLease} {
		ch <- d
	}
}

// Collect reads the engine's status and sends the metrics.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := (*Metrics)(c)
	m.mu.Lock()
	running, serial := m.running, m.serial
	success := make(map[rules.Rule]time.Time, len(m.lastSuccess))
	for r, t := range m.lastSuccess {
		success[r] = t
	}
	m.mu.Unlock()
	ch <- gauge(descScheduler, b2f(running))

	ctx := context.Background()
	st, err := m.readStatus(ctx)
	ch <- gauge(descStatusUp, b2f(err == nil))
	if err == nil {
		for _, r := range st.Rules {
			name := r.Rule.ShortName()
			ch <- gauge(descRuleEnabled, b2f(r.Enabled), name)
			if r.LastSuccess.After(success[r.Rule]) {
				success[r.Rule] = r.LastSuccess
			}
			if !r.LastRun.IsZero() {
				ch <- gauge(descLastRun, unix(r.LastRun), name, string(r.LastResult))
			}
		}
		counts := map[string]float64{}
		for _, a := range st.Approvals {
			counts[string(a.Approval)]++
		}
		for _, k := range sortedKeys(counts) {
			ch <- gauge(descPending, counts[k], k)
		}
		if len(counts) == 0 {
			ch <- gauge(descPending, 0, "waiting")
		}
		owners := map[string]float64{"workspace": 0, "custom": 0}
		for _, p := range st.Packs {
			owners[string(p.Owner)]++
		}
		for _, k := range sortedKeys(owners) {
			ch <- gauge(descPacks, owners[k], k)
		}
		ch <- gauge(descConnected, b2f(st.Connection.State == status.Connected), string(st.Connection.State))
		ch <- gauge(descReachable, b2f(st.Workspace.Reachable))
		if st.Workspace.LastCatalogSerial != 0 {
			serial = st.Workspace.LastCatalogSerial
		}
	}
	if serial != 0 {
		ch <- gauge(descSerial, float64(serial))
	}
	for _, r := range rules.All() {
		if t, ok := success[r]; ok && !t.IsZero() {
			ch <- gauge(descLastSuccess, unix(t), r.ShortName())
		}
	}
	if m.lease != nil {
		lctx, cancel := context.WithTimeout(ctx, m.timeout)
		holder, err := m.lease(lctx)
		cancel()
		if err == nil && holder != "" {
			ch <- gauge(descLease, 1, holder)
		}
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
