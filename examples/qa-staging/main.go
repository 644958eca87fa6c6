// Command qa-staging simulates two weeks of a change-controlled pipeline with
// two management groups connected to one workspace, in a few seconds:
//
//   - QA imports whatever the workspace publishes, at once (approval.Auto);
//   - Production imports a pack version only after the exact same pack has
//     soaked in QA for 72 hours (approval.NewPromotion) AND only inside the
//     change window, Saturday 02:00 to 06:00 Berlin time (approval.ParseWindow).
//     Both must agree (approval.All).
//
// The groups share one ledger (ledger.NewMemory), which is where Production's
// promotion approver finds QA's evidence and where QA's operators mark a bad
// version so that it is never promoted (approval.MarkBad).
//
// A manual clock per group (mpsynctest.ManualClock) stands in for real time:
// the program steps both groups one hour at a time through their real
// schedules (MPUpdate every 12 hours, GetIntelligencePacks every 5 minutes)
// with mpsynctest.Drive. In the first week both groups connect and Production
// takes the initial packs in Saturday's window. In the second, the workspace
// publishes a new UpdateAssessment version that QA marks bad (it never reaches
// Production), then a fix (promoted on Saturday), then an AlertManagement
// version too late to finish its soak before the window closes (it waits for
// the next Saturday). The program prints a timeline of when each pack version
// reached each group and why, and a summary table read from the shared ledger.
//
//	go run ./examples/qa-staging
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // the window is in Europe/Berlin even where the system has no zone database

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// The pipeline's parameters.
const (
	qaGroup   = "QA"
	prodGroup = "Production"
	soak      = 72 * time.Hour
	// The change window: Saturdays 02:00 for 4 hours, Berlin wall-clock time.
	windowCron     = "0 2 * * SAT"
	windowDuration = 4 * time.Hour
	windowZone     = "Europe/Berlin"
	// step is how far both groups advance before the other one moves.
	step = time.Hour
)

// Packs the week's story changes.
const (
	updatesPack = "Microsoft.IntelligencePacks.UpdateAssessment"
	alertPack   = "Microsoft.IntelligencePacks.AlertManagement"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "qa-staging:", err)
		os.Exit(1)
	}
}

// group is one management group of the pipeline.
type group struct {
	name   string
	clock  *mpsynctest.ManualClock
	engine *mpsync.Engine
	// last is, per pack and target version, the last outcome printed, so the
	// timeline shows changes of state rather than every 5-minute run.
	last map[string]string
	// latest is the last outcome of each pack, for the summary.
	latest map[string]mpsync.Outcome
}

// simulation is what run leaves for its caller to inspect: the shared ledger
// holds every decision and result of both groups.
type simulation struct {
	Ledger *ledger.Memory
	Window *approval.Window
	// Bad is the pack version QA marked bad.
	Bad ledger.Query
	// Late is the pack version published too late in the week to soak before
	// the window closed.
	Late ledger.Query
}

// happening is something that happens to the workspace or in QA at a moment
// of the simulation.
type happening struct {
	at   time.Time
	what string
	do   func(ctx context.Context) error
}

// run simulates the two weeks and writes the timeline and summary to w.
func run(ctx context.Context, w io.Writer) (*simulation, error) {
	// Two weeks from Monday 2026-11-16 09:00 UTC: in the first, both
	// groups connect and Production takes the initial packs in Saturday's
	// window; in the second, the workspace publishes new versions midweek.
	start := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	week2 := start.Add(7 * 24 * time.Hour)
	end := week2.Add(7 * 24 * time.Hour)
	dir := workspaceDir()
	opts, err := mpsynctest.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load workspace directory: %w", err)
	}
	srv := mpsynctest.NewWorkspace(opts...) // in memory: no network needed
	shared := ledger.NewMemory()

	promotion, err := approval.NewPromotion(shared, qaGroup, soak)
	if err != nil {
		return nil, fmt.Errorf("promotion approver: %w", err)
	}
	window, err := approval.ParseWindow(windowCron, windowDuration, windowZone)
	if err != nil {
		return nil, fmt.Errorf("change window: %w", err)
	}
	prodApprover, err := approval.All(promotion, window)
	if err != nil {
		return nil, fmt.Errorf("production approver: %w", err)
	}

	// Production aligns its runs to the window's opening, as SCOM's SyncTime
	// does: MPUpdate then runs at 02:00 and 14:00 Berlin time, once inside
	// each window. On the default grid (00:00 and 12:00 UTC) the 12-hour
	// rule would never run between 02:00 and 06:00 Berlin time in winter,
	// and the base packs would never reach Production.
	berlin := window.Allow()[0].Location()
	aligned := rules.ScheduleOptions{SyncTime: "02:00", Location: berlin}

	qa, err := newGroup(qaGroup, start, srv, shared, approval.Auto(), rules.ScheduleOptions{})
	if err != nil {
		return nil, err
	}
	defer qa.engine.Close()
	prod, err := newGroup(prodGroup, start, srv, shared, prodApprover, aligned)
	if err != nil {
		return nil, err
	}
	defer prod.engine.Close()

	refs, err := references(dir, updatesPack, alertPack)
	if err != nil {
		return nil, err
	}
	bad := pack.MustParseVersion("7.2.11750.0")
	publish := func(id, version, solution string) func(context.Context) error {
		return func(context.Context) error {
			srv.Publish(id, version, catalog.ChannelSolution, solution, mpsynctest.Pack(id, version, refs[id]...))
			return nil
		}
	}
	week := []happening{
		{week2.Add(6 * time.Hour), "the workspace publishes " + updatesPack + " " + bad.String(),
			publish(updatesPack, bad.String(), "Updates")},
		{week2.Add(25 * time.Hour), "QA's on-call marks " + updatesPack + " " + bad.String() + " bad (duplicate alerts)",
			func(ctx context.Context) error {
				return approval.MarkBad(ctx, shared, approval.BadMark{
					Group: qaGroup, Pack: updatesPack, Version: bad, By: "qa-oncall",
					Reason: "duplicate alerts after the upgrade", Time: qa.clock.Now(),
				})
			}},
		{week2.Add(33 * time.Hour), "the workspace publishes the fix, " + updatesPack + " 7.2.11760.0",
			publish(updatesPack, "7.2.11760.0", "Updates")},
		{week2.Add(51 * time.Hour), "the workspace publishes " + alertPack + " 7.2.11800.0",
			publish(alertPack, "7.2.11800.0", "AlertManagement")},
	}

	fmt.Fprintf(w, "Simulating %s to %s (times below are %s).\n", stamp(start, berlin), stamp(end, berlin), windowZone)
	fmt.Fprintf(w, "QA approves everything; Production approves %s.\n", approval.Name(prodApprover))
	fmt.Fprintln(w, "Production needs both: the exact pack soaked 72 h in QA, and the Saturday 02:00-06:00 window;")
	fmt.Fprintln(w, "its rules run aligned to 02:00 so that the 12-hour MPUpdate falls inside the window.")
	fmt.Fprintln(w, "\nTimeline (each change of state; the approvers' reasons quote times in UTC or with their offset)")

	for now := start; now.Before(end); now = now.Add(step) {
		for len(week) > 0 && !week[0].at.After(now) {
			fmt.Fprintf(w, "%s  ** %s\n", stamp(now, berlin), week[0].what)
			if err := week[0].do(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", week[0].what, err)
			}
			week = week[1:]
		}
		// QA moves first in each step, so Production sees QA's evidence
		// from the same hour, as it would from the shared ledger.
		for _, g := range []*group{qa, prod} {
			reps, err := mpsynctest.Drive(ctx, g.engine, g.clock, now.Add(step))
			if err != nil {
				return nil, fmt.Errorf("%s: drive to %s: %w", g.name, now.Add(step).Format(time.RFC3339), err)
			}
			for _, rep := range reps {
				if err := rep.Err(); err != nil {
					return nil, fmt.Errorf("%s: run at %s: %w", g.name, rep.Started.Format(time.RFC3339), err)
				}
				g.show(w, rep, berlin)
			}
		}
	}

	if err := summary(ctx, w, shared, qa, prod, berlin); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nThe shared ledger holds %d records: every decision and result of both groups.\n", shared.Len())
	return &simulation{
		Ledger: shared,
		Window: window,
		Bad:    ledger.Query{Pack: updatesPack, Version: bad},
		Late:   ledger.Query{Pack: alertPack, Version: pack.MustParseVersion("7.2.11800.0")},
	}, nil
}

// workspaceDir returns the repository's testdata/workspace, found relative to
// this source file so that `go run` works from any working directory.
func workspaceDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "workspace")
		if _, err := os.Stat(filepath.Join(dir, "workspace.json")); err == nil {
			return dir
		}
	}
	return filepath.Join("testdata", "workspace")
}

// newGroup makes a management group with its own store, clock and workspace
// client, writing to the shared ledger.
func newGroup(name string, start time.Time, srv *mpsynctest.Server, shared ledger.Ledger, a approval.Approver, sched rules.ScheduleOptions) (*group, error) {
	client, err := workspace.New(srv.ClientConfig())
	if err != nil {
		return nil, fmt.Errorf("%s: workspace client: %w", name, err)
	}
	clock := mpsynctest.NewManualClock(start)
	e, err := mpsync.New(store.NewMemory(), &mpsync.Options{
		Group:     scom.ManagementGroup{Name: name},
		Workspace: client,
		Approver:  a,
		Ledger:    shared,
		Clock:     clock,
		Schedule:  sched,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: engine: %w", name, err)
	}
	return &group{name: name, clock: clock, engine: e, last: map[string]string{}, latest: map[string]mpsync.Outcome{}}, nil
}

// references returns the references of the packs in the workspace
// directory, so that new versions keep the references of the old ones.
func references(dir string, ids ...string) (map[string][]pack.Reference, error) {
	out := map[string][]pack.Reference{}
	for _, id := range ids {
		name := filepath.Join(dir, "packs", id+".xml")
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("references of %s: %w", id, err)
		}
		m, err := pack.ReadManifest(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("references of %s: %s: %w", id, name, err)
		}
		out[id] = m.References
	}
	return out, nil
}

// show prints the outcomes of rep whose state differs from the last one
// printed for the same pack and target version.
func (g *group) show(w io.Writer, rep *mpsync.Report, loc *time.Location) {
	for _, o := range rep.Outcomes {
		if o.Action == plan.ActionKeep {
			continue
		}
		g.latest[o.Pack] = o
		key := o.Pack + " " + o.To.String()
		if st := state(o); g.last[key] != st {
			g.last[key] = st
		} else {
			continue
		}
		version := o.To
		if o.Action == plan.ActionRemove {
			version = o.From
		}
		fmt.Fprintf(w, "%s  %-10s  %-7s %s %s: %s\n", stamp(rep.Started, loc), g.name, o.Action, o.Pack, version, o.Result)
		if r := why(o); r != "" {
			fmt.Fprintf(w, "%18s    %s\n", "", r)
		}
	}
}

// state is what the timeline compares to decide whether an outcome is news:
// a change that waits for another is one state whatever it waits for, and a
// pending change changes state when the approvers that hold it back, or
// the time they name, change.
func state(o mpsync.Outcome) string {
	switch {
	case o.Result == mpsync.ResultSkipped:
		return string(o.Result)
	case o.Decision != nil:
		return string(o.Result) + "|" + o.Decision.By + "|" + o.Decision.NotBefore.String()
	default:
		return string(o.Result) + "|" + o.Reason
	}
}

// why says why an outcome is what it is: the approvers' reasons, or the
// engine's for a change that did not ask.
func why(o mpsync.Outcome) string {
	switch {
	case o.Decision != nil && o.Result == mpsync.ResultApplied:
		return "approved: " + o.Decision.Reason
	case o.Decision != nil:
		return string(o.Decision.Verdict) + ": " + o.Decision.Reason
	case o.Err != nil:
		return o.Err.Error()
	default:
		return o.Reason
	}
}

// summary prints, for every pack version QA imported, when it reached each
// group, reading the shared ledger.
func summary(ctx context.Context, w io.Writer, l ledger.Ledger, qa, prod *group, loc *time.Location) error {
	applied := func(g string) (map[string]ledger.Record, error) {
		recs, err := l.Query(ctx, ledger.Query{Kind: ledger.KindResult, Group: g})
		if err != nil {
			return nil, fmt.Errorf("summary: ledger of %s: %w", g, err)
		}
		out := map[string]ledger.Record{}
		for _, r := range recs {
			if r.Result == string(mpsync.ResultApplied) && r.Action != plan.ActionRemove {
				out[r.Pack+" "+r.Version.String()] = r
			}
		}
		return out, nil
	}
	inQA, err := applied(qa.name)
	if err != nil {
		return err
	}
	inProd, err := applied(prod.name)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(inQA))
	for k := range inQA {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ra, rb := inQA[a], inQA[b]
		if c := strings.Compare(ra.Pack, rb.Pack); c != 0 {
			return c
		}
		return ra.Version.Compare(rb.Version)
	})

	fmt.Fprintln(w, "\nSummary: when each pack version reached each group")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PACK\tVERSION\tIN QA SINCE\tIN PRODUCTION SINCE\tSOAKED")
	for _, k := range keys {
		q := inQA[k]
		prodCol, soaked := "-", "-"
		if p, ok := inProd[k]; ok {
			prodCol = stamp(p.Time, loc)
			soaked = fmt.Sprintf("%.0f h", p.Time.Sub(q.Time).Hours())
		} else {
			if prodCol, err = notPromoted(ctx, l, prod, q, loc); err != nil {
				return err
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", q.Pack, q.Version, stamp(q.Time, loc), prodCol, soaked)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return nil
}

// notPromoted says why a version QA imported is not in Production.
func notPromoted(ctx context.Context, l ledger.Ledger, prod *group, q ledger.Record, loc *time.Location) (string, error) {
	bad, err := l.Query(ctx, ledger.Query{Kind: ledger.KindMarkBad, Pack: q.Pack, Version: q.Version})
	if err != nil {
		return "", fmt.Errorf("summary: mark-bad records of %s %s: %w", q.Pack, q.Version, err)
	}
	if len(bad) > 0 {
		return "never: marked bad by " + bad[0].By, nil
	}
	o, ok := prod.latest[q.Pack]
	if ok && o.To.Equal(q.Version) && o.Result == mpsync.ResultPending && o.Decision != nil && !o.Decision.NotBefore.IsZero() {
		return "waiting until " + stamp(o.Decision.NotBefore, loc), nil
	}
	return "no: superseded before promotion", nil
}

// stamp formats t for the timeline, in loc.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 02 Jan 15:04")
}
