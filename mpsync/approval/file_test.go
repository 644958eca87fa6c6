package approval_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/pack"
)

func policyOpts() approval.PolicyOptions {
	return approval.PolicyOptions{Name: "p.yaml", Meta: newMemMeta(), Ledger: ledger.NewMemory()}
}

func parse(t *testing.T, src string) *approval.PolicyFile {
	t.Helper()
	pf, err := approval.ParsePolicy(strings.NewReader(src), policyOpts())
	require.NoError(t, err)
	return pf
}

const fullPolicy = `# production
version: 1
policy:
  all:
    - versions:
        - pack: Microsoft.IntelligencePacks.*
          constraint: "~7.1"
        - pack: "*"
          constraint: ">= 7.0"
    - promotion:
        from: QA
        soak: 3d
    - window:
        zone: Europe/Berlin
        allow:
          - cron: "0 2 * * SAT"
            duration: 4h
        deny:
          - {cron: "0 0 24 12 *", duration: 48h, zone: UTC}
    - any:
        - manual
        - freeze: {reason: quarter close}
`

func TestParsePolicyTree(t *testing.T) {
	pf := parse(t, fullPolicy)
	assert.Equal(t, approval.PolicyFormat, pf.Version)
	root := pf.Root
	assert.Equal(t, approval.KindAll, root.Kind)
	assert.Equal(t, "policy.all", root.Field)
	require.Len(t, root.Parts, 4)
	kinds := []string{}
	for _, n := range root.Parts {
		kinds = append(kinds, n.Kind)
	}
	assert.Equal(t, []string{"versions", "promotion", "window", "any"}, kinds)
	assert.Equal(t, 5, root.Parts[0].Line)
	assert.Equal(t, "policy.all[2].window", root.Parts[2].Field)
	assert.Equal(t, "policy.all[3].any[0]", root.Parts[3].Parts[0].Field)

	assert.Equal(t, `all(policy(Microsoft.IntelligencePacks.* ~7.1, * >= 7.0), promotion(from QA, soak 72h0m0s), `+
		`window(allow "0 2 * * SAT" for 4h0m0s (Europe/Berlin), deny "0 0 24 12 *" for 48h0m0s (UTC)), any(manual, freeze))`,
		approval.Name(pf.Approver()))

	w := root.Parts[2].Approver.(*approval.Window)
	assert.Equal(t, "Europe/Berlin", w.Allow()[0].Location().String(), "the window's zone is its spans' default")
	assert.Equal(t, "UTC", w.Deny()[0].Location().String(), "a span's own zone wins")
	require.Len(t, pf.Windows(), 1)

	berlin, _ := time.LoadLocation("Europe/Berlin")
	assert.Equal(t, time.Date(2026, 6, 6, 2, 0, 0, 0, berlin).UTC(), w.NextOpen(time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)).UTC())

	// The freeze inside any is asked after manual.
	f := root.Parts[3].Parts[1].Approver
	d, err := f.Decide(context.Background(), approval.Request{Change: mpsync.Change{ID: "c"}})
	require.NoError(t, err)
	assert.Equal(t, "quarter close", d.Reason)
}

func TestParsePolicyJSON(t *testing.T) {
	// JSON, with tabs, as a pipeline would generate it.
	src := "{\n\t\"version\": 1,\n\t\"policy\": {\"all\": [\n\t\t{\"window\": {\"allow\": [{\"cron\": \"@daily\", \"duration\": \"2h\"}]}},\n\t\t\"manual\"\n\t]}\n}\n"
	pf := parse(t, src)
	assert.Equal(t, `all(window(allow "@daily" for 2h0m0s (UTC)), manual)`, approval.Name(pf.Approver()))

	_, err := approval.ParsePolicy(strings.NewReader("{\n\t\"policy\": {\"window\": {\"allow\": [{\"cron\": \"@daily\", \"duration\": \"2x\"}]}}\n}\n"), policyOpts())
	var pe *approval.PolicyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Line)
	assert.Equal(t, "policy.window.allow[0].duration", pe.Field)
}

func TestParsePolicyScalarsAndDefaults(t *testing.T) {
	tests := map[string]string{
		"policy: auto":                              "auto",
		"policy: {auto: {}}":                        "auto",
		"policy: manual":                            "manual",
		"policy: {manual: null}":                    "manual",
		"policy: freeze":                            "freeze",
		"policy: {freeze: incident 42}":             "freeze",
		"policy: {any: [auto]}":                     "any(auto)",
		"policy: {promotion: {from: QA, soak: 0s}}": "promotion(from QA, soak 0s)",
		"policy:\n  window:\n    deny:\n      - cron: '0 0 * * FRI'\n        duration: 24h\n":                              `window(deny "0 0 * * FRI" for 24h0m0s (UTC))`,
		"policy:\n  window:\n    zone: Europe/Berlin\n    allow: [{cron: 'CRON_TZ=Asia/Tokyo 0 1 * * *', duration: 1h}]\n": `window(allow "CRON_TZ=Asia/Tokyo 0 1 * * *" for 1h0m0s (Asia/Tokyo))`,
		"defaults: &w {cron: '@weekly', duration: 1h}\npolicy: {window: {allow: [*w]}}":                                    "", // unknown top key
	}
	for src, want := range tests {
		t.Run(src, func(t *testing.T) {
			pf, err := approval.ParsePolicy(strings.NewReader(src), policyOpts())
			if want == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, approval.Name(pf.Approver()))
		})
	}

	d, _ := parse(t, "policy: freeze").Approver().Decide(context.Background(), approval.Request{})
	assert.Equal(t, "changes are frozen", d.Reason)
}

func TestParsePolicyOneManual(t *testing.T) {
	pf := parse(t, "policy: {any: [manual, {all: [manual]}]}")
	a := pf.Root.Parts[0].Approver
	b := pf.Root.Parts[1].Parts[0].Approver
	assert.Same(t, a, b, "every manual of a policy is one queue")
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		opts  func(*approval.PolicyOptions)
		line  int
		field string
		msg   string
	}{
		{name: "empty file", src: "", line: 0, field: "", msg: "empty"},
		{name: "syntax", src: "policy:\n  all: [auto\n", line: 2, msg: "syntax"},
		{name: "tab indent", src: "policy:\n\tauto\n", line: 2, msg: "syntax"},
		{name: "not a mapping", src: "- auto\n", line: 1, msg: "want a mapping"},
		{name: "missing policy", src: "version: 1\n", line: 1, field: "policy", msg: "missing"},
		{name: "unknown top key", src: "version: 1\npolicy: auto\nmode: fast\n", line: 3, field: "mode", msg: "unknown field (want version, policy)"},
		{name: "duplicate key", src: "policy: auto\npolicy: manual\n", line: 2, field: "policy", msg: "given twice"},
		{name: "bad version", src: "version: 2\npolicy: auto\n", line: 1, field: "version", msg: `unsupported version "2"`},
		{name: "two documents", src: "policy: auto\n---\npolicy: auto\n", line: 2, msg: "second document"},
		{name: "unknown approver scalar", src: "policy: sometimes\n", line: 1, field: "policy", msg: `unknown approver "sometimes"`},
		{name: "unknown approver key", src: "policy:\n  all:\n    - auto\n    - soak: 3d\n", line: 4, field: "policy.all[1].soak", msg: "unknown approver"},
		{name: "two keys", src: "policy:\n  auto: {}\n  manual: {}\n", line: 2, field: "policy", msg: "exactly one key"},
		{name: "kind needs settings", src: "policy: window\n", line: 1, field: "policy", msg: "window needs settings"},
		{name: "null policy", src: "policy:\n", line: 1, field: "policy", msg: "missing approver"},
		{name: "auto takes none", src: "policy:\n  auto: yes\n", line: 2, field: "policy.auto", msg: "takes no settings"},
		{name: "all not a list", src: "policy:\n  all: auto\n", line: 2, field: "policy.all", msg: "want a list of approver"},
		{name: "empty all", src: "policy:\n  any: []\n", line: 2, field: "policy.any", msg: "empty list"},
		{name: "freeze unknown key", src: "policy:\n  freeze: {why: x}\n", line: 2, field: "policy.freeze.why", msg: "unknown field (want reason)"},
		{name: "window typo", src: "policy:\n  window:\n    alow: []\n", line: 3, field: "policy.window.alow", msg: "unknown field (want allow, deny, zone)"},
		{name: "window empty", src: "policy:\n  window: {zone: UTC}\n", line: 2, field: "policy.window", msg: "needs an allow or a deny list"},
		{name: "window zone", src: "policy:\n  window:\n    zone: Mars/Base\n    allow: [{cron: '@daily', duration: 1h}]\n", line: 3, field: "policy.window.zone", msg: `unknown time zone "Mars/Base"`},
		{name: "span not mapping", src: "policy:\n  window:\n    allow:\n      - '0 2 * * SAT'\n", line: 4, field: "policy.window.allow[0]", msg: "want a span"},
		{name: "span missing cron", src: "policy:\n  window:\n    allow:\n      - duration: 4h\n", line: 4, field: "policy.window.allow[0].cron", msg: "missing"},
		{name: "span missing duration", src: "policy:\n  window:\n    allow:\n      - cron: '@daily'\n", line: 4, field: "policy.window.allow[0].duration", msg: "missing"},
		{name: "bad cron", src: "policy:\n  window:\n    allow:\n      - cron: '61 2 * * SAT'\n        duration: 4h\n", line: 4, field: "policy.window.allow[0].cron", msg: `window "61 2 * * SAT"`},
		{name: "every refused", src: "policy:\n  window:\n    deny:\n      - {cron: '@every 1h', duration: 4h}\n", line: 4, field: "policy.window.deny[0].cron", msg: "@every"},
		{name: "never fires", src: "policy:\n  window:\n    deny:\n      - {cron: '0 0 30 2 *', duration: 4h}\n", line: 4, field: "policy.window.deny[0].cron", msg: "never fires"},
		{name: "bad duration", src: "policy:\n  window:\n    allow:\n      - cron: '@daily'\n        duration: four hours\n", line: 5, field: "policy.window.allow[0].duration", msg: `duration "four hours"`},
		{name: "zero duration", src: "policy:\n  window:\n    allow:\n      - cron: '@daily'\n        duration: 0s\n", line: 5, field: "policy.window.allow[0].duration", msg: "must be positive"},
		{name: "span zone", src: "policy:\n  window:\n    allow:\n      - {cron: '@daily', duration: 1h, zone: Nowhere}\n", line: 4, field: "policy.window.allow[0].zone", msg: "unknown time zone"},
		{name: "two zones", src: "policy:\n  window:\n    allow:\n      - {cron: 'TZ=UTC @daily', duration: 1h, zone: UTC}\n", line: 4, field: "policy.window.allow[0].cron", msg: "time zone"},
		{name: "span typo", src: "policy:\n  window:\n    allow:\n      - {cron: '@daily', duraton: 1h}\n", line: 4, field: "policy.window.allow[0].duraton", msg: "unknown field (want cron, duration, zone)"},
		{name: "promotion no from", src: "policy:\n  promotion:\n    soak: 72h\n", line: 3, field: "policy.promotion.from", msg: "missing"},
		{name: "promotion no soak", src: "policy:\n  promotion:\n    from: QA\n", line: 3, field: "policy.promotion.soak", msg: "missing"},
		{name: "promotion bad soak", src: "policy:\n  promotion:\n    from: QA\n    soak: a while\n", line: 4, field: "policy.promotion.soak", msg: `duration "a while"`},
		{name: "promotion negative soak", src: "policy:\n  promotion: {from: QA, soak: -1h}\n", line: 2, field: "policy.promotion.soak", msg: "negative soak"},
		{name: "promotion from not string", src: "policy:\n  promotion:\n    from: [QA]\n    soak: 1h\n", line: 3, field: "policy.promotion.from", msg: "want a string, got a list"},
		{name: "promotion without ledger", src: "policy:\n  promotion: {from: QA, soak: 1h}\n", opts: func(o *approval.PolicyOptions) { o.Ledger = nil },
			line: 2, field: "policy.promotion", msg: "needs a ledger"},
		{name: "manual without store", src: "policy:\n  all:\n    - manual\n", opts: func(o *approval.PolicyOptions) { o.Meta = nil },
			line: 3, field: "policy.all[0]", msg: "needs a store"},
		{name: "versions not a list", src: "policy:\n  versions: {pack: x, constraint: '1'}\n", line: 2, field: "policy.versions", msg: "want a list of rule"},
		{name: "versions bad constraint", src: "policy:\n  versions:\n    - pack: Microsoft.*\n      constraint: '~>> 7'\n", line: 4, field: "policy.versions[0].constraint", msg: "~>> 7"},
		{name: "versions bad pattern", src: "policy:\n  versions:\n    - pack: 'Microsoft.[a'\n      constraint: '7'\n", line: 3, field: "policy.versions[0].pack", msg: "pattern"},
		{name: "versions missing constraint", src: "policy:\n  versions:\n    - pack: x\n", line: 3, field: "policy.versions[0].constraint", msg: "missing"},
		{name: "versions typo", src: "policy:\n  versions:\n    - {pack: x, constraint: '7', note: y}\n", line: 3, field: "policy.versions[0].note", msg: "unknown field (want pack, constraint)"},
		{name: "nested error", src: "policy:\n  all:\n    - any:\n        - auto\n        - window:\n            allow:\n              - {cron: '@daily', duration: 1y}\n",
			line: 7, field: "policy.all[0].any[1].window.allow[0].duration", msg: `duration "1y"`},
		{name: "key not a name", src: "policy:\n  [a]: b\n", line: 2, field: "policy", msg: "a key must be a name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := policyOpts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := approval.ParsePolicy(strings.NewReader(tc.src), opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, approval.ErrInvalid)
			var pe *approval.PolicyError
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			assert.Equal(t, tc.line, pe.Line, "line: %v", err)
			assert.Equal(t, tc.field, pe.Field, "field: %v", err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "approval policy p.yaml"), err.Error())
			if tc.line > 0 {
				assert.Contains(t, err.Error(), "line ")
			}
			if tc.field != "" {
				assert.Contains(t, err.Error(), "field "+tc.field+":")
			}
		})
	}
}

func TestLoadPolicyFileMissing(t *testing.T) {
	_, err := approval.LoadPolicyFile(t.TempDir()+"/nope.yaml", approval.PolicyOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, approval.ErrInvalid)
	assert.Contains(t, err.Error(), "nope.yaml: cannot read")
}

// The parsed policy decides as its constructors would.
func TestParsedPolicyDecides(t *testing.T) {
	ctx := context.Background()
	opts := policyOpts()
	l := opts.Ledger
	v := pack.MustParseVersion("7.1.10226.1240")
	applied := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	require.NoError(t, l.Append(ctx, ledger.Record{Time: applied, Kind: ledger.KindResult, Group: "QA",
		Action: plan.ActionUpgrade, Pack: "Microsoft.IntelligencePacks.Updates", Version: v, Result: "applied"}))
	pf, err := approval.ParsePolicy(strings.NewReader(`
policy:
  all:
    - versions: [{pack: "Microsoft.IntelligencePacks.*", constraint: "~7.1"}]
    - promotion: {from: QA, soak: 3d}
    - window: {allow: [{cron: "0 2 * * SAT", duration: 4h}]}
`), opts)
	require.NoError(t, err)
	a := pf.Approver()
	c := mpsync.Change{ID: "chg-1", Action: plan.ActionUpgrade, Pack: "Microsoft.IntelligencePacks.Updates", To: v}

	d, err := a.Decide(ctx, approval.Request{Change: c, Now: time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, plan.Defer, d.Verdict, "soaking and outside the window")
	assert.Equal(t, time.Date(2026, 6, 6, 2, 0, 0, 0, time.UTC), d.NotBefore)

	d, err = a.Decide(ctx, approval.Request{Change: c, Now: time.Date(2026, 6, 6, 3, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, plan.Approve, d.Verdict)

	c.To = pack.MustParseVersion("7.2.0.0")
	d, err = a.Decide(ctx, approval.Request{Change: c, Now: time.Date(2026, 6, 6, 3, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, plan.Deny, d.Verdict)
}

// FuzzParsePolicy: no input makes ParsePolicy panic or hang; what it refuses
// is a *PolicyError matching ErrInvalid that names a place in the file, and
// what it accepts builds an approver.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{fullPolicy, "policy: auto\n", "policy: manual\n", `{"policy": {"freeze": "release"}}`,
		"policy:\n  any:\n    - auto\n    - {window: {allow: [{cron: '@daily', duration: 1h}]}}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\npolicy: auto\n",
		"policy:\n  versions:\n    - {pack: 'A.*', constraint: '>= 1.0'}\n", "version: 1\npolicy: [auto\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		pf, err := approval.ParsePolicy(strings.NewReader(src), policyOpts())
		if err != nil {
			var pe *approval.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, approval.ErrInvalid) {
				t.Fatalf("error %v (%T) is not a *PolicyError matching ErrInvalid", err, err)
			}
			if pe.Line < 0 || pe.Column < 0 {
				t.Fatalf("error %v has a negative position %d:%d", err, pe.Line, pe.Column)
			}
			return
		}
		if pf.Root == nil || pf.Approver() == nil {
			t.Fatalf("accepted %q without an approver", src)
		}
		for _, w := range pf.Windows() {
			if _, ok := w.Approver.(*approval.Window); !ok {
				t.Fatalf("window node %s holds %T", w.Field, w.Approver)
			}
		}
	})
}
