package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
)

// TestPipeline runs the two simulated weeks and checks the promotion rules
// against the shared ledger, the record both groups wrote.
func TestPipeline(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	sim, err := run(ctx, &out)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	applied := func(group string) []ledger.Record {
		t.Helper()
		recs, err := sim.Ledger.Query(ctx, ledger.Query{Kind: ledger.KindResult, Group: group})
		if err != nil {
			t.Fatal(err)
		}
		var out []ledger.Record
		for _, r := range recs {
			if r.Result == string(mpsync.ResultApplied) && (r.Action == plan.ActionImport || r.Action == plan.ActionUpgrade) {
				out = append(out, r)
			}
		}
		return out
	}
	qa, prod := applied(qaGroup), applied(prodGroup)
	if len(qa) != 9 {
		t.Errorf("QA applied %d pack versions, want 9 (6 at first start, 3 published in week two)", len(qa))
	}
	if len(prod) != 7 {
		t.Errorf("Production applied %d pack versions, want 7 (6 in week one's window, the fix in week two's)", len(prod))
	}

	// Every version Production took soaked 72 h in QA (the exact bytes) and
	// arrived inside the Saturday window.
	for _, p := range prod {
		if !sim.Window.Open(p.Time) {
			t.Errorf("Production applied %s %s at %s, outside the window", p.Pack, p.Version, p.Time.Format(time.RFC3339))
		}
		var soaked bool
		for _, q := range qa {
			if q.Pack == p.Pack && q.Version.Equal(p.Version) && q.SHA256 == p.SHA256 {
				if d := p.Time.Sub(q.Time); d >= soak {
					soaked = true
				} else {
					t.Errorf("Production applied %s %s after only %v in QA", p.Pack, p.Version, d)
				}
			}
		}
		if !soaked {
			t.Errorf("Production applied %s %s (sha256 %s), which QA never applied", p.Pack, p.Version, p.SHA256)
		}
	}

	// The version QA marked bad reached QA, was denied in Production, and
	// never applied there.
	if !contains(qa, sim.Bad) {
		t.Errorf("QA never applied the bad version %s %s: the scenario did not run", sim.Bad.Pack, sim.Bad.Version)
	}
	if contains(prod, sim.Bad) {
		t.Errorf("the version marked bad, %s %s, reached Production", sim.Bad.Pack, sim.Bad.Version)
	}
	q := sim.Bad
	q.Kind, q.Group = ledger.KindDecision, prodGroup
	decisions, err := sim.Ledger.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var denied bool
	for _, d := range decisions {
		denied = denied || (d.Verdict == plan.Deny && strings.Contains(d.Reason, "marked bad"))
	}
	if !denied {
		t.Errorf("Production never denied %s %s as marked bad (%d decisions on it)", sim.Bad.Pack, sim.Bad.Version, len(decisions))
	}

	// The version published Wednesday finished its soak after the window
	// closed: it is in QA and waits in Production for the next Saturday.
	if !contains(qa, sim.Late) || contains(prod, sim.Late) {
		t.Errorf("%s %s: in QA %t, in Production %t; want QA only", sim.Late.Pack, sim.Late.Version, contains(qa, sim.Late), contains(prod, sim.Late))
	}
	q = sim.Late
	q.Kind, q.Group = ledger.KindDecision, prodGroup
	decisions, err = sim.Ledger.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(decisions) == 0 {
		t.Fatalf("Production never asked about %s %s", sim.Late.Pack, sim.Late.Version)
	}
	nextSaturday := time.Date(2026, 12, 5, 2, 0, 0, 0, sim.Window.Allow()[0].Location())
	if last := decisions[len(decisions)-1]; last.Verdict != plan.Defer || !strings.Contains(last.Reason, nextSaturday.Format(time.RFC3339)) {
		t.Errorf("last decision on %s %s: %s %q, want a deferral to %s", sim.Late.Pack, sim.Late.Version, last.Verdict, last.Reason, nextSaturday.Format(time.RFC3339))
	}

	// The summary says so in words.
	text := out.String()
	for _, want := range []string{
		"never: marked bad by qa-oncall",
		"waiting until Sat 05 Dec 02:00",
		"Sat 28 Nov 02:00  Production  upgrade Microsoft.IntelligencePacks.UpdateAssessment 7.2.11760.0: applied",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func contains(recs []ledger.Record, q ledger.Query) bool {
	for _, r := range recs {
		if r.Pack == q.Pack && r.Version.Equal(q.Version) {
			return true
		}
	}
	return false
}
