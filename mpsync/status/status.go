// Package status holds what the engine knows of a management group from
// its local state, as mpsync's Engine.Status reports it: a [Snapshot] of
// the imported packs, each rule's effective settings and last and next
// run ([Rule], [Run]), what is known of the workspace service
// ([Workspace]), the connection ([Connection], [Proxy]), the changes
// waiting for approval ([PendingApproval]), the override packs in force
// ([Overrides]) and the records found corrupt ([CorruptRecord]).
//
// These types are values the engine produces and a program reads (the
// command's status document, metrics, dashboards); none of them does
// anything. They live apart from the engine so that the root package holds
// the engine and its operations, and so that a reader of a status document
// needs only this package. The JSON field names are the command's
// documented `status --json` contract.
package status

import (
	"slices"
	"time"

	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// Snapshot is the state of the management group as the engine knows it
// from local state, as mpsync's Engine.Status returns it: it needs no
// service. Its JSON form is the command's `status --json` document.
type Snapshot struct {
	// WorkspaceID is the workspace the store is connected to, empty when
	// it is not.
	WorkspaceID string `json:"workspaceId"`
	// Group is the management group's name.
	Group string `json:"group"`
	// Packs are the imported packs, with their provenance, by id.
	Packs []storage.Entry `json:"packs"`
	// Rules are the two rules, MPUpdate first.
	Rules []Rule `json:"rules"`
	// Pending are changes waiting for approval, from the last run's report.
	Pending []plan.Change `json:"pending"`
	// Approvals lists what waits for approval and where each change stands:
	// Pending, with the state the approval queue gives each (deferred when
	// another approver holds it back), and the changes the queue holds
	// waiting for a person that no run left pending (preapproved from a
	// plan, or asked by another engine of the group).
	Approvals []PendingApproval `json:"approvals"`
	// Workspace is what the engine last learned about the service.
	Workspace Workspace `json:"workspace"`
	// Connection is the store's binding to its workspace.
	Connection Connection `json:"connection"`
	// Approval describes the approver in force.
	Approval Approver `json:"approval"`
	// Overrides lists the override packs in force (the store's and any
	// files) and a problem reading them, when the settings come from
	// override packs (mpsync.Options.Settings nil or from
	// rules.FromOverrides); each rule's EnabledSource and FrequencySource name the pack that set the
	// value. Zero for a caller's own SettingsSource.
	Overrides Overrides `json:"overrides"`
	// Corrupt lists the metadata records that do not decode (the run
	// history, the pending changes, the approval queue), each with its
	// recovery; the snapshot shows the rest without them. A corrupt connection
	// record is an error instead, since nothing else can be told without
	// it: connect again.
	Corrupt []CorruptRecord `json:"corruptRecords,omitempty"`
}

// Entry returns the imported pack with the given id, or false.
func (s *Snapshot) Entry(id string) (storage.Entry, bool) {
	i := slices.IndexFunc(s.Packs, func(e storage.Entry) bool { return e.ID == id })
	if i < 0 {
		return storage.Entry{}, false
	}
	return s.Packs[i], true
}

// Rule is one rule's effective settings, last and next run.
type Rule struct {
	// Settings are the rule's effective settings and where they come from.
	rules.Settings
	// Run is the rule's last run.
	Run
	// NextRun is when the scheduler runs the rule next; zero when the rule
	// is disabled or the scheduler has not planned it.
	NextRun time.Time `json:"nextRun,omitzero"`
}

// Run is the last run of a rule.
type Run struct {
	// LastRun is when the last run ended.
	LastRun time.Time `json:"lastRun,omitzero"`
	// LastResult is how the last run ended: RunOK, RunFailed (a change
	// failed), RunStale (the service could not be reached; the last-known
	// catalog was used) or RunError (the run could not happen, for example
	// no catalog at all).
	LastResult RunResult `json:"lastResult,omitempty"`
	// LastError is the last run's error, empty when it did not fail.
	LastError string `json:"lastError,omitempty"`
	// LastSuccess is the end of the last run whose result was RunOK.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
}

// RunResult is how a run of a rule ended, in the run history and the
// ledger's run records.
type RunResult string

const (
	// RunOK: the run happened and every change it applied succeeded.
	RunOK RunResult = "ok"
	// RunFailed: a change failed; the report says which.
	RunFailed RunResult = "failed"
	// RunStale: the service could not be reached; the run planned from the
	// last-known catalog, so it is not a success.
	RunStale RunResult = "stale"
	// RunError: the run could not happen (no catalog at all, the store
	// unreadable, the store disconnected).
	RunError RunResult = "error"
)

// Workspace is what the engine last learned about the service.
type Workspace struct {
	// WorkspaceID is the workspace LastCatalogSerial belongs to.
	WorkspaceID string `json:"workspaceId,omitempty"`
	// Reachable reports whether the last request to the service succeeded.
	Reachable bool `json:"reachable"`
	// LastCatalogSerial is the serial of the catalog in use.
	LastCatalogSerial int64 `json:"lastCatalogSerial"`
	// LastError is the last request's error, empty after a success.
	LastError string `json:"lastError"`
	// CheckedAt is when the service was last asked.
	CheckedAt time.Time `json:"checkedAt,omitzero"`
	// CatalogFetchedAt is when the catalog in use was last confirmed.
	CatalogFetchedAt time.Time `json:"catalogFetchedAt,omitzero"`
}

// Connection is the binding of a management group to a workspace, as the
// store records it.
type Connection struct {
	// State says whether the store is connected.
	State ConnectionState `json:"state"`
	// WorkspaceID is the workspace of the current (or last) connection.
	WorkspaceID string `json:"workspaceId,omitempty"`
	// Group is the management group as it was when it connected.
	Group scom.ManagementGroup `json:"managementGroup"`
	// ConnectedAt is when the current (or last) connection was made.
	ConnectedAt time.Time `json:"connectedAt,omitzero"`
	// DisconnectedAt is when the integration was removed.
	DisconnectedAt time.Time `json:"disconnectedAt,omitzero"`
	// Parts are the configuration items the connection applied to the
	// management group.
	Parts []scom.Part `json:"parts,omitempty"`
	// Proxy describes the proxy in use when connecting (never credentials).
	Proxy Proxy `json:"proxy,omitzero"`
	// RequirementChecked is true when the group's version was checked
	// against the connection requirement (with the proxy minimum when Proxy
	// is configured), false when the version is not known
	// (mpsync.Options.Group.Version zero) and the check was skipped.
	RequirementChecked bool `json:"requirementChecked"`
	// Requirement says what the version was checked against, or why it was
	// not checked.
	Requirement string `json:"requirement,omitempty"`
}

// Since returns when the connection entered its current state.
func (c Connection) Since() time.Time {
	if c.State == Disconnected {
		return c.DisconnectedAt
	}
	return c.ConnectedAt
}

// ConnectionState says whether a store is bound to a workspace.
type ConnectionState string

const (
	// Never: the store was never connected.
	Never ConnectionState = "never"
	// Connected: the store is bound to Connection.WorkspaceID.
	Connected ConnectionState = "connected"
	// Disconnected: the integration was removed; rules do not run until
	// Connect succeeds.
	Disconnected ConnectionState = "disconnected"
)

// Proxy describes the proxy a workspace client uses. It never holds the
// password: a connection record is not a credential store.
type Proxy struct {
	// URL is the proxy URL without user information, e.g. http://corpproxy:80.
	URL string `json:"url,omitempty"`
	// User is the proxy account's user name; empty when the proxy needs no
	// authentication.
	User string `json:"user,omitempty"`
}

// Configured reports whether a proxy is in use.
func (p Proxy) Configured() bool { return p.URL != "" }

// String returns the URL and, when set, the user: "http://corpproxy:80 (user
// svc)"; "no proxy" for the zero value.
func (p Proxy) String() string {
	switch {
	case !p.Configured():
		return "no proxy"
	case p.User != "":
		return p.URL + " (user " + p.User + ")"
	}
	return p.URL
}

// PendingApproval is a change waiting for approval, as [Snapshot] lists it,
// with the state the approval queue gives it.
type PendingApproval struct {
	plan.Change
	// Approval is where the change stands in the approval queue.
	Approval approval.State `json:"approval"`
}

// Approver describes the approver in force for a [Snapshot].
type Approver struct {
	// Approver names it (its String method, when it has one).
	Approver string `json:"approver"`
	// NextWindow is when the next change window opens, for approvers (or
	// combinations holding approvers) with a NextOpen(time.Time) time.Time
	// method such as approval.Window; zero when none says, or when a window
	// is open now.
	NextWindow time.Time `json:"nextWindow,omitzero"`
}

// Overrides says which override packs are in force and what went
// wrong reading them.
type Overrides struct {
	// Packs are the override packs that apply to the rules, by id.
	Packs []OverridePack `json:"packs"`
	// Warnings are values that are valid but probably mistakes, such as a
	// Frequency below a minute.
	Warnings []overrides.Warning `json:"warnings,omitempty"`
	// Error describes an override pack that could not be used (a broken
	// file or store pack, two packs with the same override id); the last
	// valid overrides stay in force meanwhile. Empty when all is well.
	Error string `json:"error,omitempty"`
}

// OverridePack names an override pack in force, and where it is kept.
type OverridePack struct {
	// ID is the pack's id.
	ID string `json:"id"`
	// Version is the pack's version.
	Version pack.Version `json:"version"`
	// From is "store" for a pack imported into the store (by Import,
	// SetOverride or a workspace) and "file" for an override pack file
	// (mpsync.Options.Settings from rules.FromOverrides).
	From string `json:"from"`
}

// CorruptRecord is a metadata record the engine's Status found corrupt (a
// [*storage.CorruptRecordError]).
type CorruptRecord struct {
	// Record is the record's name in the store.
	Record string `json:"record"`
	// Error is why it does not decode.
	Error string `json:"error"`
	// Recovery says what to do.
	Recovery string `json:"recovery"`
}
