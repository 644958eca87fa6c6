package approval

import (
	"context"
	"fmt"
	"path"
	"strings"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/pack"
)

// PolicyRule limits the versions a pack may be imported or upgraded to.
type PolicyRule struct {
	// Pattern selects pack ids, with [path.Match] syntax: "*" matches any run
	// of characters (pack ids hold no "/"), "?" one character, "[...]" a
	// class. "Microsoft.IntelligencePacks.*" selects every solution pack.
	Pattern string
	// Constraint is a version constraint in [pack.ParseConstraint] syntax
	// ("~7.1", ">= 7.0.8433, < 8", "!= 7.1.10226.1239").
	Constraint string
}

// Policy is an approver that denies an import or upgrade whose target
// version violates the constraint of the first [PolicyRule] whose pattern
// matches the pack id. Rules are tried in the order given and only the
// first match applies, so put specific patterns before general ones. A
// change no rule matches, and every removal, is approved. Policy is meant
// to be combined with others by [All].
type Policy struct {
	rules []policyRule
}

type policyRule struct {
	PolicyRule
	c pack.Constraint
}

// NewPolicy checks every rule's pattern and constraint and returns the
// policy. It returns an error wrapping [ErrInvalid] naming the first bad
// rule.
func NewPolicy(rules ...PolicyRule) (*Policy, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("approval: policy: %w: no rules", ErrInvalid)
	}
	p := &Policy{}
	for i, r := range rules {
		if r.Pattern == "" {
			return nil, fmt.Errorf("approval: policy rule %d: %w: empty pattern", i+1, ErrInvalid)
		}
		if _, err := path.Match(r.Pattern, ""); err != nil {
			return nil, fmt.Errorf("approval: policy rule %d: %w: pattern %q: %v", i+1, ErrInvalid, r.Pattern, err)
		}
		c, err := pack.ParseConstraint(r.Constraint)
		if err != nil {
			return nil, fmt.Errorf("approval: policy rule %d (%s): %w: %v", i+1, r.Pattern, ErrInvalid, err)
		}
		p.rules = append(p.rules, policyRule{PolicyRule: r, c: c})
	}
	return p, nil
}

// Rules returns the policy's rules in order.
func (p *Policy) Rules() []PolicyRule {
	out := make([]PolicyRule, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.PolicyRule
	}
	return out
}

// String returns "policy(<pattern> <constraint>, ...)".
func (p *Policy) String() string {
	parts := make([]string, len(p.rules))
	for i, r := range p.rules {
		parts[i] = r.Pattern + " " + r.Constraint
	}
	return "policy(" + strings.Join(parts, ", ") + ")"
}

// Decide approves or denies as [Policy] describes; it never defers.
func (p *Policy) Decide(_ context.Context, req Request) (Decision, error) {
	c := req.Change
	if isRemoval(c) {
		return Decision{Verdict: plan.Approve, By: "policy", Reason: "removals are not limited by version policy"}, nil
	}
	for i, r := range p.rules {
		if ok, _ := path.Match(r.Pattern, c.Pack); !ok {
			continue
		}
		if !r.c.Check(c.To) {
			return Decision{Verdict: plan.Deny, By: "policy",
				Reason: fmt.Sprintf("pack %s version %s violates policy rule %d (%s must satisfy %q)", c.Pack, c.To, i+1, r.Pattern, r.Constraint)}, nil
		}
		return Decision{Verdict: plan.Approve, By: "policy",
			Reason: fmt.Sprintf("pack %s version %s satisfies policy rule %d (%s %q)", c.Pack, c.To, i+1, r.Pattern, r.Constraint)}, nil
	}
	return Decision{Verdict: plan.Approve, By: "policy", Reason: fmt.Sprintf("no policy rule matches pack %s", c.Pack)}, nil
}
