package ledger

import (
	"context"
	"fmt"
	"slices"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
)

// Ledger records every decision and result, and answers the questions
// promotion between groups asks ("was this exact pack imported in QA, and
// when?"). Several management groups may share one ledger. Implementations
// must be safe for concurrent use.
type Ledger interface {
	// Append records r.
	Append(ctx context.Context, r Record) error
	// Query returns the records q selects, oldest first.
	Query(ctx context.Context, q Query) ([]Record, error)
}

// Batcher is implemented by a [Ledger] that can append several
// records with one write. The engine appends a run's decisions, and then its
// results, through AppendBatch when the ledger offers it, so that a run of
// 1,000 changes costs two ledger writes rather than 2,000.
type Batcher interface {
	// AppendBatch records rs, in order, as Append would one by one. It
	// checks every record before writing any; on error none is recorded.
	AppendBatch(ctx context.Context, rs []Record) error
}

// Kind says what a ledger [Record] records.
type Kind string

const (
	// KindDecision is an approver's decision on a change.
	KindDecision Kind = "decision"
	// KindResult is the outcome of applying a change.
	KindResult Kind = "result"
	// KindRun is the outcome of one run of a rule.
	KindRun Kind = "run"
	// KindMarkBad marks a pack version bad: Promotion approvers will not
	// promote it.
	KindMarkBad Kind = "mark-bad"
	// KindConnection is a connection lifecycle event (connect, switch,
	// disconnect).
	KindConnection Kind = "connection"
	// KindRepair is a corrupt metadata record set aside (with
	// [storage.CorruptSuffix]) and started afresh; Reason names it.
	KindRepair Kind = "repair"
)

// Record is one audit entry: who or what decided or did what, when and why.
// Records are plain JSON-serialisable values.
type Record struct {
	Time        time.Time    `json:"time"`
	Kind        Kind         `json:"kind"`
	Group       string       `json:"group,omitempty"`
	WorkspaceID string       `json:"workspaceId,omitempty"`
	Rule        string       `json:"rule,omitempty"`
	ChangeID    string       `json:"changeId,omitempty"`
	Action      plan.Action  `json:"action,omitempty"`
	Pack        string       `json:"pack,omitempty"`
	Version     pack.Version `json:"version,omitzero"`
	SHA256      string       `json:"sha256,omitempty"`
	// Verdict is set on decision records.
	Verdict plan.Verdict `json:"verdict,omitempty"`
	// Result is set on result and run records: applied, failed, pending,
	// denied, skipped, ok, error.
	Result string `json:"result,omitempty"`
	// By names who or what acted: an approver, a person, the engine.
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Query selects records; empty fields match anything.
type Query struct {
	Kind    Kind
	Group   string
	Pack    string
	Version pack.Version // zero matches any version
	SHA256  string
	Since   time.Time
}

// Match reports whether r is selected by q.
func (q Query) Match(r Record) bool {
	return (q.Kind == "" || r.Kind == q.Kind) &&
		(q.Group == "" || r.Group == q.Group) &&
		(q.Pack == "" || r.Pack == q.Pack) &&
		(q.Version.IsZero() || r.Version == q.Version) &&
		(q.SHA256 == "" || r.SHA256 == q.SHA256) &&
		(q.Since.IsZero() || !r.Time.Before(q.Since))
}

// Filter returns the records q selects, sorted by time (stable: records
// with equal times keep their order).
func (q Query) Filter(records []Record) []Record {
	var out []Record
	for _, r := range records {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.Time.Compare(b.Time) })
	return out
}

// Check reports whether r has the fields every record needs (Kind and
// Time); ledgers refuse others with an error wrapping [ErrInvalidRecord].
func (r Record) Check() error {
	switch {
	case r.Kind == "":
		return fmt.Errorf("ledger: append: %w: field kind is empty", ErrInvalidRecord)
	case r.Time.IsZero():
		return fmt.Errorf("ledger: append %s record: %w: field time is zero", r.Kind, ErrInvalidRecord)
	}
	return nil
}
