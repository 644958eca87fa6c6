package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var metricsAddrLog = regexp.MustCompile(`msg="serving metrics" addr=(127\.0\.0\.1:\d+)`)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// run --metrics-addr serves the metrics of the running scheduler; they are
// scraped from the real endpoint and parsed as Prometheus does.
func TestRunServesMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd, _, stderr := startCLI(t, f.args("run", "--metrics-addr", "127.0.0.1:0")...)
	addr, finished := "", 0
	for (addr == "" || finished < 2) && stderr.Scan() {
		line := stderr.Text()
		if m := metricsAddrLog.FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
		if strings.Contains(line, "event=run-finished") {
			finished++
		}
	}
	require.NotEmpty(t, addr, "run logs the metrics address")
	require.Equal(t, 2, finished)
	go func() {
		for stderr.Scan() {
		}
	}()
	base := "http://" + addr

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	sample := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := fams[name]
		require.True(t, ok, "no %s", name)
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	assert.Equal(t, 1.0, sample("mpsync_runs_total", map[string]string{"rule": "MPUpdate", "result": "ok"}))
	assert.Equal(t, 1.0, sample("mpsync_runs_total", map[string]string{"rule": "GetIntelligencePacks", "result": "ok"}))
	assert.Equal(t, 6.0, sample("mpsync_changes_total", map[string]string{"action": "import", "result": "applied"}))
	assert.Equal(t, 6.0, sample("mpsync_imported_packs", map[string]string{"owner": "workspace"}))
	assert.Equal(t, float64(f.srv.Serial()), sample("mpsync_catalog_serial", nil))
	assert.Equal(t, 1.0, sample("mpsync_scheduler_running", nil))
	assert.Equal(t, 0.0, sample("mpsync_pending_approvals", nil))
	assert.Positive(t, sample("mpsync_last_success_timestamp_seconds", map[string]string{"rule": "MPUpdate"}))
	assert.Equal(t, float64(f.srv.Stats().PackBytes), sample("mpsync_downloaded_bytes_total", nil))

	code, body := httpGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 0, waitExit(t, cmd))
	_, err = http.Get(base + "/healthz")
	assert.Error(t, err, "the endpoint stops with the command")
}

func TestMetricsAddrErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "sync", "--metrics-addr", "127.0.0.1:0")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), "--metrics-addr applies only to the run command")

	r = f.run(t, "run", "--metrics-addr", "nonsense")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, oneLineErr(t, r.stderr), `flag --metrics-addr "nonsense"`)
}
