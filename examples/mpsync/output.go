package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// The JSON documents the command writes with --json. Field names are the
// contract of docs/cli.md: fields may be added, never renamed. Times are RFC 3339
// in UTC; a time that is not known is "" (the key is always present).

// changesDoc is the document of plan, sync and connect.
type changesDoc struct {
	WorkspaceID   string       `json:"workspaceId"`
	Changes       []changeJSON `json:"changes"`
	Rules         []string     `json:"rules"`
	CatalogSerial int64        `json:"catalogSerial"`
	Stale         bool         `json:"stale"`
	CatalogError  string       `json:"catalogError,omitempty"`
	Skipped       []skipJSON   `json:"skipped,omitempty"`
	// Connection is set by connect.
	Connection *connectionJSON `json:"connection,omitempty"`
	// RequirementChecked is set by connect: false when the group's version
	// is not known (no --mg-version) and the version requirement was not
	// checked.
	RequirementChecked *bool  `json:"requirementChecked,omitempty"`
	Error              string `json:"error,omitempty"`

	// table and results are Changes as plan.WriteTable renders them.
	table   []plan.Change
	results []string
}

type changeJSON struct {
	ID       string `json:"id"`
	Rule     string `json:"rule"`
	Action   string `json:"action"`
	Pack     string `json:"pack"`
	From     string `json:"from"`
	To       string `json:"to"`
	Solution string `json:"solution"`
	Reason   string `json:"reason"`
	Result   string `json:"result"`
	Error    string `json:"error"`
	SHA256   string `json:"sha256,omitempty"`
	Size     int64  `json:"size,omitempty"`
	// DecidedBy names the approver that decided, for changes that asked.
	DecidedBy string `json:"decidedBy,omitempty"`
}

type skipJSON struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// statusDoc is the document of status.
type statusDoc struct {
	WorkspaceID string          `json:"workspaceId"`
	Group       string          `json:"group"`
	Packs       []packJSON      `json:"packs"`
	Rules       []ruleJSON      `json:"rules"`
	Pending     []pendingJSON   `json:"pending"`
	Workspace   workspaceJSON   `json:"workspace"`
	Connection  *connectionJSON `json:"connection"`
	// Overrides lists the override packs in force (from the store or
	// --overrides files) and a problem reading them.
	Overrides overridesJSON `json:"overrides"`
	// StoreRebuilt, when set, says why opening the store rebuilt its index
	// from the pack files (the index was missing or corrupt).
	StoreRebuilt string `json:"storeRebuilt,omitempty"`
	// CorruptRecords are metadata records that do not decode (the run
	// history, the pending changes, the approval queue), each with its
	// recovery; the rest of the status is shown without them.
	CorruptRecords []corruptJSON `json:"corruptRecords"`
	Error          string        `json:"error,omitempty"`
}

type packJSON struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Owner       string `json:"owner"`
	Rule        string `json:"rule"`
	Solution    string `json:"solution"`
	SHA256      string `json:"sha256"`
	ImportedAt  string `json:"importedAt"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	WorkspaceID string `json:"workspaceId"`
	// Previous is the version kept for a rollback, "" when none.
	Previous string `json:"previous"`
}

type ruleJSON struct {
	ID               string `json:"id"`
	ShortName        string `json:"shortName"`
	Enabled          bool   `json:"enabled"`
	FrequencySeconds int64  `json:"frequencySeconds"`
	LastRun          string `json:"lastRun"`
	LastResult       string `json:"lastResult"`
	LastError        string `json:"lastError"`
	LastSuccess      string `json:"lastSuccess"`
	NextRun          string `json:"nextRun"`
	EnabledSource    string `json:"enabledSource"`
	FrequencySource  string `json:"frequencySource"`
}

type pendingJSON struct {
	ID     string `json:"id"`
	Pack   string `json:"pack"`
	To     string `json:"to"`
	Action string `json:"action"`
	Rule   string `json:"rule"`
	From   string `json:"from"`
	// Approval is "waiting" (queued for an operator's approve), "approved"
	// or "denied" (an operator decided; the next sync acts on it),
	// "superseded" (the catalog changed; a newer change asks instead) or
	// "deferred" (held by another approver, such as a closed change window).
	Approval string `json:"approval"`
}

type workspaceJSON struct {
	Reachable         bool   `json:"reachable"`
	LastCatalogSerial int64  `json:"lastCatalogSerial"`
	LastError         string `json:"lastError"`
	CheckedAt         string `json:"checkedAt"`
	// Probed is true when this status asked the service just now; false when
	// it reports what the last run learned.
	Probed bool `json:"probed"`
}

type connectionJSON struct {
	State           string     `json:"state"`
	WorkspaceID     string     `json:"workspaceId"`
	ManagementGroup groupJSON  `json:"managementGroup"`
	Since           string     `json:"since"`
	Proxy           string     `json:"proxy,omitempty"`
	Parts           []partJSON `json:"parts"`
	// RequirementChecked is false when the connection was made without the
	// group's version (--mg-version), so the version requirement was not
	// checked.
	RequirementChecked bool   `json:"requirementChecked"`
	Requirement        string `json:"requirement,omitempty"`
}

type groupJSON struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Language string `json:"language"`
}

type partJSON struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// disconnectDoc is the document of disconnect.
type disconnectDoc struct {
	WorkspaceID  string     `json:"workspaceId"`
	Removed      []packJSON `json:"removed"`
	Kept         []keptJSON `json:"kept"`
	Failed       []keptJSON `json:"failed"`
	PartsRemoved []partJSON `json:"partsRemoved"`
	Error        string     `json:"error,omitempty"`
}

type keptJSON struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// approveDoc is the document of approve.
type approveDoc struct {
	Approved    []string `json:"approved"`
	Preapproved []string `json:"preapproved"`
	Error       string   `json:"error,omitempty"`
}

// importDoc is the document of import.
type importDoc struct {
	Imported []packJSON `json:"imported"`
	// Unchanged lists the ids of packs the store already held byte for
	// byte (also in Imported): nothing was written for them.
	Unchanged []string `json:"unchanged,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// errorDoc is the document written with --json when a command fails before
// it has anything else to say (bad usage, a store that cannot be opened).
type errorDoc struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exitCode"`
}

// timeJSON formats t as RFC 3339 in UTC, "" for the zero time.
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// versionJSON formats v, "" for the zero version.
func versionJSON(v pack.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.String()
}

func changeToJSON(c mpsync.Change) changeJSON {
	return changeJSON{
		ID: c.ID, Rule: string(c.Rule), Action: string(c.Action), Pack: c.Pack,
		From: versionJSON(c.From), To: versionJSON(c.To), Solution: c.Solution,
		Reason: c.Reason, Error: c.Error, SHA256: c.SHA256, Size: c.Size,
	}
}

func planToJSON(p *mpsync.Plan, verbose bool) changesDoc {
	doc := changesDoc{Changes: []changeJSON{}, Rules: []string{}}
	if p == nil {
		return doc
	}
	doc.WorkspaceID, doc.CatalogSerial, doc.Stale, doc.CatalogError = p.WorkspaceID, p.CatalogSerial, p.Stale, p.CatalogError
	for _, r := range p.Rules {
		doc.Rules = append(doc.Rules, string(r))
	}
	for _, c := range p.Changes {
		if c.Action == plan.ActionKeep && !verbose {
			continue
		}
		doc.Changes = append(doc.Changes, changeToJSON(c))
		doc.table = append(doc.table, c)
	}
	return doc
}

func reportToJSON(r *mpsync.Report, verbose bool) changesDoc {
	if r == nil {
		return planToJSON(nil, verbose)
	}
	doc := planToJSON(r.Plan, verbose)
	doc.Changes, doc.table = doc.Changes[:0], doc.table[:0]
	for _, o := range r.Outcomes {
		if o.Action == plan.ActionKeep && !verbose {
			continue
		}
		c := changeToJSON(o.Change)
		c.Result = string(o.Result)
		if o.Decision != nil {
			c.DecidedBy = o.Decision.By
		}
		c.Reason, c.Error = o.Explain()
		doc.Changes = append(doc.Changes, c)
		row := o.Change
		row.Reason, row.Error = c.Reason, c.Error
		doc.table, doc.results = append(doc.table, row), append(doc.results, c.Result)
	}
	for _, s := range r.Skipped {
		doc.Skipped = append(doc.Skipped, skipJSON{Rule: string(s.Rule), Reason: s.Reason})
	}
	return doc
}

func entryToJSON(e storage.Entry) packJSON {
	p := packJSON{
		ID: e.ID, Version: versionJSON(e.Version), Owner: string(e.Owner), Rule: e.Rule,
		Solution: e.Solution, SHA256: e.SHA256, ImportedAt: timeJSON(e.ImportedAt),
		Name: e.Name, Size: e.Size, WorkspaceID: e.Provenance.WorkspaceID,
	}
	if e.Previous != nil {
		p.Previous = versionJSON(e.Previous.Version)
	}
	return p
}

func connectionToJSON(c status.Connection) *connectionJSON {
	out := &connectionJSON{
		State: string(c.State), WorkspaceID: c.WorkspaceID,
		ManagementGroup: groupJSON{Name: c.Group.Name, Version: versionJSON(c.Group.Version), Language: c.Group.Language},
		Since:           timeJSON(c.Since()), Proxy: c.Proxy.URL, Parts: []partJSON{},
		RequirementChecked: c.RequirementChecked, Requirement: c.Requirement,
	}
	if out.State == "" {
		out.State = string(status.Never)
	}
	for _, p := range c.Parts {
		out.Parts = append(out.Parts, partJSON{Kind: string(p.Kind), Name: p.Name})
	}
	return out
}

// pendingList is the status document's list of changes waiting for
// approval, as the engine's Status gives it.
func pendingList(pending []status.PendingApproval) []pendingJSON {
	out := []pendingJSON{}
	for _, p := range pending {
		out = append(out, pendingJSON{ID: p.ID, Pack: p.Pack, To: versionJSON(p.To), Action: string(p.Action),
			Rule: string(p.Rule), From: versionJSON(p.From), Approval: string(p.Approval)})
	}
	return out
}

// writeJSON writes v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeJSONLine writes v as one compact JSON line.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// oneLine folds a multi-line message (errors.Join) into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "; ")
}

// writeChangesTable renders a plan's or a run's changes for people.
func writeChangesTable(w io.Writer, title string, doc changesDoc, withResult bool) {
	fmt.Fprintf(w, "%s: workspace %s, catalog serial %d", title, orDash(doc.WorkspaceID), doc.CatalogSerial)
	if doc.Stale {
		fmt.Fprintf(w, " (STALE: the service could not be reached: %s)", doc.CatalogError)
	}
	fmt.Fprintln(w)
	for _, s := range doc.Skipped {
		fmt.Fprintf(w, "rule %s skipped: %s\n", shortRule(s.Rule), s.Reason)
	}
	results := doc.results
	if withResult && results == nil {
		results = []string{}
	}
	plan.WriteTable(w, doc.table, results)
}

// writeStatusTable renders a status for people.
func writeStatusTable(w io.Writer, doc statusDoc) {
	if doc.StoreRebuilt != "" {
		fmt.Fprintf(w, "WARNING: the store's index was rebuilt from the pack files (%s)\n", doc.StoreRebuilt)
	}
	for _, c := range doc.CorruptRecords {
		fmt.Fprintf(w, "WARNING: the metadata record %s is corrupt (%s); %s\n", c.Record, c.Error, c.Recovery)
	}
	c := doc.Connection
	fmt.Fprintf(w, "Management group %s (version %s, language %s)\n", orDash(c.ManagementGroup.Name), orDash(c.ManagementGroup.Version), orDash(c.ManagementGroup.Language))
	fmt.Fprintf(w, "Connection: %s", c.State)
	if c.WorkspaceID != "" {
		fmt.Fprintf(w, " to workspace %s", c.WorkspaceID)
	}
	if c.Since != "" {
		fmt.Fprintf(w, " since %s", c.Since)
	}
	fmt.Fprintln(w)
	if c.State == string(status.Connected) {
		fmt.Fprintf(w, "Version requirement: %s\n", requirementText(c))
	}
	ws := doc.Workspace
	switch {
	case ws.Probed && ws.Reachable:
		fmt.Fprintf(w, "Service: reachable, catalog serial %d\n", ws.LastCatalogSerial)
	case ws.Probed:
		fmt.Fprintf(w, "Service: UNREACHABLE (%s); showing local state\n", ws.LastError)
	case ws.CheckedAt == "":
		fmt.Fprintln(w, "Service: never contacted")
	default:
		state := "reachable"
		if !ws.Reachable {
			state = "unreachable (" + ws.LastError + ")"
		}
		fmt.Fprintf(w, "Service: %s at %s, catalog serial %d (not checked now: no workspace configured)\n", state, ws.CheckedAt, ws.LastCatalogSerial)
	}

	fmt.Fprintf(w, "\nPacks (%d)\n", len(doc.Packs))
	if len(doc.Packs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PACK\tVERSION\tOWNER\tRULE\tSOLUTION\tIMPORTED")
		for _, p := range doc.Packs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Version, p.Owner, orDash(shortRule(p.Rule)), orDash(p.Solution), p.ImportedAt)
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nRules")
	writeOverridesStatus(w, doc.Overrides)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tENABLED\tFREQUENCY\tLAST RUN\tRESULT\tNEXT RUN")
	for _, r := range doc.Rules {
		en := "no"
		if r.Enabled {
			en = "yes"
		}
		res := orDash(r.LastResult)
		if r.LastError != "" {
			res += ": " + r.LastError
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%d s (%s)\t%s\t%s\t%s\n", r.ShortName, en, r.EnabledSource, r.FrequencySeconds, r.FrequencySource, orDash(r.LastRun), res, orDash(r.NextRun))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nPending approvals (%d)\n", len(doc.Pending))
	if len(doc.Pending) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHANGE\tACTION\tPACK\tTO\tAPPROVAL")
		for _, p := range doc.Pending {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Action, p.Pack, orDash(p.To), p.Approval)
		}
		tw.Flush()
	}
}

func writeDisconnectTable(w io.Writer, doc disconnectDoc) {
	fmt.Fprintf(w, "disconnected from workspace %s\n", orDash(doc.WorkspaceID))
	for _, p := range doc.Removed {
		fmt.Fprintf(w, "removed  %s %s\n", p.ID, p.Version)
	}
	for _, k := range doc.Kept {
		fmt.Fprintf(w, "kept     %s: %s\n", k.ID, k.Reason)
	}
	for _, k := range doc.Failed {
		fmt.Fprintf(w, "FAILED   %s: %s\n", k.ID, k.Reason)
	}
	for _, p := range doc.PartsRemoved {
		fmt.Fprintf(w, "removed  %s %s\n", p.Kind, p.Name)
	}
}

// shortRule returns a rule's short name for tables, or s as it is.
func shortRule(s string) string {
	s = strings.TrimPrefix(s, "Microsoft.SystemCenter.Advisor.Core.")
	s = strings.TrimPrefix(s, "Microsoft.SystemCenter.Advisor.")
	if s == "GetIntelligencePacksRule" {
		return "GetIntelligencePacks"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sortedPacks returns the entries sorted by id.
func sortedPacks(es []storage.Entry) []packJSON {
	out := make([]packJSON, 0, len(es))
	for _, e := range es {
		out = append(out, entryToJSON(e))
	}
	slices.SortFunc(out, func(a, b packJSON) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// requirementText says whether and how the connection checked the version
// requirement.
func requirementText(c *connectionJSON) string {
	if !c.RequirementChecked {
		return "not checked, because the management group's version is not known (give --mg-version)"
	}
	return "checked: " + c.Requirement
}
