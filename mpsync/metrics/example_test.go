package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/metrics"
	"mpsync.dev/rules"
)

// Metrics from events. A program passes m.Observe as mpsync.Options.OnEvent,
// m.Attach(engine) once the engine exists (for the status gauges and
// /readyz), and serves m.Handler() on its metrics address.
func Example() {
	m := metrics.New(nil)
	change := &mpsync.Change{Action: plan.ActionImport, Pack: "Microsoft.SystemCenter.Advisor"}
	for _, ev := range []event.Event{
		{Kind: event.SchedulerStarted},
		{Kind: event.PlanReady, Plan: &mpsync.Plan{CatalogSerial: 42}},
		{Kind: event.ChangeApplied, Change: change},
		{Kind: event.ApprovalNeeded, Change: change},
		{Kind: event.RunFinished, Rule: rules.MPUpdate, Message: "ok"},
	} {
		m.Observe(ev)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"mpsync_runs_total", "mpsync_changes_total", "mpsync_catalog_serial", "mpsync_scheduler_running"} {
			if strings.HasPrefix(line, name) {
				fmt.Println(line)
			}
		}
	}

	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// mpsync_catalog_serial 42
	// mpsync_changes_total{action="import",result="applied"} 1
	// mpsync_changes_total{action="import",result="pending"} 1
	// mpsync_runs_total{result="ok",rule="MPUpdate"} 1
	// mpsync_scheduler_running 1
	// 200 ok: the scheduler is running
}
