package approval

import (
	"context"
	"fmt"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/pack"
)

// ResultApplied is the [ledger.Record] Result of a change that was applied;
// [Promotion] looks for it.
const ResultApplied = "applied"

// Promotion is an approver that lets a pack into a group only after the
// exact same pack (id, version and SHA-256) has been applied in another
// group, such as "QA", for at least a soak duration, and has not been
// marked bad. It reads that evidence from an [ledger.Ledger] the groups
// share: result records (Kind [ledger.KindResult], Result "applied",
// Action import or upgrade) of the source group, and mark-bad records
// ([MarkBad]) of any group.
//
// For an import or upgrade it answers:
//
//   - Deny, when the version is marked bad in any group (a mark without a
//     hash covers every hash of the version);
//   - Defer without NotBefore, when the source group has not applied it;
//   - Defer with NotBefore = appliedAt + soak, while it soaks;
//   - Approve, once req.Now - appliedAt >= soak.
//
// appliedAt is the earliest applied record; what the source group did with
// the pack afterwards (an upgrade, a removal) does not restart the soak,
// only a mark-bad stops it. When the change carries no SHA-256 only id and
// version are compared.
//
// Removals are approved: a removal brings no new content into the group, so
// there is nothing to prove in QA, and the workspace has already stopped
// wanting the pack; holding it back would keep a pack the workspace no
// longer supports. Combine with [Manual] through [All] to gate removals by
// hand.
type Promotion struct {
	ledger ledger.Ledger
	from   string
	soak   time.Duration
}

// NewPromotion returns a promotion approver that reads evidence of group
// from from l and requires soak (≥ 0) to have passed since the pack was
// applied there. It returns an error wrapping [ErrInvalid] for a nil ledger,
// an empty group or a negative soak.
func NewPromotion(l ledger.Ledger, from string, soak time.Duration) (*Promotion, error) {
	switch {
	case l == nil:
		return nil, fmt.Errorf("approval: promotion: %w: nil ledger", ErrInvalid)
	case from == "":
		return nil, fmt.Errorf("approval: promotion: %w: empty source group", ErrInvalid)
	case soak < 0:
		return nil, fmt.Errorf("approval: promotion from %s: %w: negative soak %v", from, ErrInvalid, soak)
	}
	return &Promotion{ledger: l, from: from, soak: soak}, nil
}

// String returns "promotion(from <group>, soak <duration>)".
func (p *Promotion) String() string {
	return fmt.Sprintf("promotion(from %s, soak %v)", p.from, p.soak)
}

// Decide answers as [Promotion] describes. It returns an error when the
// ledger cannot be read.
func (p *Promotion) Decide(ctx context.Context, req Request) (Decision, error) {
	c := req.Change
	by := p.String()
	if isRemoval(c) {
		return Decision{Verdict: plan.Approve, By: by, Reason: "removals need no promotion"}, nil
	}
	what := fmt.Sprintf("pack %s %s", c.Pack, c.To)
	if c.SHA256 != "" {
		what += " (sha256 " + short(c.SHA256) + ")"
	}

	bad, err := p.ledger.Query(ctx, ledger.Query{Kind: ledger.KindMarkBad, Pack: c.Pack, Version: c.To})
	if err != nil {
		return Decision{}, fmt.Errorf("approval: promotion of %s: reading mark-bad records: %w", what, err)
	}
	for _, r := range bad {
		if r.SHA256 == "" || c.SHA256 == "" || r.SHA256 == c.SHA256 {
			reason := fmt.Sprintf("%s is marked bad in %s by %s at %s", what, r.Group, r.By, r.Time.Format(time.RFC3339))
			if r.Reason != "" {
				reason += ": " + r.Reason
			}
			return Decision{Verdict: plan.Deny, By: by, Reason: reason}, nil
		}
	}

	recs, err := p.ledger.Query(ctx, ledger.Query{Kind: ledger.KindResult, Group: p.from, Pack: c.Pack, Version: c.To, SHA256: c.SHA256})
	if err != nil {
		return Decision{}, fmt.Errorf("approval: promotion of %s: reading results of %s: %w", what, p.from, err)
	}
	var appliedAt time.Time
	for _, r := range recs {
		if r.Result == ResultApplied && (r.Action == plan.ActionImport || r.Action == plan.ActionUpgrade) {
			appliedAt = r.Time // records come oldest first
			break
		}
	}
	if appliedAt.IsZero() {
		return Decision{Verdict: plan.Defer, By: by, Reason: fmt.Sprintf("%s not yet imported in %s", what, p.from)}, nil
	}
	ready := appliedAt.Add(p.soak)
	if req.Now.Before(ready) {
		return Decision{Verdict: plan.Defer, By: by, NotBefore: ready,
			Reason: fmt.Sprintf("%s imported in %s at %s; soaking until %s", what, p.from, appliedAt.Format(time.RFC3339), ready.Format(time.RFC3339))}, nil
	}
	return Decision{Verdict: plan.Approve, By: by,
		Reason: fmt.Sprintf("%s imported in %s at %s, soaked %v", what, p.from, appliedAt.Format(time.RFC3339), req.Now.Sub(appliedAt).Truncate(time.Second))}, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// BadMark says a pack version must not be promoted.
type BadMark struct {
	// Group is the group where the problem was seen.
	Group string
	// Pack and Version identify the pack version; both are required.
	Pack    string
	Version pack.Version
	// SHA256, when set, limits the mark to that exact document; empty marks
	// every document of the version.
	SHA256 string
	// By names who marked it; required.
	By string
	// Reason says what is wrong with it.
	Reason string
	// Time is when it was marked; zero means time.Now().
	Time time.Time
}

// MarkBad records m in l as a [ledger.KindMarkBad] record, so that every
// [Promotion] reading l denies the version from then on. It returns an error
// wrapping [ErrInvalid] when Pack, Version or By is missing, and the
// ledger's error when it cannot append.
func MarkBad(ctx context.Context, l ledger.Ledger, m BadMark) error {
	switch {
	case m.Pack == "":
		return fmt.Errorf("approval: mark bad: %w: empty pack id", ErrInvalid)
	case m.Version.IsZero():
		return fmt.Errorf("approval: mark bad %s: %w: zero version", m.Pack, ErrInvalid)
	case m.By == "":
		return fmt.Errorf("approval: mark bad %s %s: %w: empty by", m.Pack, m.Version, ErrInvalid)
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	err := l.Append(ctx, ledger.Record{Time: m.Time, Kind: ledger.KindMarkBad, Group: m.Group, Pack: m.Pack,
		Version: m.Version, SHA256: m.SHA256, By: m.By, Reason: m.Reason})
	if err != nil {
		return fmt.Errorf("approval: mark bad %s %s: %w", m.Pack, m.Version, err)
	}
	return nil
}
