package store

// Test hooks: the failpoint seam and the names of the steps it is called at.

// ErrCrash, returned by a failpoint, makes the change stop there without
// any clean-up, as if the process had died.
var ErrCrash = errCrash

// SetFailpoint installs f, called at each step of a change; an error stops
// the change at that step.
func SetFailpoint(d *Dir, f func(step string) error) { d.failpoint = f }

// Steps of each change, in order; CommittedFrom is the first step at which
// the change is durable.
var (
	ImportSteps   = []string{fpWrite, fpSync, fpRename, fpSidecar, fpIndexWrite, fpIndexRename, fpCommit, fpGC}
	RemoveSteps   = []string{fpIndexWrite, fpIndexRename, fpCommit, fpGC}
	RollbackSteps = []string{fpSidecar, fpIndexWrite, fpIndexRename, fpCommit}
	CommittedFrom = fpIndexRename
	// DurableFrom is the first step an ordinary (non-crash) failure cannot
	// undo any more: the index is synced.
	DurableFrom = fpCommit
	// AppendWriteStep and AppendUndoStep are AppendMeta's steps: after the
	// write, and undoing a failed append.
	AppendWriteStep = fpAppendWrite
	AppendUndoStep  = fpAppendUndo
)
