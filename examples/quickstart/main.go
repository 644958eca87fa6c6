// Command quickstart shows mpsync's embedded default in a few seconds, with
// nothing else running: a fake workspace service on a loopback address, the
// workspace client, a directory store in a temporary directory, and the
// engine keeping the store in step with the workspace while the workspace
// changes.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -dir path/to/workspace
//
// The workspace it serves is the repository's testdata/workspace (found next
// to this source file, so the command works from any directory): three base
// packs and three solutions, AlertManagement and Updates enabled,
// ChangeTracking disabled. The program then walks through five steps:
//
//  1. first start: both rules run and import the base and solution packs;
//  2. ChangeTracking is enabled in the workspace: its two packs are imported;
//  3. a new version of the AlertManagement pack is published: it is upgraded;
//  4. Updates is disabled: its two packs are removed, dependents first;
//  5. the store's status: packs with provenance, rule settings, connection.
//
// Everything it creates lives in a temporary directory that is removed when it
// exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// The solutions and pack the walkthrough changes; they are in
// testdata/workspace/workspace.json.
const (
	enableSolution  = "ChangeTracking"
	disableSolution = "Updates"
	upgradePack     = "Microsoft.IntelligencePacks.AlertManagement"
	upgradeSolution = "AlertManagement"
	upgradeVersion  = "7.2.11800.0"
)

func main() {
	dir := flag.String("dir", defaultDir(), "workspace directory to serve (workspace.json and packs/*.xml)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// defaultDir returns the repository's testdata/workspace, found relative to
// this source file so that `go run` works from any working directory. When
// the source path is not available (a binary built with -trimpath), it falls
// back to testdata/workspace under the working directory.
func defaultDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "workspace")
		if _, err := os.Stat(filepath.Join(dir, "workspace.json")); err == nil {
			return dir
		}
	}
	return filepath.Join("testdata", "workspace")
}

// run is the whole walkthrough, writing what it does to w. It returns an
// error naming the step that failed.
func run(ctx context.Context, w io.Writer, dir string) (err error) {
	opts, err := mpsynctest.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("load workspace directory (choose one with -dir): %w", err)
	}
	tmp, err := os.MkdirTemp("", "mpsync-quickstart-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("remove temporary directory: %w", rmErr)
		}
	}()

	heading(w, "Setup")
	srv := mpsynctest.NewServer(opts...)
	defer srv.Close()
	fmt.Fprintf(w, "A fake workspace service listens on %s, serving %s.\n", srv.URL(), dir)
	fmt.Fprintf(w, "Its catalog lists %d packs; solutions: %s.\n", len(srv.Catalog().Packs), solutions(srv.Catalog()))

	cfg := srv.ClientConfig()
	cfg.CacheDir = filepath.Join(tmp, "cache") // the last-known catalog survives restarts here
	client, err := workspace.New(cfg)
	if err != nil {
		return fmt.Errorf("workspace client: %w", err)
	}
	st, err := store.OpenDir(filepath.Join(tmp, "store"), nil)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if cErr := st.Close(); cErr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cErr)
		}
	}()
	fmt.Fprintln(w, "The management group's packs are kept in a directory store (the embedded default).")
	engine, err := mpsync.New(st, &mpsync.Options{
		Group:     scom.ManagementGroup{Name: "Quickstart"},
		Workspace: client,
	})
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer engine.Close()

	heading(w, "1. First start: the store is connected and both rules run, MPUpdate (base packs) and\n   GetIntelligencePacks (solution packs); each pack is imported after the packs it references")
	if err := syncAndShow(ctx, w, engine); err != nil {
		return fmt.Errorf("step 1 (first sync): %w", err)
	}

	heading(w, "2. The workspace enables the "+enableSolution+" solution: its packs are imported, references first")
	srv.EnableSolution(enableSolution)
	if err := syncAndShow(ctx, w, engine); err != nil {
		return fmt.Errorf("step 2 (enable %s): %w", enableSolution, err)
	}

	heading(w, "3. The workspace publishes "+upgradePack+" "+upgradeVersion+": it is upgraded, the old version kept for rollback")
	refs, err := packReferences(dir, upgradePack)
	if err != nil {
		return fmt.Errorf("step 3 (publish %s): %w", upgradePack, err)
	}
	srv.Publish(upgradePack, upgradeVersion, catalog.ChannelSolution, upgradeSolution,
		mpsynctest.Pack(upgradePack, upgradeVersion, refs...))
	if err := syncAndShow(ctx, w, engine); err != nil {
		return fmt.Errorf("step 3 (upgrade %s): %w", upgradePack, err)
	}

	heading(w, "4. The workspace disables the "+disableSolution+" solution: its packs are removed, dependents first")
	srv.DisableSolution(disableSolution)
	if err := syncAndShow(ctx, w, engine); err != nil {
		return fmt.Errorf("step 4 (disable %s): %w", disableSolution, err)
	}

	heading(w, "5. Status of the management group")
	status, err := engine.Status(ctx)
	if err != nil {
		return fmt.Errorf("step 5 (status): %w", err)
	}
	writeStatus(w, status)
	s := srv.Stats()
	fmt.Fprintf(w, "\nThe service answered %d catalog requests (%d of them 304 Not Modified) and %d pack downloads.\n",
		s.CatalogRequests, s.NotModified, s.PackRequests)
	return nil
}

func heading(w io.Writer, title string) {
	fmt.Fprintf(w, "\n== %s\n\n", title)
}

// syncAndShow runs both rules once and prints the report. A change that
// failed is returned as an error: the walkthrough expects every change to
// apply.
func syncAndShow(ctx context.Context, w io.Writer, e *mpsync.Engine) error {
	rep, err := e.Sync(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(w, rep.String())
	counts := map[plan.Action]int{}
	for _, o := range rep.Applied() {
		counts[o.Action]++
	}
	fmt.Fprintf(w, "Applied: %d imported, %d upgraded, %d removed.\n",
		counts[plan.ActionImport], counts[plan.ActionUpgrade], counts[plan.ActionRemove])
	return rep.Err()
}

// packReferences returns the references of the pack file for id in the
// workspace directory, so that a new version references what the old one did.
func packReferences(dir, id string) ([]pack.Reference, error) {
	name := filepath.Join(dir, "packs", id+".xml")
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := pack.ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("%s: manifest declares %s, want %s", name, m.ID, id)
	}
	return m.References, nil
}

func solutions(c *catalog.Catalog) string {
	var parts []string
	for _, s := range c.Solutions {
		state := "disabled"
		if s.Enabled {
			state = "enabled"
		}
		parts = append(parts, s.Name+" ("+state+")")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// writeStatus prints a compact view of a status.Snapshot: the packs with
// their provenance, each rule's effective settings with where they come
// from, and the connection.
func writeStatus(w io.Writer, s *status.Snapshot) {
	fmt.Fprintf(w, "Packs (%d):\n", len(s.Packs))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PACK\tVERSION\tOWNER\tRULE\tSOLUTION\tPREVIOUS")
	for _, p := range s.Packs {
		rule, prev := "-", "-"
		if p.Rule != "" {
			rule = rules.Rule(p.Rule).ShortName()
		}
		if p.Previous != nil {
			prev = p.Previous.Version.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Version, p.Owner, rule, dash(p.Solution), prev)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nRules:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RULE\tENABLED\tFREQUENCY\tSOURCE\tLAST RUN\tRESULT")
	for _, r := range s.Rules {
		last := "never"
		if !r.LastRun.IsZero() {
			last = r.LastRun.Local().Format(time.TimeOnly)
		}
		fmt.Fprintf(tw, "  %s\t%t\t%d s\t%s\t%s\t%s\n", r.Rule.ShortName(), r.Enabled,
			int64(r.Frequency/time.Second), settingsSource(r), last, dash(string(r.LastResult)))
	}
	tw.Flush()

	c := s.Connection
	fmt.Fprintf(w, "\nConnection: %s to workspace %s since %s, %d configuration parts applied.\n",
		c.State, c.WorkspaceID, c.Since().Local().Format(time.TimeOnly), len(c.Parts))
	health := "reachable"
	if !s.Workspace.Reachable {
		health = "unreachable: " + s.Workspace.LastError
	}
	fmt.Fprintf(w, "Workspace service: %s, catalog serial %d.\n", health, s.Workspace.LastCatalogSerial)
	if n := len(s.Pending); n > 0 {
		fmt.Fprintf(w, "%d changes wait for approval.\n", n)
	}
}

// settingsSource says where a rule's settings come from: "default", or the
// overrides that set Enabled and Frequency.
func settingsSource(r status.Rule) string {
	if r.EnabledSource.Default && r.FrequencySource.Default {
		return "default"
	}
	return "Enabled: " + r.EnabledSource.String() + "; Frequency: " + r.FrequencySource.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
