// Package metrics exports an engine's activity as Prometheus metrics and
// answers health and readiness, for monitoring a long-running scheduler
// (Argo CD and Flux export the same kind of metrics).
//
// It is fed by the engine's events ([mpsync.dev/mpsync/event.Event], through
// mpsync.Options.OnEvent = m.Observe) and reads the engine's local state
// ([mpsync.Engine.Status]) at each scrape, so gauges such as the pending
// approvals are right after a restart too:
//
//	m := metrics.New(nil)
//	eng, _ := mpsync.New(store, &mpsync.Options{OnEvent: m.Observe, ...})
//	m.Attach(eng)
//	http.ListenAndServe("127.0.0.1:9410", m.Handler())
//
// # Metrics
//
//	mpsync_runs_total{rule,result}            runs ended (ok, failed, stale, error)
//	mpsync_changes_total{action,result}       changes acted on (applied, failed,
//	                                          pending, denied, blocked)
//	mpsync_events_total{kind}                 every engine event
//	mpsync_last_success_timestamp_seconds{rule}
//	mpsync_last_run_timestamp_seconds{rule,result}
//	mpsync_rule_enabled{rule}
//	mpsync_pending_approvals{approval}        what waits, by where it stands
//	mpsync_catalog_serial                     the last catalog's serial
//	mpsync_imported_packs{owner}              packs in the store (workspace, custom)
//	mpsync_connected{state}, mpsync_workspace_reachable
//	mpsync_scheduler_running
//	mpsync_status_up                          the status could be read
//	mpsync_downloaded_bytes_total, mpsync_downloads_total
//	mpsync_lease_holder{holder}               with Options.LeaseHolder
//
// Rules are labelled by short name (MPUpdate, GetIntelligencePacks). A new
// registry also holds the Go and process collectors.
//
// # What is not counted
//
// The engine's events carry no sizes: bytes are counted by a transport the
// workspace client sends its requests through ([Metrics.Transport]), so a
// client built with another transport, or one that configures a proxy itself
// (its transport is its own), counts none. The lease holder needs a function
// that asks the lease ([mpsync.Lease] has no such method; [mpsync.dev/mpsync/lease.Memory]
// and pgledger's Lease have Holder and State).
//
// # Health
//
// [Metrics.Handler] serves /metrics, /healthz (200 while the scheduler runs:
// between event.SchedulerStarted and event.SchedulerStopped) and /readyz (200
// when the store is connected and the last run of each enabled rule did not
// fail; 503 with the reason otherwise).
package metrics
