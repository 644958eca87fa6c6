package mpsync

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
)

var (
	// ErrNotApproved is wrapped by a [ChangeError] for a change the approver
	// did not approve (denied or deferred) when the caller asked for it to be
	// applied.
	ErrNotApproved = errors.New("change not approved")
	// ErrClosed is returned by an engine used after Close.
	ErrClosed = errors.New("engine is closed")
	// ErrRunning is returned by Start when the scheduler already runs.
	ErrRunning = errors.New("scheduler is already running")
	// ErrOtherWorkspace is returned by Connect when the store is bound to a
	// workspace other than the engine's; switching is SwitchWorkspace's job.
	ErrOtherWorkspace = errors.New("store is connected to another workspace")
	// ErrNoPrevious is returned by Rollback when the store keeps no previous
	// version of the pack.
	ErrNoPrevious = errors.New("no previous version to roll back to")
	// ErrNeverConnected is returned by Disconnect and SwitchWorkspace on a
	// store that was never connected: there is nothing to remove or switch
	// from (Connect or Sync connects it).
	ErrNeverConnected = errors.New("store was never connected")
	// ErrSerialRegressed is wrapped when the workspace serves a catalog whose
	// serial is lower than one already applied; it is
	// [catalog.ErrSerialRegressed].
	ErrSerialRegressed = catalog.ErrSerialRegressed
	// ErrRunTimeout is the cause of the context of a run that went past
	// Options.RunTimeout (context.Cause tells it from a caller's cancel).
	ErrRunTimeout = errors.New("run timed out")

	// ErrNoApprovalQueue is returned by Approve and ApproveAll when the
	// engine's approver keeps no [approval.Queue] (use approval.Manual).
	ErrNoApprovalQueue = errors.New("the engine's approver keeps no approval queue")
	// ErrImportRefused is wrapped by the error [Engine.Import] returns for
	// a pack sync's rules refuse: a downgrade, other content at the same
	// version, an unsatisfied reference, a workspace's pack without Force.
	ErrImportRefused = errors.New("import refused")
	// ErrReferenced is returned by Rollback when another imported pack
	// needs the current version.
	ErrReferenced = errors.New("pack is referenced at a higher version")
	// ErrRequirement is matched by the error Connect (or a first Sync)
	// returns for a management group version the integration does not
	// support, a [*scom.RequirementError]; it is [scom.ErrRequirement].
	ErrRequirement = scom.ErrRequirement
	// ErrResourcesMissing is matched by the [*ResourcesError] Connect
	// returns on a reconnect when the operator has not imported the Advisor
	// Resources pack for the group's language at an acceptable version.
	ErrResourcesMissing = errors.New("advisor resources pack is missing")
	// ErrUnauthorized is wrapped by a [Workspace]'s error when the service
	// refused the credentials (a wrong key, a key of another workspace, a
	// clock far off). workspace.ErrUnauthorized is this value.
	ErrUnauthorized = errors.New("workspace refused the credentials")
	// ErrUnavailable is wrapped by a [Workspace]'s error when the service
	// could not be reached. workspace.ErrUnavailable is this value.
	ErrUnavailable = errors.New("workspace unavailable")
)

// ResourcesError is a reconnect refused for the Advisor Resources pack (the
// connection guide: "re-import the Microsoft.SystemCenter.Advisor.Resources.
// <Language>.mpb management pack file from the most recent update rollup
// applied to your management group"). It matches [ErrResourcesMissing].
type ResourcesError struct {
	// Need is the pack the group needs, the file and where it is.
	Need scom.ResourcesPack
	// Have is the store's entry for Need.ID, when it holds one that does
	// not do (below Need.Minimum, or not the operator's).
	Have *storage.Entry
	// OtherLanguages are the Resources packs of other languages the store
	// holds; they do not satisfy Need.
	OtherLanguages []string
}

// Error names the pack, why the store's copy does not do, the file to
// import and where it is.
func (e *ResourcesError) Error() string {
	var b strings.Builder
	n := e.Need
	switch {
	case e.Have == nil:
		fmt.Fprintf(&b, "%s is not imported", n.ID)
	case e.Have.Owner != storage.OwnerCustom:
		fmt.Fprintf(&b, "%s %s is the copy workspace %s imported, kept at disconnect; the reconnect needs the operator's own import (mpsync import --force takes it over)",
			n.ID, e.Have.Version, e.Have.WorkspaceID)
	default:
		fmt.Fprintf(&b, "%s is imported at %s, below %s (%s)", n.ID, e.Have.Version, n.Minimum, n.MinimumReason)
	}
	if len(e.OtherLanguages) > 0 {
		fmt.Fprintf(&b, "; the store holds %s, not for the group's language %s", strings.Join(e.OtherLanguages, ", "), n.Language)
	}
	fmt.Fprintf(&b, "; import the pack from %s (extracted as .mp or .xml; Engine.Import, mpsync import FILE), %s; then connect again",
		n.File, n.Where())
	return b.String()
}

// Is reports whether target is [ErrResourcesMissing].
func (e *ResourcesError) Is(target error) bool { return target == ErrResourcesMissing }

// NotConnectedError is returned by Sync, Start and Run while the store is
// disconnected (after Disconnect) until Connect succeeds. It matches
// [ErrNotConnected] with errors.Is.
type NotConnectedError struct {
	// WorkspaceID is the workspace the store was disconnected from.
	WorkspaceID string
	// Since is when the store was disconnected.
	Since time.Time
}

// ErrNotConnected matches a [*NotConnectedError].
var ErrNotConnected = errors.New("store is disconnected")

// Error says since when the store is disconnected and what to do.
func (e *NotConnectedError) Error() string {
	return fmt.Sprintf("store is disconnected from workspace %s since %s: rules do not run; call Connect (mpsync connect) to reconnect",
		e.WorkspaceID, e.Since.UTC().Format(time.RFC3339))
}

// Is reports whether target is [ErrNotConnected].
func (e *NotConnectedError) Is(target error) bool { return target == ErrNotConnected }

// ChangeError reports a change that failed, naming the pack and the step.
type ChangeError struct {
	// ChangeID is the change's id.
	ChangeID string
	// Pack is the pack id.
	Pack string
	// Step is what failed: "download", "import", "remove", "approve",
	// "dependency".
	Step string
	Err  error
}

// Error names the pack and the step.
func (e *ChangeError) Error() string {
	return fmt.Sprintf("pack %s: %s: %v", e.Pack, e.Step, e.Err)
}

// Unwrap returns the underlying error.
func (e *ChangeError) Unwrap() error { return e.Err }
