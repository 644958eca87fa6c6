package mpsync

import (
	"context"
	"slices"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/internal/safetext"
	"mpsync.dev/mpsync/pack"
)

// RecordKind says what a ledger [Record] records.
type RecordKind string

const (
	// RecordDecision is an approver's decision on a change.
	RecordDecision RecordKind = "decision"
	// RecordResult is the outcome of applying a change.
	RecordResult RecordKind = "result"
	// RecordRun is the outcome of one run of a rule.
	RecordRun RecordKind = "run"
	// RecordMarkBad marks a pack version bad: Promotion approvers will not
	// promote it.
	RecordMarkBad RecordKind = "mark-bad"
	// RecordConnection is a connection lifecycle event (connect, switch,
	// disconnect).
	RecordConnection RecordKind = "connection"
	// RecordRepair is a corrupt metadata record set aside (with
	// [storage.CorruptSuffix]) and started afresh; Reason names it.
	RecordRepair RecordKind = "repair"
)

// Record is one audit entry: who or what decided or did what, when and why.
// Records are plain JSON-serialisable values.
type Record struct {
	Time        time.Time    `json:"time"`
	Kind        RecordKind   `json:"kind"`
	Group       string       `json:"group,omitempty"`
	WorkspaceID string       `json:"workspaceId,omitempty"`
	Rule        string       `json:"rule,omitempty"`
	ChangeID    string       `json:"changeId,omitempty"`
	Action      Action       `json:"action,omitempty"`
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

// LedgerQuery selects records; empty fields match anything.
type LedgerQuery struct {
	Kind    RecordKind
	Group   string
	Pack    string
	Version pack.Version // zero matches any version
	SHA256  string
	Since   time.Time
}

// Match reports whether r is selected by q.
func (q LedgerQuery) Match(r Record) bool {
	return (q.Kind == "" || r.Kind == q.Kind) &&
		(q.Group == "" || r.Group == q.Group) &&
		(q.Pack == "" || r.Pack == q.Pack) &&
		(q.Version.IsZero() || r.Version == q.Version) &&
		(q.SHA256 == "" || r.SHA256 == q.SHA256) &&
		(q.Since.IsZero() || !r.Time.Before(q.Since))
}

// Filter returns the records q selects, sorted by time (stable: records
// with equal times keep their order).
func (q LedgerQuery) Filter(records []Record) []Record {
	var out []Record
	for _, r := range records {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.Time.Compare(b.Time) })
	return out
}

// cleanLedger is the ledger the engine writes through: it removes
// credentials from a record's free text and escapes control characters
// ([safetext.Clean]) before the ledger stores it.
//
// Regression (issue 15, point 4): a service or proxy echoing the request's
// headers put the SharedKey signature in an error, and so in the ledger.
// The workspace client scrubs its errors; this is the backstop for any
// Workspace, Approver or store whose error text the engine records.
type cleanLedger struct{ Ledger }

// Append records r with its Reason and Error cleaned.
func (l cleanLedger) Append(ctx context.Context, r Record) error {
	return l.Ledger.Append(ctx, cleanRecord(r))
}

// AppendBatch records rs cleaned, in one write when the ledger offers
// [LedgerBatcher] (the engine's run does), else one by one.
func (l cleanLedger) AppendBatch(ctx context.Context, rs []Record) error {
	clean := make([]Record, len(rs))
	for i, r := range rs {
		clean[i] = cleanRecord(r)
	}
	if lb, ok := l.Ledger.(LedgerBatcher); ok {
		return lb.AppendBatch(ctx, clean)
	}
	for _, r := range clean {
		if err := l.Ledger.Append(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func cleanRecord(r Record) Record {
	r.Reason, r.Error = safetext.Clean(r.Reason), safetext.Clean(r.Error)
	return r
}
