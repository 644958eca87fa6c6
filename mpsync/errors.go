package mpsync

import (
	"errors"
	"fmt"
	"time"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/scom"
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
	// ErrUnknownChange is wrapped when a change id is neither queued for
	// approval nor in the current plan.
	ErrUnknownChange = errors.New("no such change awaits approval")
	// ErrNoApprovalQueue is returned by Approve and ApproveAll when the
	// engine's approver keeps no [ApprovalQueue] (use approval.Manual).
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
	// ErrResourcesMissing is wrapped by the error Connect returns on a
	// reconnect when the Advisor Resources pack for the group's language is
	// neither imported, in the platform inventory, nor served by the catalog.
	ErrResourcesMissing = errors.New("advisor resources pack is missing")
)

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
