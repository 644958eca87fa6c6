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
	ImportSteps   = []string{fpWrite, fpStage, fpSync, fpTx, fpCommit, fpPlace, fpGC}
	RemoveSteps   = []string{fpSync, fpTx, fpCommit, fpPlace, fpGC}
	RollbackSteps = []string{fpTx, fpCommit}
	CommittedFrom = fpCommit
	// DurableFrom is the first step an ordinary (non-crash) failure cannot
	// undo any more: the transaction is committed.
	DurableFrom = fpCommit
)
