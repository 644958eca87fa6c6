package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/event"

	"mpsync.dev/mpsync/storage"

	"mpsync.dev/internal/safetext"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/metrics"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/pgstore"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// statusProbeTimeout bounds the catalog request status makes to tell whether
// the service is reachable.
const statusProbeTimeout = 20 * time.Second

// app is one invocation of the command.
type app struct {
	cfg            *config
	cmd            string
	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
	level          *slog.LevelVar // log's level
	progress       *progress

	// wroteJSON is set once the command wrote its document to stdout.
	wroteJSON bool

	group    scom.ManagementGroup
	settings mpsync.SettingsSource
	rules    []rules.Rule
	// platform is the --platform inventory; nil: the engine's default.
	platform pack.Inventory
	// metrics, for run with --metrics-addr, counts the engine's events.
	metrics *metrics.Metrics
}

// dispatch checks the configuration the command needs and runs it.
func (a *app) dispatch(ctx context.Context, args []string) error {
	switch a.cmd {
	case "serve-workspace":
		return a.serveWorkspace(ctx)
	case "approval":
		return a.approvalCommand(args)
	case "rebuild-store":
		return a.rebuildStore()
	}
	if err := a.prepare(ctx); err != nil {
		return err
	}
	switch a.cmd {
	case "plan":
		return a.plan(ctx)
	case "sync":
		return a.sync(ctx)
	case "status":
		return a.status(ctx)
	case "approve":
		return a.approve(ctx, args)
	case "import":
		return a.importPacks(ctx, args)
	case "connect":
		return a.connect(ctx)
	case "disconnect":
		return a.disconnect(ctx)
	case "run":
		return a.runScheduler(ctx)
	case "validate":
		return a.validate(ctx)
	case "rollback":
		return a.rollback(ctx, args)
	case "override":
		return a.override(ctx)
	case "repair":
		return a.repair(ctx)
	}
	return shapef("unknown command %q", a.cmd)
}

// prepare reads and checks the flags every store command shares: the
// management group, the rule selection, the approval mode, the platform
// inventory and the override packs (loaded once here, so an invalid one
// stops the command before it touches anything).
func (a *app) prepare(ctx context.Context) error {
	c := a.cfg
	a.group = scom.ManagementGroup{Name: c.mgName, Language: c.language}
	if c.mgVersion != "" {
		v, err := pack.ParseVersion(c.mgVersion)
		if err != nil {
			return usagef("flag --mg-version %q: %v (want Major.Minor.Build.Revision, e.g. 7.2.11719.0)", c.mgVersion, err)
		}
		a.group.Version = v
	}
	if c.language == "" || strings.ContainsFunc(c.language, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		return usagef("flag --language %q: want a language code of letters and digits, e.g. ENU", c.language)
	}
	if !strings.EqualFold(c.rule, "all") {
		r, err := rules.Parse(c.rule)
		if err != nil {
			return usagef("flag --rule %q: unknown rule (want MPUpdate, GetIntelligencePacks, a full rule id, or all)", c.rule)
		}
		if a.cmd == "run" {
			return usagef("flag --rule: run always runs both rules on their schedules; disable one with an override pack (mpsync override)")
		}
		a.rules = []rules.Rule{r}
	}
	if c.approvalFile != "" {
		// Read once here so a bad file stops the command before it opens
		// the store; newEngine reads it again over the store.
		if _, err := loadPolicy(c.approvalFile, store.NewMemory(), ledger.NewMemory()); err != nil {
			return err
		}
	} else if _, err := approval.ParseMode(c.approval, store.NewMemory()); err != nil {
		return usagef("flag --approval: %v", err)
	}
	if c.proxyUser != "" && c.proxy == "" {
		return usagef("flag --proxy-user needs --proxy")
	}
	if c.proxyPasswordFile != "" && c.proxyUser == "" {
		return usagef("flag --proxy-password-file needs --proxy-user")
	}
	if c.platform != "" {
		inv, err := scom.LoadInventory(c.platform)
		if err != nil {
			// The error names the file: "platform inventory FILE: line 4: ...".
			return usagef("flag --platform: %v", err)
		}
		a.platform = inv
	}
	if len(c.overrides) > 0 {
		src := overrides.NewSource(overrides.SourceOptions{Paths: c.overrides, Logger: a.log})
		// The first load's problems are this command's error line; the
		// source's own warning would repeat it.
		saved := a.level.Level()
		a.level.Set(slog.LevelError)
		_, err := src.Load(ctx)
		a.level.Set(saved)
		if err != nil {
			return usagef("invalid override pack: %v", err)
		}
		a.settings = rules.FromOverrides(src, overrides.Target{})
	}
	return nil
}

// cmdStore is what the commands need of a store: the engine's Store, a
// name for messages and Close. *store.Dir (--store) and pgStore
// (--database) implement it; a store that offers batches keeps offering
// them through it.
type cmdStore interface {
	mpsync.Store
	Path() string
	Close() error
}

// pgStore is the PostgreSQL store as a cmdStore: Path names the database
// without its password.
type pgStore struct{ *pgstore.Store }

func (p pgStore) Path() string { return p.String() }

// openStore opens the --database store when one is given, else the --store
// directory; the caller closes it.
func (a *app) openStore(ctx context.Context) (cmdStore, error) {
	if a.cfg.database != "" {
		st, err := pgstore.Open(ctx, a.cfg.database, &pgstore.Options{Group: a.groupName(), Logger: a.log})
		if err != nil {
			// pgstore's errors never hold the DSN's password.
			return nil, fmt.Errorf("open database store: %w", err)
		}
		return pgStore{st}, nil
	}
	// Commands that only read the store, or write only its records (an
	// approval, the run history), open it beside a running scheduler: an
	// operator approves without stopping `mpsync run`.
	shared := map[string]bool{"status": true, "plan": true, "approve": true, "validate": true}[a.cmd]
	lockTimeout := a.cfg.lockTimeout
	if lockTimeout == 0 {
		lockTimeout = -1 // "0": do not wait; DirOptions reads zero as the default
	}
	st, err := store.OpenDir(a.cfg.store, &store.DirOptions{Logger: a.log, Shared: shared, LockTimeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", a.cfg.store, err)
	}
	return st, nil
}

// groupName is the management group's name as the database store and its
// lease know it: --mg-name, or pgstore's default.
func (a *app) groupName() string {
	if a.group.Name != "" {
		return a.group.Name
	}
	return pgstore.DefaultGroup
}

// workspaceClient builds the client of the --workspace-* flags. When none of
// them is given and the command can do without, it returns nil.
func (a *app) workspaceClient(required bool) (*workspace.Client, error) {
	c := a.cfg
	if c.workspaceURL == "" && c.workspaceID == "" && c.workspaceKeyFile == "" && !required {
		return nil, nil
	}
	var missing []string
	if c.workspaceURL == "" {
		missing = append(missing, "--workspace-url (MPSYNC_WORKSPACE_URL)")
	}
	if c.workspaceID == "" {
		missing = append(missing, "--workspace-id (MPSYNC_WORKSPACE_ID)")
	}
	if c.workspaceKeyFile == "" {
		missing = append(missing, "--workspace-key-file (MPSYNC_WORKSPACE_KEY_FILE)")
	}
	if len(missing) > 0 {
		return nil, usagef("%s needs %s", a.cmd, strings.Join(missing, ", "))
	}
	key, err := readSecretFile("workspace-key-file", c.workspaceKeyFile)
	if err != nil {
		return nil, err
	}
	var password string
	if c.proxyPasswordFile != "" {
		if password, err = readSecretFile("proxy-password-file", c.proxyPasswordFile); err != nil {
			return nil, err
		}
	}
	cacheDir := filepath.Join(c.store, "cache")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("catalog cache %s: %w", cacheDir, unwrapPathError(err))
	}
	wc := workspace.Config{
		BaseURL: c.workspaceURL, WorkspaceID: c.workspaceID, Key: key,
		Proxy: c.proxy, ProxyUser: c.proxyUser, ProxyPassword: password,
		AllowHTTP: c.allowHTTP, CacheDir: cacheDir, Logger: a.log,
		RetryMax: c.retries,
	}
	if c.retries == 0 {
		wc.RetryMax = -1 // the client's 0 means its default
	}
	// The progress line and the metrics count pack bytes through the
	// transport; with --proxy the client builds its own and none are counted.
	if (a.progress.on || a.metrics != nil) && c.proxy == "" {
		if base, ok := http.DefaultTransport.(*http.Transport); ok {
			tr := base.Clone()
			tr.Proxy = nil // the client never consults the environment's proxy
			var rt http.RoundTripper = tr
			if a.metrics != nil {
				rt = a.metrics.Transport(rt)
			}
			if a.progress.on {
				rt = a.progress.transport(rt)
			}
			wc.Transport = rt
		}
	}
	cl, err := workspace.New(wc)
	if err != nil {
		if errors.Is(err, workspace.ErrConfig) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	return cl, nil
}

// newEngine builds the engine over st, with ws (nil for local commands).
func (a *app) newEngine(st cmdStore, ws *workspace.Client) (*mpsync.Engine, error) {
	// One ledger serves the engine and a policy's promotion, so that the
	// promotion reads what the engine recorded: the store's own, or with
	// --database pgledger's table in the same database, which every group
	// and server sharing the database reads.
	var led ledger.Ledger = ledger.NewJSONL(st)
	pg, isPG := st.(pgStore)
	if isPG {
		led = pg.Ledger()
	}
	var appr approval.Approver
	if a.cfg.approvalFile != "" {
		pf, err := loadPolicy(a.cfg.approvalFile, st, led)
		if err != nil {
			return nil, err
		}
		appr = pf.Approver()
	} else {
		var err error
		if appr, err = approval.ParseMode(a.cfg.approval, st); err != nil {
			return nil, usagef("flag --approval: %v", err)
		}
	}
	opts := &mpsync.Options{
		Ledger:   led,
		Group:    a.group,
		Approver: appr,
		// status lists, and approve decides through, the store's manual
		// queue whatever --approval says.
		Queue:    approval.NewManual(st),
		Settings: a.settings,
		// No Proxy: the engine learns the proxy from the workspace client
		// (--proxy, --proxy-user), so the two cannot disagree.
		Platform: a.platform,
		Logger:   a.log,
		OnEvent:  a.onEvent,
		// The removal guard: a catalog that would remove most of the
		// workspace's packs at once waits for --max-removal-share 100%.
		MaxRemovalShare: a.cfg.removalShare,
	}
	if ws != nil {
		opts.Workspace = ws
	}
	if isPG && a.cmd == "run" {
		// Several `mpsync run` on one database: the lease decides which
		// runs the rules, and binds the store so that a holder paused past
		// its lease writes nothing (fencing). Other commands write as the
		// operator, unfenced.
		host, _ := os.Hostname()
		opts.Lease = pg.Lease(a.groupName())
		opts.Holder = fmt.Sprintf("%s/%d", host, os.Getpid())
		opts.LeaseTTL = a.cfg.leaseTTL
	}
	eng, err := mpsync.New(st, opts)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return eng, nil
}

// withEngine opens the store, the workspace client and the engine, runs fn,
// and closes them. needWS says whether the command needs the service.
func (a *app) withEngine(ctx context.Context, needWS bool, fn func(st cmdStore, ws *workspace.Client, eng *mpsync.Engine) error) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, err := a.workspaceClient(needWS)
	if err != nil {
		return err
	}
	eng, err := a.newEngine(st, ws)
	if err != nil {
		return err
	}
	defer eng.Close()
	return fn(st, ws, eng)
}

// onEvent feeds the progress line and, for run, the log.
func (a *app) onEvent(ev event.Event) {
	a.progress.event(ev)
	if a.metrics != nil {
		a.metrics.Observe(ev)
	}
	attrs := []any{"event", string(ev.Kind)}
	if ev.Rule != "" {
		attrs = append(attrs, "rule", ev.Rule.ShortName())
	}
	if ev.Change != nil {
		attrs = append(attrs, "change", ev.Change.ID, "pack", ev.Change.Pack, "to", versionJSON(ev.Change.To))
	}
	if ev.Message != "" {
		attrs = append(attrs, "message", ev.Message)
	}
	level := slog.LevelDebug
	if a.cmd == "run" {
		switch ev.Kind {
		case event.SchedulerStarted, event.RunStarted, event.RunFinished, event.ChangeApplied,
			event.ApprovalNeeded, event.ChangeDenied, event.ScheduleChanged:
			level = slog.LevelInfo
		}
	}
	if ev.Err != nil && ev.Kind != event.SchedulerStopped { // run reports why it stopped itself
		attrs = append(attrs, "err", ev.Err.Error())
		if a.cmd == "run" {
			level = slog.LevelWarn // other commands report the error themselves
		}
	}
	a.log.Log(context.Background(), level, "engine event", attrs...)
}

// userName is the operator's account, recorded as who approved or
// imported: $USER, or on Windows %USERNAME% when USER is not set.
func (a *app) userName() string {
	if u := a.getenv("USER"); u != "" {
		return u
	}
	if runtime.GOOS == "windows" {
		return a.getenv("USERNAME")
	}
	return ""
}

// output writes doc as JSON with --json, or calls human with stdout.
func (a *app) output(doc any, human func(io.Writer)) {
	if a.cfg.json {
		writeJSON(a.stdout, doc)
		a.wroteJSON = true
		return
	}
	human(a.stdout)
}

// errText is the error line err is reported as, "" for nil: the "error"
// field of the JSON documents.
func (a *app) errText(err error) string {
	if err == nil {
		return ""
	}
	return errorLine(a.cmd, err)
}

// staleError is the error of a plan made from the last-known catalog because
// the service could not be reached.
func staleError(ws *workspace.Client, p *mpsync.Plan) error {
	if p == nil || !p.Stale {
		return nil
	}
	return fmt.Errorf("catalog could not be fetched from %s (used the last-known catalog, serial %d, fetched %s): %s",
		ws.CatalogURL(), p.CatalogSerial, orDash(timeJSON(p.CatalogFetchedAt)), p.CatalogError)
}

func (a *app) plan(ctx context.Context) error {
	return a.withEngine(ctx, true, func(_ cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		p, err := eng.Plan(ctx, a.rules...)
		if err != nil {
			doc := planToJSON(nil, false)
			doc.WorkspaceID, doc.Error = ws.ID(), a.errText(err)
			a.output(doc, func(io.Writer) {})
			return err
		}
		doc := planToJSON(p, a.cfg.verbose)
		err = staleError(ws, p)
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) { writeChangesTable(w, "plan", doc, false) })
		return err
	})
}

func (a *app) sync(ctx context.Context) error {
	return a.withEngine(ctx, true, func(_ cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		rep, err := eng.Sync(ctx, a.rules...)
		a.progress.done()
		if err != nil {
			if errors.Is(err, mpsync.ErrNotConnected) {
				err = fmt.Errorf("%w; nothing was changed", err)
			}
			doc := reportToJSON(rep, a.cfg.verbose)
			if doc.WorkspaceID == "" {
				doc.WorkspaceID = ws.ID()
			}
			doc.Error = a.errText(err)
			a.output(doc, func(w io.Writer) {
				if rep != nil {
					writeChangesTable(w, "sync", doc, true)
				}
			})
			return err
		}
		doc := reportToJSON(rep, a.cfg.verbose)
		err = staleError(ws, rep.Plan)
		if ferr := rep.Err(); ferr != nil {
			err = errors.Join(fmt.Errorf("%d change(s) failed: %w", len(rep.Failed()), ferr), err)
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) { writeChangesTable(w, "sync", doc, true) })
		return err
	})
}

func (a *app) status(ctx context.Context) error {
	return a.withEngine(ctx, false, func(st cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		s, err := eng.Status(ctx)
		if err != nil {
			return fmt.Errorf("store %s: %w", st.Path(), err)
		}
		var rebuilt string
		if d, ok := st.(*store.Dir); ok {
			rebuilt = rebuiltText(d.Report())
		}
		doc := statusDoc{
			StoreRebuilt: rebuilt,
			WorkspaceID:  s.WorkspaceID, Group: s.Group, Packs: sortedPacks(s.Packs),
			Rules: []ruleJSON{}, Connection: connectionToJSON(s.Connection),
			Workspace: workspaceJSON{
				Reachable: s.Workspace.Reachable, LastCatalogSerial: s.Workspace.LastCatalogSerial,
				// Cleaned (issue 15, points 4 and 6): run history written
				// before the engine cleaned it may hold a service's raw text.
				LastError: safetext.Clean(s.Workspace.LastError), CheckedAt: timeJSON(s.Workspace.CheckedAt),
			},
		}
		if doc.Connection.ManagementGroup.Name == "" {
			g := eng.Group()
			doc.Connection.ManagementGroup = groupJSON{Name: g.Name, Version: versionJSON(g.Version), Language: g.Language}
		}
		next := eng.NextRuns(ctx)
		for _, r := range s.Rules {
			nr := r.NextRun
			if nr.IsZero() && r.Enabled {
				nr = next[r.Rule]
			}
			doc.Rules = append(doc.Rules, ruleJSON{
				ID: string(r.Rule), ShortName: r.Rule.ShortName(), Enabled: r.Enabled,
				FrequencySeconds: int64(r.Frequency / time.Second),
				LastRun:          timeJSON(r.LastRun), LastResult: string(r.LastResult), LastError: safetext.Clean(oneLine(r.LastError)),
				LastSuccess: timeJSON(r.LastSuccess), NextRun: timeJSON(nr),
				EnabledSource: r.EnabledSource.String(), FrequencySource: r.FrequencySource.String(),
			})
		}
		doc.Pending = pendingList(s.Approvals)
		doc.Overrides = overridesToJSON(s.Overrides)
		doc.CorruptRecords = corruptToJSON(s.Corrupt)

		if ws != nil {
			doc.Workspace = a.probe(ctx, eng, doc.Workspace)
			if doc.WorkspaceID == "" {
				doc.WorkspaceID = ws.ID()
			}
		}
		a.output(doc, func(w io.Writer) { writeStatusTable(w, doc) })
		return nil
	})
}

// probe asks the service for the catalog once, to tell whether it is
// reachable now; the answer changes nothing in the store.
func (a *app) probe(ctx context.Context, eng *mpsync.Engine, last workspaceJSON) workspaceJSON {
	pctx, cancel := context.WithTimeout(ctx, statusProbeTimeout)
	defer cancel()
	h, err := eng.Probe(pctx)
	if err != nil {
		return last
	}
	out := workspaceJSON{Probed: true, Reachable: h.Reachable, LastError: oneLine(h.LastError),
		CheckedAt: timeJSON(h.CheckedAt), LastCatalogSerial: last.LastCatalogSerial}
	if h.LastCatalogSerial != 0 {
		out.LastCatalogSerial = h.LastCatalogSerial
	}
	return out
}

func (a *app) approve(ctx context.Context, ids []string) error {
	if a.cfg.all && len(ids) > 0 {
		return shapef("give change ids or --all, not both")
	}
	if !a.cfg.all && len(ids) == 0 {
		return shapef("approve needs CHANGE-ID arguments or --all")
	}
	by := a.cfg.by
	if by == "" {
		by = a.userName()
	}
	if by == "" {
		by = "operator"
	}
	// The workspace is needed only for ids no run queued (looked for in a
	// fresh plan); without one, the engine says so for those ids.
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		doc := approveDoc{Approved: []string{}, Preapproved: []string{}}
		var err error
		if a.cfg.all {
			var done []string
			done, err = eng.ApproveAll(ctx, by)
			doc.Approved = append(doc.Approved, done...)
			if err != nil {
				err = fmt.Errorf("approval queue in store %s: %w", st.Path(), err)
			}
		} else {
			var res *mpsync.ApproveResult
			res, err = eng.Approve(ctx, by, ids...)
			if res != nil {
				doc.Approved, doc.Preapproved = res.Approved, res.Preapproved
			}
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) { writeApproved(w, doc) })
		return err
	})
}

func writeApproved(w io.Writer, doc approveDoc) {
	for _, id := range doc.Approved {
		fmt.Fprintf(w, "approved %s\n", id)
	}
	for _, id := range doc.Preapproved {
		fmt.Fprintf(w, "approved %s (from the current plan; the next sync applies it if nothing changed)\n", id)
	}
	if len(doc.Approved)+len(doc.Preapproved) == 0 && doc.Error == "" {
		fmt.Fprintln(w, "nothing was pending")
	}
}

func (a *app) importPacks(ctx context.Context, files []string) error {
	if len(files) == 0 {
		return shapef("import needs FILE arguments")
	}
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		doc := importDoc{Imported: []packJSON{}}
		var errs []error
		for _, name := range files {
			res, err := a.importFile(ctx, eng, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("store %s: %w", st.Path(), err))
				continue
			}
			doc.Imported = append(doc.Imported, entryToJSON(res.Entry))
			if res.Unchanged {
				doc.Unchanged = append(doc.Unchanged, res.Entry.ID)
			}
		}
		err := errors.Join(errs...)
		if errors.Is(err, overrides.ErrInvalid) {
			err = usagef("%v", err) // an invalid override pack is bad configuration
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) {
			for _, p := range doc.Imported {
				if slices.Contains(doc.Unchanged, p.ID) {
					fmt.Fprintf(w, "%s %s is already imported with these exact bytes; nothing changed\n", p.ID, p.Version)
					continue
				}
				fmt.Fprintf(w, "imported %s %s (owner custom: sync never upgrades or removes it)\n", p.ID, p.Version)
			}
		})
		return err
	})
}

// importFile imports one pack file through the engine, owned by the
// operator.
func (a *app) importFile(ctx context.Context, eng *mpsync.Engine, name string) (mpsync.ImportResult, error) {
	f, err := os.Open(name)
	if err != nil {
		return mpsync.ImportResult{}, fmt.Errorf("import %s: %w", name, unwrapPathError(err))
	}
	defer f.Close()
	by := a.userName()
	return eng.Import(ctx, f, mpsync.ImportOptions{Force: a.cfg.force, By: by, Source: "import " + name})
}

func (a *app) connect(ctx context.Context) error {
	return a.withEngine(ctx, true, func(_ cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		rep, err := eng.Connect(ctx)
		a.progress.done()
		doc := reportToJSON(rep, a.cfg.verbose)
		if doc.WorkspaceID == "" {
			doc.WorkspaceID = ws.ID()
		}
		if conn, cerr := eng.Connection(ctx); cerr == nil {
			doc.Connection = connectionToJSON(conn)
			if err == nil {
				checked := conn.RequirementChecked
				doc.RequirementChecked = &checked
			}
		}
		if err != nil {
			err = fmt.Errorf("workspace %s: %w", ws.ID(), err)
		} else if ferr := rep.Err(); ferr != nil {
			err = fmt.Errorf("connected, but %d change(s) of MPUpdate failed: %w", len(rep.Failed()), ferr)
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) {
			if rep != nil {
				writeChangesTable(w, "connect (MPUpdate)", doc, true)
			}
			if err == nil && doc.Connection != nil {
				fmt.Fprintf(w, "connected to workspace %s as management group %s\n", doc.Connection.WorkspaceID, doc.Connection.ManagementGroup.Name)
				if doc.Connection.RequirementChecked {
					fmt.Fprintf(w, "version requirement checked: %s\n", doc.Connection.Requirement)
				} else {
					fmt.Fprintln(w, "the version requirement was not checked, because the management group's version is not known (give --mg-version)")
				}
			}
		})
		return err
	})
}

func (a *app) disconnect(ctx context.Context) error {
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		rep, err := eng.Disconnect(ctx)
		if err != nil {
			return fmt.Errorf("store %s: %w", st.Path(), err)
		}
		doc := disconnectDoc{WorkspaceID: rep.WorkspaceID, Removed: []packJSON{}, Kept: []keptJSON{}, Failed: []keptJSON{}, PartsRemoved: []partJSON{}}
		for _, e := range rep.Removed {
			doc.Removed = append(doc.Removed, entryToJSON(e))
		}
		for _, k := range rep.Kept {
			doc.Kept = append(doc.Kept, keptJSON(k))
		}
		for _, k := range rep.Failed {
			doc.Failed = append(doc.Failed, keptJSON(k))
		}
		for _, p := range rep.PartsRemoved {
			doc.PartsRemoved = append(doc.PartsRemoved, partJSON{Kind: string(p.Kind), Name: p.Name})
		}
		if len(rep.Failed) > 0 {
			err = fmt.Errorf("%d pack(s) could not be removed from store %s, first %s: %s", len(rep.Failed), st.Path(), rep.Failed[0].ID, rep.Failed[0].Reason)
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) { writeDisconnectTable(w, doc) })
		return err
	})
}

// runDoc is the document run writes with --json when it stops.
type runDoc struct {
	WorkspaceID string `json:"workspaceId"`
	Started     string `json:"started"`
	Stopped     string `json:"stopped"`
	Error       string `json:"error,omitempty"`
}

func (a *app) runScheduler(ctx context.Context) error {
	var stopMetrics func()
	if a.cfg.metricsAddr != "" {
		a.metrics = metrics.New(nil)
		stop, err := a.serveMetrics(a.cfg.metricsAddr)
		if err != nil {
			return err
		}
		stopMetrics = stop
		defer func() { stopMetrics() }()
	}
	return a.withEngine(ctx, true, func(_ cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		if a.metrics != nil {
			a.metrics.Attach(eng)
			// Stop serving before the engine closes: a scrape reads its status.
			defer func() { stopMetrics(); stopMetrics = func() {} }()
		}
		started := time.Now()
		// Run returns nil on SIGINT/SIGTERM and a permanent error (the store
		// disconnected, bound elsewhere, ...) as soon as the rules cannot run.
		err := eng.Run(ctx)
		if errors.Is(err, mpsync.ErrNotConnected) {
			err = fmt.Errorf("%w; nothing was changed", err)
		}
		if err == nil {
			a.log.Info("scheduler stopped")
		}
		doc := runDoc{WorkspaceID: ws.ID(), Started: timeJSON(started), Stopped: timeJSON(time.Now()), Error: a.errText(err)}
		if a.cfg.json {
			a.output(doc, nil)
		}
		return err
	})
}

// validateDoc is the document of validate.
type validateDoc struct {
	WorkspaceID string      `json:"workspaceId"`
	OK          bool        `json:"ok"`
	Checks      []checkJSON `json:"checks"`
	Error       string      `json:"error,omitempty"`
}

type checkJSON struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (a *app) validate(ctx context.Context) error {
	return a.withEngine(ctx, true, func(_ cmdStore, ws *workspace.Client, eng *mpsync.Engine) error {
		v, err := eng.Validate(ctx)
		if err != nil {
			return fmt.Errorf("validate against %s: %w", ws.CatalogURL(), err)
		}
		doc := validateDoc{WorkspaceID: v.WorkspaceID, OK: v.OK(), Checks: []checkJSON{}}
		for _, c := range v.Checks {
			doc.Checks = append(doc.Checks, checkJSON(c))
		}
		if !v.OK() {
			f := v.Failed()
			err = fmt.Errorf("%d check(s) failed, first %q: %s", len(f), f[0].Name, f[0].Detail)
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) {
			for _, c := range doc.Checks {
				mark := "ok  "
				if !c.OK {
					mark = "FAIL"
				}
				fmt.Fprintf(w, "%s %s: %s\n", mark, c.Name, c.Detail)
			}
		})
		return err
	})
}

// rollbackDoc is the document of rollback.
type rollbackDoc struct {
	Pack  *packJSON `json:"pack"`
	Error string    `json:"error,omitempty"`
}

func (a *app) rollback(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return shapef("rollback needs exactly one PACK-ID")
	}
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		e, err := eng.Rollback(ctx, args[0])
		doc := rollbackDoc{}
		if err != nil {
			err = fmt.Errorf("pack %s in store %s: %w", args[0], st.Path(), err)
		} else {
			p := entryToJSON(e)
			doc.Pack = &p
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) {
			if doc.Pack != nil {
				fmt.Fprintf(w, "rolled back %s to %s\n", doc.Pack.ID, doc.Pack.Version)
			}
		})
		return err
	})
}

// repairDoc is the document of repair.
type repairDoc struct {
	// SetAside names the corrupt records set aside (as NAME.corrupt) and
	// started afresh.
	SetAside []string `json:"setAside"`
	// Left are the corrupt records repair leaves, with their recovery.
	Left  []corruptJSON `json:"left"`
	Error string        `json:"error,omitempty"`
}

// corruptJSON is a corrupt metadata record and its recovery.
type corruptJSON struct {
	Record   string `json:"record"`
	Error    string `json:"error"`
	Recovery string `json:"recovery"`
}

func corruptToJSON(cs []status.CorruptRecord) []corruptJSON {
	out := []corruptJSON{}
	for _, c := range cs {
		out = append(out, corruptJSON(c))
	}
	return out
}

// repair sets corrupt metadata records aside (issue 15, point 5).
func (a *app) repair(ctx context.Context) error {
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		rep, err := eng.Repair(ctx)
		doc := repairDoc{SetAside: []string{}, Left: []corruptJSON{}}
		if rep != nil {
			doc.SetAside, doc.Left = rep.SetAside, corruptToJSON(rep.Left)
		}
		if err != nil {
			err = fmt.Errorf("store %s: %w", st.Path(), err)
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) {
			for _, name := range doc.SetAside {
				fmt.Fprintf(w, "set aside the corrupt %s as %s%s and started it afresh\n", name, name, storage.CorruptSuffix)
			}
			for _, c := range doc.Left {
				fmt.Fprintf(w, "left the corrupt %s: %s\n", c.Record, c.Recovery)
			}
			if len(doc.SetAside) == 0 && len(doc.Left) == 0 && err == nil {
				fmt.Fprintln(w, "no corrupt metadata record")
			}
		})
		return err
	})
}

// rebuiltText says why and how opening the store rebuilt its index, or "".
// rebuildDoc is the document of rebuild-store.
type rebuildDoc struct {
	Store      string           `json:"store"`
	Restored   []string         `json:"restored"`
	Unrestored []unrestoredJSON `json:"unrestored"`
	Dropped    []string         `json:"dropped"`
	Error      string           `json:"error,omitempty"`
}

type unrestoredJSON struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// rebuildStore is the documented way out of a damaged store database: it
// rebuilds the database from the pack files and says which packs lost their
// provenance (they are recorded as custom until an operator re-adopts them).
func (a *app) rebuildStore() error {
	if a.cfg.database != "" {
		return usagef("rebuild-store rebuilds a --store directory; a --database store has nothing to rebuild")
	}
	rep, err := store.Rebuild(a.cfg.store, &store.DirOptions{Logger: a.log})
	doc := rebuildDoc{Store: a.cfg.store, Restored: append([]string{}, rep.Restored...), Unrestored: []unrestoredJSON{},
		Dropped: append([]string{}, rep.Dropped...)}
	for _, u := range rep.Unrestored {
		doc.Unrestored = append(doc.Unrestored, unrestoredJSON{ID: u.ID, Reason: u.Reason})
	}
	if err != nil {
		err = fmt.Errorf("rebuild store %s: %w", a.cfg.store, err)
	}
	doc.Error = a.errText(err)
	a.output(doc, func(w io.Writer) {
		if err != nil {
			return
		}
		fmt.Fprintf(w, "rebuilt store %s: provenance restored for %d pack(s)\n", a.cfg.store, len(doc.Restored))
		for _, u := range doc.Unrestored {
			fmt.Fprintf(w, "  %s recorded as custom: %s\n", u.ID, u.Reason)
		}
		for _, id := range doc.Dropped {
			fmt.Fprintf(w, "  %s dropped: its pack file is missing\n", id)
		}
	})
	return err
}

func rebuiltText(r store.OpenReport) string {
	if !r.Rebuilt {
		return ""
	}
	return fmt.Sprintf("%s; provenance restored for %d pack(s), %d recorded as custom", r.RebuildReason, len(r.Restored), len(r.Unrestored))
}
