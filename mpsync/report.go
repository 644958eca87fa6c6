package mpsync

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"
	"mpsync.dev/rules"
)

// Result is what happened to one change in a run.
type Result string

const (
	// ResultApplied: the change was approved and applied.
	ResultApplied Result = "applied"
	// ResultPending: the change waits for approval.
	ResultPending Result = "pending"
	// ResultDenied: the approver refused the change.
	ResultDenied Result = "denied"
	// ResultFailed: applying the change failed; Outcome.Error says why.
	ResultFailed Result = "failed"
	// ResultSkipped: the change was not attempted (blocked, kept, or waiting
	// for a change it depends on).
	ResultSkipped Result = "skipped"
)

// Outcome is a planned change and what happened to it.
type Outcome struct {
	Change
	Result Result `json:"result"`
	// Decision is the approver's answer, for changes that asked.
	Decision *approval.Decision `json:"decision,omitempty"`
	// Err is why the change failed or was skipped; in JSON it is the
	// "error" string.
	Err error `json:"-"`
}

// MarshalJSON encodes the outcome with its error as the "error" string.
func (o Outcome) MarshalJSON() ([]byte, error) {
	type plain Outcome // without this method
	p := plain(o)
	if o.Err != nil {
		p.Change.Error = o.Err.Error()
	}
	return json.Marshal(p)
}

// Report is the result of one run: the plan and what happened to each of its
// changes, in plan order.
type Report struct {
	Plan *Plan `json:"plan"`
	// Outcomes has one entry per change of Plan, in the same order.
	Outcomes []Outcome `json:"outcomes"`
	// Skipped lists rules that did not run and why (a rule disabled by an
	// override).
	Skipped  []RuleSkip `json:"skipped,omitempty"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
	// Reused is true when nothing the last run planned from had changed
	// (the catalog answered 304, the store, the settings and the approvals
	// were the same) and the run reused its plan instead of planning again.
	// Such a report shares Plan.Changes and Outcomes with the previous
	// reused or full run's report: treat them as read-only.
	Reused bool `json:"reused,omitempty"`
	// notable, in a reused report, are the indices of the outcomes that are
	// not kept packs (idleState.notable).
	notable []int
}

// RuleSkip is a rule a run left out, and why.
type RuleSkip struct {
	Rule   rules.Rule `json:"rule"`
	Reason string     `json:"reason"`
}

// Failed returns the outcomes whose result is [ResultFailed].
func (r *Report) Failed() []Outcome { return r.with(ResultFailed) }

// Pending returns the outcomes whose result is [ResultPending].
func (r *Report) Pending() []Outcome { return r.with(ResultPending) }

// Applied returns the outcomes whose result is [ResultApplied].
func (r *Report) Applied() []Outcome { return r.with(ResultApplied) }

func (r *Report) with(res Result) []Outcome {
	var out []Outcome
	if r.notable != nil && res != ResultSkipped {
		// A reused report knows which outcomes are not kept packs (kept
		// packs are skipped): the others need no scan.
		for _, i := range r.notable {
			if o := r.Outcomes[i]; o.Result == res {
				out = append(out, o)
			}
		}
		return out
	}
	for _, o := range r.Outcomes {
		if o.Result == res {
			out = append(out, o)
		}
	}
	return out
}

// Err returns an error joining every failed change's error, or nil.
func (r *Report) Err() error {
	var errs []error
	for _, o := range r.Failed() {
		errs = append(errs, o.Err)
	}
	return errors.Join(errs...)
}

// String renders the report as a table for people. The layout may change.
func (r *Report) String() string {
	b := new(strings.Builder)
	fmt.Fprintf(b, "run for workspace %s (catalog serial %d", r.Plan.WorkspaceID, r.Plan.CatalogSerial)
	if r.Plan.Stale {
		fmt.Fprintf(b, ", STALE since %s", r.Plan.CatalogFetchedAt.UTC().Format(time.RFC3339))
	}
	b.WriteString(")\n")
	for _, s := range r.Skipped {
		fmt.Fprintf(b, "  %s not run: %s\n", s.Rule.ShortName(), s.Reason)
	}
	changes := make([]Change, len(r.Outcomes))
	results := make([]string, len(r.Outcomes))
	for i, o := range r.Outcomes {
		changes[i], results[i] = o.Change, string(o.Result)
		changes[i].Reason, changes[i].Error = o.Explain()
	}
	plan.WriteChanges(b, changes, results)
	return b.String()
}

// Rules returns the rules that a report's plan covers, in run order.
func (r *Report) Rules() []rules.Rule { return slices.Clone(r.Plan.Rules) }

// Explain returns the words that explain the outcome to an operator: the
// reason (why the change was planned, with why it did not go through when
// it did not: the approver's reason for a pending or denied change, the
// cause for a skipped one) and, for a failed change, the error, each on
// one line.
func (o Outcome) Explain() (reason, errText string) {
	reason = o.Reason
	switch {
	case o.Result == ResultFailed && o.Err != nil:
		errText = oneLine(o.Err.Error())
	case o.Result == ResultDenied && o.Decision != nil && o.Decision.Reason != "":
		reason = oneLine(o.Decision.Reason)
	case o.Result == ResultPending && o.Decision != nil && o.Decision.Reason != "":
		reason = joinReason(reason, o.Decision.Reason)
	case o.Result == ResultSkipped && o.Err != nil:
		reason = joinReason(reason, causeText(o.Err))
	}
	return reason, errText
}

// joinReason adds why a change did not go through to why it was planned.
func joinReason(planned, why string) string {
	switch why = oneLine(why); {
	case planned == "":
		return why
	case strings.Contains(planned, why):
		return planned // a blocked change's cause is its planned reason
	}
	return planned + "; " + why
}

// causeText is the cause of a change's error without the pack and step a
// *ChangeError puts before it (the outcome names the pack already).
func causeText(err error) string {
	var ce *ChangeError
	if errors.As(err, &ce) && ce.Err != nil {
		return ce.Err.Error()
	}
	return err.Error()
}

// oneLine folds line breaks so that a message stays one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "; ")
}
