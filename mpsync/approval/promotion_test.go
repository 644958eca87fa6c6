package approval_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/pack"
)

func applied(group string, at time.Time, action plan.Action, p, v, sha, result string) ledger.Record {
	return ledger.Record{Time: at, Kind: ledger.KindResult, Group: group, Action: action, Pack: p,
		Version: pack.MustParseVersion(v), SHA256: sha, Result: result}
}

func TestPromotion(t *testing.T) {
	const p = "Microsoft.IntelligencePacks.Updates"
	soak := 24 * time.Hour
	up := change("chg-1", plan.ActionUpgrade, p, "7.1.0.2", "aa")
	qaAt := t0
	cases := []struct {
		name      string
		records   []ledger.Record
		bad       []approval.BadMark
		change    mpsync.Change
		now       time.Time
		want      plan.Verdict
		notBefore time.Time
		reason    string
	}{
		{"not imported", nil, nil, up, t0, plan.Defer, time.Time{}, "not yet imported in QA"},
		{"soaking", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "applied")}, nil,
			up, qaAt.Add(time.Hour), plan.Defer, qaAt.Add(soak), "soaking until"},
		{"soaked exactly", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "applied")}, nil,
			up, qaAt.Add(soak), plan.Approve, time.Time{}, "soaked 24h"},
		{"earliest application counts", []ledger.Record{
			applied("QA", qaAt.Add(10*time.Hour), plan.ActionImport, p, "7.1.0.2", "aa", "applied"),
			applied("QA", qaAt, plan.ActionImport, p, "7.1.0.2", "aa", "applied")}, nil,
			up, qaAt.Add(soak), plan.Approve, time.Time{}, ""},
		{"failed in QA does not count", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "failed")}, nil,
			up, qaAt.Add(48 * time.Hour), plan.Defer, time.Time{}, "not yet imported"},
		{"other group does not count", []ledger.Record{applied("DEV", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "applied")}, nil,
			up, qaAt.Add(48 * time.Hour), plan.Defer, time.Time{}, "not yet imported"},
		{"other hash does not count", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "zz", "applied")}, nil,
			up, qaAt.Add(48 * time.Hour), plan.Defer, time.Time{}, "not yet imported"},
		{"other version does not count", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.1", "aa", "applied")}, nil,
			up, qaAt.Add(48 * time.Hour), plan.Defer, time.Time{}, "not yet imported"},
		{"removal in QA does not count", []ledger.Record{applied("QA", qaAt, plan.ActionRemove, p, "7.1.0.2", "aa", "applied")}, nil,
			up, qaAt.Add(48 * time.Hour), plan.Defer, time.Time{}, "not yet imported"},
		{"marked bad", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "applied")},
			[]approval.BadMark{{Group: "QA", Pack: p, Version: pack.MustParseVersion("7.1.0.2"), By: "bob", Reason: "floods alerts", Time: qaAt.Add(time.Hour)}},
			up, qaAt.Add(48 * time.Hour), plan.Deny, time.Time{}, "floods alerts"},
		{"marked bad for another hash", []ledger.Record{applied("QA", qaAt, plan.ActionUpgrade, p, "7.1.0.2", "aa", "applied")},
			[]approval.BadMark{{Group: "QA", Pack: p, Version: pack.MustParseVersion("7.1.0.2"), SHA256: "zz", By: "bob", Time: qaAt}},
			up, qaAt.Add(48 * time.Hour), plan.Approve, time.Time{}, ""},
		{"marked bad before import", nil,
			[]approval.BadMark{{Group: "PROD", Pack: p, Version: pack.MustParseVersion("7.1.0.2"), SHA256: "aa", By: "bob", Time: qaAt}},
			up, qaAt, plan.Deny, time.Time{}, "marked bad in PROD by bob"},
		{"removal approved", nil, nil, change("chg-r", plan.ActionRemove, p, "", ""), t0, plan.Approve, time.Time{}, "removals"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			l := ledger.NewMemory()
			for _, r := range c.records {
				if err := l.Append(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			for _, b := range c.bad {
				if err := approval.MarkBad(ctx, l, b); err != nil {
					t.Fatal(err)
				}
			}
			pr, err := approval.NewPromotion(l, "QA", soak)
			if err != nil {
				t.Fatal(err)
			}
			d := decide(t, pr, req(c.change, c.now))
			if d.Verdict != c.want || !d.NotBefore.Equal(c.notBefore) || !strings.Contains(d.Reason, c.reason) {
				t.Errorf("Decide = %+v, want %s NotBefore %v reason containing %q", d, c.want, c.notBefore, c.reason)
			}
			if d.By != pr.String() {
				t.Errorf("By = %q, want %q", d.By, pr.String())
			}
		})
	}
}

type failingLedger struct{ err error }

func (f failingLedger) Append(context.Context, ledger.Record) error { return f.err }
func (f failingLedger) Query(context.Context, ledger.Query) ([]ledger.Record, error) {
	return nil, f.err
}

func TestPromotionErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		l    ledger.Ledger
		from string
		soak time.Duration
	}{
		{"nil ledger", nil, "QA", time.Hour},
		{"empty group", ledger.NewMemory(), "", time.Hour},
		{"negative soak", ledger.NewMemory(), "QA", -time.Second},
	} {
		if _, err := approval.NewPromotion(c.l, c.from, c.soak); !errors.Is(err, approval.ErrInvalid) {
			t.Errorf("%s: NewPromotion = %v, want ErrInvalid", c.name, err)
		}
	}
	boom := errors.New("ledger offline")
	pr, err := approval.NewPromotion(failingLedger{boom}, "QA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pr.Decide(ctx, req(change("chg-1", plan.ActionImport, "P", "1.0", "aa"), t0))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "pack P") {
		t.Errorf("Decide on a failing ledger = %v", err)
	}
	v := pack.MustParseVersion("1.0")
	for _, m := range []approval.BadMark{{Version: v, By: "x"}, {Pack: "P", By: "x"}, {Pack: "P", Version: v}} {
		if err := approval.MarkBad(ctx, ledger.NewMemory(), m); !errors.Is(err, approval.ErrInvalid) {
			t.Errorf("MarkBad(%+v) = %v, want ErrInvalid", m, err)
		}
	}
	if err := approval.MarkBad(ctx, failingLedger{boom}, approval.BadMark{Pack: "P", Version: v, By: "x"}); !errors.Is(err, boom) {
		t.Errorf("MarkBad on a failing ledger = %v", err)
	}
}
