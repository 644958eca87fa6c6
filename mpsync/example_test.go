package mpsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"mpsync.dev/mpsync/scom"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// exampleWorkspace starts the fake workspace service on a loopback address,
// serving the repository's sample workspace: three base packs, the
// AlertManagement and Updates solutions enabled (three packs), ChangeTracking
// disabled. A real program configures workspace.Config with the service's
// BaseURL, the WorkspaceID and the Key instead.
func exampleWorkspace() *mpsynctest.Server {
	opts, err := mpsynctest.LoadDir(filepath.Join("..", "testdata", "workspace"))
	if err != nil {
		log.Fatal(err)
	}
	return mpsynctest.NewServer(opts...)
}

// Embedding mpsync: open the directory store, make a workspace client, create
// the engine and run both rules once. A long-running program calls
// engine.Start(ctx) instead of Sync, and engine.Close() when it ends.
func Example() {
	ctx := context.Background()
	srv := exampleWorkspace()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "mpsync-example-") // e.g. /var/lib/mpsync
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	client, err := workspace.New(srv.ClientConfig())
	if err != nil {
		log.Fatal(err)
	}
	engine, err := mpsync.New(st, &mpsync.Options{
		Group:     scom.ManagementGroup{Name: "Contoso", Language: "ENU"},
		Workspace: client,
		// Approver nil approves every change; Ledger nil keeps the audit
		// trail in the store; Settings nil uses the rules' defaults.
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	rep, err := engine.Sync(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		log.Fatal(err)
	}
	conn, err := engine.Connection(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("packs imported:", len(rep.Applied()))
	fmt.Println("connection:", conn.State)
	// Output:
	// packs imported: 6
	// connection: connected
}

// Plan is a dry run: it fetches the catalog and says what a run would do, in
// the order it would do it, without changing the store.
func ExampleEngine_Plan() {
	ctx := context.Background()
	srv := exampleWorkspace()
	defer srv.Close()
	client, err := workspace.New(srv.ClientConfig())
	if err != nil {
		log.Fatal(err)
	}
	st := store.NewMemory()
	engine, err := mpsync.New(st, &mpsync.Options{Workspace: client})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	plan, err := engine.Plan(ctx, rules.MPUpdate)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range plan.Actionable() {
		fmt.Println(c.Action, c.Pack, c.To)
	}
	held, err := st.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("packs in the store:", len(held))
	// Output:
	// import Microsoft.SystemCenter.Advisor 7.1.10226.1239
	// import Microsoft.SystemCenter.Advisor.Internal 7.1.10226.1239
	// import Microsoft.SystemCenter.Advisor.Resources.ENU 7.1.10226.1239
	// packs in the store: 0
}

// Disconnect removes the integration: the workspace's packs go, dependents
// first, except the two core Advisor packs; the rules then refuse to run
// until Connect.
func ExampleEngine_Disconnect() {
	ctx := context.Background()
	srv := exampleWorkspace()
	defer srv.Close()
	client, err := workspace.New(srv.ClientConfig())
	if err != nil {
		log.Fatal(err)
	}
	engine, err := mpsync.New(store.NewMemory(), &mpsync.Options{Workspace: client})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	if _, err := engine.Sync(ctx); err != nil {
		log.Fatal(err)
	}

	drep, err := engine.Disconnect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range drep.Removed {
		fmt.Println("removed", e.ID)
	}
	for _, k := range drep.Kept {
		fmt.Println("kept", k.ID)
	}
	fmt.Println("connection parts removed:", len(drep.PartsRemoved))

	_, err = engine.Sync(ctx)
	fmt.Println("sync after disconnect refused:", errors.Is(err, mpsync.ErrNotConnected))
	// Output:
	// removed Microsoft.IntelligencePacks.AlertManagement
	// removed Microsoft.IntelligencePacks.UpdateAssessment.Configuration
	// removed Microsoft.IntelligencePacks.UpdateAssessment
	// removed Microsoft.SystemCenter.Advisor.Resources.ENU
	// kept Microsoft.SystemCenter.Advisor
	// kept Microsoft.SystemCenter.Advisor.Internal
	// connection parts removed: 5
	// sync after disconnect refused: true
}

// Operators tune the rules with override packs, as in the Operations console:
// here GetIntelligencePacks runs hourly and MPUpdate is disabled. The engine
// reads the directory before every run, so an edited pack takes effect
// without a restart.
func ExampleOptions_overrideFiles() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "mpsync-overrides-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	doc, err := overrides.NewPack("Contoso.Advisor.Overrides", "Contoso Advisor overrides", pack.MustParseVersion("1.0.0.0"), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := doc.SetFrequency(string(rules.GetIntelligencePacks), 3600, nil); err != nil {
		log.Fatal(err)
	}
	if _, err := doc.SetEnabled(string(rules.MPUpdate), false, nil); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "Contoso.Advisor.Overrides.xml"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := doc.WriteTo(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	settings := rules.FromOverrides(overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}}), overrides.Target{})
	for _, r := range rules.All() {
		s, err := settings.Settings(ctx, r)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: enabled=%t every %v\n  Enabled from %s\n  Frequency from %s\n",
			r.ShortName(), s.Enabled, s.Frequency, s.EnabledSource, s.FrequencySource)
	}

	// The engine takes the source as Options.Settings.
	engine, err := mpsync.New(store.NewMemory(), &mpsync.Options{Settings: settings})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	status, err := engine.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", status.Rules[0].Rule.ShortName(), "enabled", status.Rules[0].Enabled)
	// Output:
	// MPUpdate: enabled=false every 12h0m0s
	//   Enabled from override Contoso.Advisor.Overrides.MPUpdate.Enabled in pack Contoso.Advisor.Overrides 1.0.0.0 (class scope)
	//   Frequency from default
	// GetIntelligencePacks: enabled=true every 1h0m0s
	//   Enabled from default
	//   Frequency from override Contoso.Advisor.Overrides.GetIntelligencePacksRule.Frequency in pack Contoso.Advisor.Overrides 1.0.0.0 (class scope)
	// status: MPUpdate enabled false
}

// An operator imports a pack by hand: it goes through sync's checks and is
// the operator's from then on. A downgrade, or a reference nothing
// satisfies, is refused with the reason, and the store stays as it was.
func ExampleEngine_Import() {
	ctx := context.Background()
	st := store.NewMemory()
	engine, err := mpsync.New(st, &mpsync.Options{
		// The 2022 release's platform libraries satisfy the references.
		Group: scom.ManagementGroup{Name: "Contoso", Version: pack.MustParseVersion("10.22.10118.0")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	scLib := mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")

	res, err := engine.Import(ctx, bytes.NewReader(mpsynctest.Pack("Contoso.Monitoring", "2.0.0.0", scLib)),
		mpsync.ImportOptions{Source: "Contoso.Monitoring.xml", By: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("imported", res.Entry.ID, res.Entry.Version, "owner", res.Entry.Owner)

	_, err = engine.Import(ctx, bytes.NewReader(mpsynctest.Pack("Contoso.Monitoring", "1.0.0.0", scLib)),
		mpsync.ImportOptions{Source: "old.xml"})
	fmt.Println(errors.Is(err, mpsync.ErrImportRefused))

	missing := mpsynctest.PlatformReference("Lib", "Contoso.Library", "1.0.0.0")
	_, err = engine.Import(ctx, bytes.NewReader(mpsynctest.Pack("Contoso.Extra", "1.0.0.0", missing)),
		mpsync.ImportOptions{Source: "extra.xml"})
	fmt.Println(errors.Is(err, pack.ErrUnsatisfied))
	// Output:
	// imported Contoso.Monitoring 2.0.0.0 owner custom
	// true
	// true
}
