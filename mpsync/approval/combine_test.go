package approval_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval"
)

// fixed is an approver with a canned answer that counts its calls.
type fixed struct {
	name  string
	d     approval.Decision
	err   error
	calls *int
}

func (f fixed) String() string { return f.name }

func (f fixed) Decide(context.Context, approval.Request) (approval.Decision, error) {
	*f.calls++
	return f.d, f.err
}

func TestCombinators(t *testing.T) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	yes := approval.Decision{Verdict: plan.Approve, Reason: "ok"}
	no := approval.Decision{Verdict: plan.Deny, Reason: "no"}
	later := func(h int) approval.Decision {
		return approval.Decision{Verdict: plan.Defer, Reason: "later", NotBefore: at(h)}
	}
	someday := approval.Decision{Verdict: plan.Defer, Reason: "someday"}

	cases := []struct {
		name      string
		any       bool
		parts     []approval.Decision
		want      plan.Verdict
		notBefore time.Time
		by        string
		calls     []int // calls per part
	}{
		{"all approve", false, []approval.Decision{yes, yes}, plan.Approve, time.Time{}, "p0; p1", []int{1, 1}},
		{"all: deny short-circuits", false, []approval.Decision{yes, no, yes}, plan.Deny, time.Time{}, "p1", []int{1, 1, 0}},
		{"all: deny after defer wins", false, []approval.Decision{later(2), no}, plan.Deny, time.Time{}, "p1", []int{1, 1}},
		{"all: defer asks every part", false, []approval.Decision{later(2), yes, someday}, plan.Defer, at(2), "p0; p2", []int{1, 1, 1}},
		{"all: latest NotBefore", false, []approval.Decision{later(2), later(5), later(3)}, plan.Defer, at(5), "p0; p1; p2", []int{1, 1, 1}},
		{"any: approve short-circuits", true, []approval.Decision{no, yes, no}, plan.Approve, time.Time{}, "p1", []int{1, 1, 0}},
		{"any: all deny", true, []approval.Decision{no, no}, plan.Deny, time.Time{}, "p0; p1", []int{1, 1}},
		{"any: earliest NotBefore", true, []approval.Decision{later(5), no, later(3)}, plan.Defer, at(3), "p0; p2", []int{1, 1, 1}},
		{"any: unknown time wins", true, []approval.Decision{later(5), someday}, plan.Defer, time.Time{}, "p0; p1", []int{1, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := make([]int, len(c.parts))
			var parts []approval.Approver
			for i, d := range c.parts {
				parts = append(parts, fixed{name: "p" + string(rune('0'+i)), d: d, calls: &calls[i]})
			}
			build := approval.All
			if c.any {
				build = approval.Any
			}
			comb, err := build(parts...)
			if err != nil {
				t.Fatal(err)
			}
			d := decide(t, comb, req(change("chg", plan.ActionImport, "P", "1.0", ""), t0))
			if d.Verdict != c.want || !d.NotBefore.Equal(c.notBefore) || d.By != c.by {
				t.Errorf("Decide = %+v, want %s NotBefore %v By %q", d, c.want, c.notBefore, c.by)
			}
			for i := range calls {
				if calls[i] != c.calls[i] {
					t.Errorf("part %d asked %d times, want %d", i, calls[i], c.calls[i])
				}
			}
		})
	}
}

func TestCombinatorErrors(t *testing.T) {
	if _, err := approval.All(); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("All() = %v", err)
	}
	if _, err := approval.Any(approval.Auto(), nil); !errors.Is(err, approval.ErrInvalid) || !strings.Contains(err.Error(), "approver 2") {
		t.Errorf("Any(auto, nil) = %v", err)
	}
	boom := errors.New("boom")
	n := 0
	comb, err := approval.All(fixed{name: "broken", err: boom, calls: &n}, approval.Freeze(""))
	if err != nil {
		t.Fatal(err)
	}
	_, err = comb.Decide(context.Background(), req(change("chg-9", plan.ActionImport, "P", "1.0", ""), t0))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "chg-9") {
		t.Errorf("Decide with a failing part = %v", err)
	}
	n = 0
	odd, _ := approval.All(fixed{name: "odd", d: approval.Decision{Verdict: "maybe"}, calls: &n})
	if _, err := odd.Decide(context.Background(), req(change("c", plan.ActionImport, "P", "1.0", ""), t0)); err == nil {
		t.Error("an unknown verdict was accepted")
	}
	if s := comb.String(); s != "all(broken, freeze)" {
		t.Errorf("String = %q", s)
	}
	if len(comb.Parts()) != 2 {
		t.Error("Parts lost an approver")
	}
}

func TestAutoFreezeName(t *testing.T) {
	r := req(change("c", plan.ActionImport, "P", "1.0", ""), t0)
	if d := decide(t, approval.Auto(), r); d.Verdict != plan.Approve || d.By != "auto" {
		t.Errorf("Auto = %+v", d)
	}
	if d := decide(t, approval.Freeze("incident 42"), r); d.Verdict != plan.Deny || d.Reason != "incident 42" || d.By != "freeze" {
		t.Errorf("Freeze = %+v", d)
	}
	if d := decide(t, approval.Freeze(""), r); d.Reason == "" {
		t.Error("Freeze without reason gives no reason")
	}
	if got := approval.Name(approval.ApproverFunc(nil)); got != "approval.ApproverFunc" {
		t.Errorf("Name(func) = %q", got)
	}
}

func TestParseMode(t *testing.T) {
	meta := newMemMeta()
	cases := []struct {
		mode string
		name string // "" means an error is expected
	}{
		{"auto", "auto"},
		{" auto ", "auto"},
		{"freeze", "freeze"},
		{"freeze:quarter close", "freeze"},
		{"manual", "manual"},
		{"window:0 2 * * SAT:4h:Europe/Berlin", `window(allow "0 2 * * SAT" for 4h0m0s (Europe/Berlin))`},
		{"window:@daily:30m", `window(allow "@daily" for 30m0s (UTC))`},
		{"window:0 2 * * SAT", ""},
		{"window:0 2 * * SAT:4x", ""},
		{"window:0 2 * * SAT:-4h", ""},
		{"window:0 2 * * SAT:4h:Nowhere/Land", ""},
		{"window:0 2 * * SAT:4h:UTC:extra", ""},
		{"window:0 99 * * SAT:4h", ""},
		{"auto:now", ""},
		{"sometimes", ""},
		{"", ""},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			a, err := approval.ParseMode(c.mode, meta)
			if c.name == "" {
				if !errors.Is(err, approval.ErrInvalid) || !strings.Contains(err.Error(), c.mode) {
					t.Fatalf("ParseMode(%q) = %v, %v; want ErrInvalid quoting the mode", c.mode, a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := approval.Name(a); got != c.name {
				t.Errorf("ParseMode(%q) = %s, want %s", c.mode, got, c.name)
			}
		})
	}
	if _, err := approval.ParseMode("manual", nil); !errors.Is(err, approval.ErrInvalid) {
		t.Errorf("manual without a store = %v", err)
	}
	a, _ := approval.ParseMode("freeze:quarter close", nil)
	if d := decide(t, a, req(change("c", plan.ActionImport, "P", "1.0", ""), t0)); d.Reason != "quarter close" {
		t.Errorf("freeze reason = %q", d.Reason)
	}
}
