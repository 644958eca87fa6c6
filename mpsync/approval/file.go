package approval

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"mpsync.dev/mpsync/ledger"

	"go.yaml.in/yaml/v3"

	"mpsync.dev/mpsync/pack"
)

// PolicyFormat is the version of the policy file format that
// [ParsePolicy] reads; a file's "version" key, when present, must equal it.
const PolicyFormat = 1

// The kinds of node a policy file holds: [PolicyNode.Kind].
const (
	KindAuto      = "auto"
	KindManual    = "manual"
	KindFreeze    = "freeze"
	KindWindow    = "window"
	KindPromotion = "promotion"
	KindVersions  = "versions"
	KindAll       = "all"
	KindAny       = "any"
)

var policyKinds = []string{KindAuto, KindManual, KindFreeze, KindWindow, KindPromotion, KindVersions, KindAll, KindAny}

// PolicyOptions supplies what some approvers of a policy file need from
// the program that reads it.
type PolicyOptions struct {
	// Name names the policy in errors, usually its file name; empty reads
	// "policy". [LoadPolicyFile] sets it to the path.
	Name string
	// Meta keeps the queue of a manual approver ([NewManual]); required
	// when the policy holds manual. Every manual in one policy is the same
	// [Manual], so an approval given once counts everywhere in it.
	Meta Meta
	// ManualOptions configure that [Manual].
	ManualOptions []ManualOption
	// Ledger is where a promotion reads the source group's results and the
	// versions marked bad ([NewPromotion]); required when the policy holds
	// a promotion. The policy names the source group; the program decides
	// which ledger holds its records (a ledger the groups share, such as
	// [mpsync.dev/mpsync/pgledger]'s).
	Ledger ledger.Ledger
}

// PolicyError is an error in a policy file. It names the line and column
// of the offending node and the field, as a path from the top of the file
// such as "policy.all[1].window.allow[0].duration". It matches
// [ErrInvalid] with [errors.Is].
type PolicyError struct {
	// Name is [PolicyOptions.Name].
	Name string
	// Line and Column locate the node, from 1; 0 when not known (an
	// unreadable file).
	Line, Column int
	// Field is the path to the field; empty for the file as a whole or a
	// syntax error.
	Field string
	// Err says what is wrong.
	Err error
}

// Error returns "approval policy NAME: line L, column C: field F: what".
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("approval policy ")
	b.WriteString(e.Name)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "approval: "))
	return b.String()
}

// Unwrap returns [ErrInvalid] and the cause.
func (e *PolicyError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// PolicyNode is one approver of a policy file as [ParsePolicy] read it.
type PolicyNode struct {
	// Kind is what the node is: one of the Kind constants.
	Kind string
	// Field is its path from the top of the file ("policy.all[0]").
	Field string
	// Line is the line it starts on.
	Line int
	// Approver is the approver the node built: [Auto], a [*Manual],
	// [Freeze], a [*Window], a [*Promotion], a [*Policy] or a [*Combined].
	Approver Approver
	// Parts are the nodes an all or any combines, in order.
	Parts []*PolicyNode
}

// PolicyFile is a parsed approval policy: the tree of approvers a policy
// file describes and the approver they make.
type PolicyFile struct {
	// Name is [PolicyOptions.Name].
	Name string
	// Version is the file's format version ([PolicyFormat]).
	Version int
	// Root is the top approver, the file's "policy" key.
	Root *PolicyNode
}

// Approver returns the approver the policy describes, for
// [mpsync.dev/mpsync.Options.Approver].
func (p *PolicyFile) Approver() Approver { return p.Root.Approver }

// Windows returns the window nodes of the policy in file order, for a
// display of when each opens next ([Window.NextOpen]).
func (p *PolicyFile) Windows() []*PolicyNode {
	var out []*PolicyNode
	var walk func(*PolicyNode)
	walk = func(n *PolicyNode) {
		if n.Kind == KindWindow {
			out = append(out, n)
		}
		for _, c := range n.Parts {
			walk(c)
		}
	}
	walk(p.Root)
	return out
}

// LoadPolicyFile reads the policy file at name with [ParsePolicy]; opts.Name
// defaults to name.
func LoadPolicyFile(name string, opts PolicyOptions) (*PolicyFile, error) {
	if opts.Name == "" {
		opts.Name = name
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &PolicyError{Name: opts.Name, Err: fmt.Errorf("cannot read: %w", err)}
	}
	defer f.Close()
	return ParsePolicy(f, opts)
}

// ParsePolicy reads an approval policy in YAML or JSON (JSON is read as
// the YAML it also is) and builds the approver it describes from the
// constructors of this package. The file is a mapping with an optional
// "version" (1) and a "policy", which is one approver node:
//
//	version: 1
//	policy:
//	  all:                          # every part must approve (any: one must)
//	    - versions:                 # Policy: pack-id pattern -> constraint
//	        - pack: Microsoft.IntelligencePacks.*
//	          constraint: "~7.1"
//	    - promotion:                # Promotion through PolicyOptions.Ledger
//	        from: QA
//	        soak: 72h               # Go duration, or whole days: 3d
//	    - window:                   # Window; zone is the default of its spans
//	        zone: Europe/Berlin
//	        allow:
//	          - {cron: "0 2 * * SAT", duration: 4h}
//	        deny:
//	          - {cron: "0 0 20 12 *", duration: 336h, zone: UTC}
//	    - manual                    # Manual on PolicyOptions.Meta
//
// A node is a scalar naming an approver without settings (auto, manual,
// freeze) or a mapping with exactly one key naming its kind: auto: {},
// manual: {}, freeze: "reason" or freeze: {reason: ...}, window: {allow,
// deny, zone}, promotion: {from, soak}, versions: [{pack, constraint}],
// all: [nodes], any: [nodes]. A span is {cron, duration, zone}: cron in
// the syntax of [NewSpan], duration a positive Go duration or whole days,
// zone an IANA name (default: the window's zone, else UTC).
//
// Unknown keys, duplicate keys, a missing required key, a value of the
// wrong type and every value a constructor refuses are errors: a
// [*PolicyError] naming the line, the column and the field, which matches
// [ErrInvalid].
func ParsePolicy(r io.Reader, opts PolicyOptions) (*PolicyFile, error) {
	if opts.Name == "" {
		opts.Name = "policy"
	}
	p := &parser{opts: opts}
	dec := yaml.NewDecoder(r)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errorf(nil, "", "the file is empty; want a mapping with a policy key")
		}
		return nil, p.syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, p.syntaxError(err)
		}
		return nil, p.errorf(&extra, "", "a second document; a policy file holds one")
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root, "", "want a mapping with a policy key, got %s", describe(root))
	}
	fields, err := p.fields(root, "", []string{"version", "policy"})
	if err != nil {
		return nil, err
	}
	pf := &PolicyFile{Name: opts.Name, Version: PolicyFormat}
	if v, ok := fields["version"]; ok {
		n, err := strconv.Atoi(v.Value)
		if v.Kind != yaml.ScalarNode || err != nil || n != PolicyFormat {
			return nil, p.errorf(v, "version", "unsupported version %s; this release reads version %d", quoteNode(v), PolicyFormat)
		}
	}
	pol, ok := fields["policy"]
	if !ok {
		return nil, p.errorf(root, "policy", "missing; it holds the approver (auto, manual, freeze, window, promotion, versions, all, any)")
	}
	node, err := p.node(pol, "policy")
	if err != nil {
		return nil, err
	}
	pf.Root = node
	return pf, nil
}

// parser reads one policy file.
type parser struct {
	opts   PolicyOptions
	manual *Manual
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlParserProblems are the problems yaml.v3's parser (not its scanner)
// reports; their line is counted from 0, the scanner's from 1.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected key", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "found duplicate %YAML directive",
	"found duplicate %TAG directive", "found incompatible YAML document",
	"found undefined tag handle",
}

func (p *parser) syntaxError(err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if slices.Contains(yamlParserProblems, msg) {
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &PolicyError{Name: p.opts.Name, Line: line, Err: fmt.Errorf("syntax: %s", msg)}
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) error {
	return p.wrap(n, field, fmt.Errorf(format, args...))
}

func (p *parser) wrap(n *yaml.Node, field string, err error) error {
	e := &PolicyError{Name: p.opts.Name, Field: field, Err: err}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "the value " + strconv.Quote(n.Value)
	}
	return "a document"
}

func quoteNode(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return describe(n)
}

func fieldPath(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// fields returns the values of mapping n by key, refusing keys not in
// allowed, duplicates and keys that are not strings.
func (p *parser) fields(n *yaml.Node, field string, allowed []string) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k, field, "a key must be a name, got %s", describe(k))
		}
		f := fieldPath(field, k.Value)
		if !slices.Contains(allowed, k.Value) {
			return nil, p.errorf(k, f, "unknown field (want %s)", strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errorf(k, f, "given twice")
		}
		out[k.Value] = v
	}
	return out, nil
}

// str reads a non-empty string scalar.
func (p *parser) str(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return "", p.errorf(n, field, "want a string, got %s", describe(n))
	}
	s := strings.TrimSpace(n.Value)
	if s == "" {
		return "", p.errorf(n, field, "empty")
	}
	return s, nil
}

// required returns fields[key] or an error on parent naming the field.
func (p *parser) required(fields map[string]*yaml.Node, parent *yaml.Node, field, key string) (*yaml.Node, error) {
	v, ok := fields[key]
	if !ok {
		return nil, p.errorf(parent, fieldPath(field, key), "missing")
	}
	return v, nil
}

// duration reads a Go duration ("72h", "90m") or whole days ("3d").
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, error) {
	s, err := p.str(n, field)
	if err != nil {
		return 0, err
	}
	return parseDuration(s, func(err error) error { return p.wrap(n, field, err) })
}

func parseDuration(s string, wrap func(error) error) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, wrap(fmt.Errorf("duration %q: want a Go duration such as 72h or whole days such as 3d", s))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, wrap(fmt.Errorf("duration %q: want a Go duration such as 72h or whole days such as 3d", s))
	}
	return d, nil
}

// list reads a non-empty sequence.
func (p *parser) list(n *yaml.Node, field, what string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, field, "want a list of %s, got %s", what, describe(n))
	}
	if len(n.Content) == 0 {
		return nil, p.errorf(n, field, "empty list; want at least one %s", what)
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out, nil
}

// node reads one approver node.
func (p *parser) node(n *yaml.Node, field string) (*PolicyNode, error) {
	want := "want one of " + strings.Join(policyKinds, ", ")
	var kind string
	var val *yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			return nil, p.errorf(n, field, "missing approver; %s", want)
		}
		kind = n.Value
		switch kind {
		case KindAuto, KindManual, KindFreeze:
		case KindWindow, KindPromotion, KindVersions, KindAll, KindAny:
			return nil, p.errorf(n, field, "%s needs settings (%s: ...)", kind, kind)
		default:
			return nil, p.errorf(n, field, "unknown approver %q; %s", kind, want)
		}
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			keys := make([]string, 0, len(n.Content)/2)
			for i := 0; i < len(n.Content); i += 2 {
				keys = append(keys, deref(n.Content[i]).Value)
			}
			return nil, p.errorf(n, field, "an approver is a mapping with exactly one key, got %d (%s); combine several with all or any", len(keys), strings.Join(keys, ", "))
		}
		k := deref(n.Content[0])
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k, field, "a key must be a name, got %s", describe(k))
		}
		kind, val = k.Value, deref(n.Content[1])
		if !slices.Contains(policyKinds, kind) {
			return nil, p.errorf(k, fieldPath(field, kind), "unknown approver; %s", want)
		}
	default:
		return nil, p.errorf(n, field, "want an approver (%s), got %s", strings.Join(policyKinds, ", "), describe(n))
	}
	f := field
	if val != nil {
		f = fieldPath(field, kind)
	}
	out := &PolicyNode{Kind: kind, Field: f, Line: n.Line}
	var err error
	switch kind {
	case KindAuto:
		err = p.noSettings(val, f)
		out.Approver = Auto()
	case KindManual:
		if err = p.noSettings(val, f); err == nil {
			out.Approver, err = p.manualApprover(n, f)
		}
	case KindFreeze:
		out.Approver, err = p.freeze(val, f)
	case KindWindow:
		out.Approver, err = p.window(val, f)
	case KindPromotion:
		out.Approver, err = p.promotion(val, f)
	case KindVersions:
		out.Approver, err = p.versions(val, f)
	case KindAll, KindAny:
		out.Parts, out.Approver, err = p.combine(kind, val, f)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (p *parser) noSettings(val *yaml.Node, field string) error {
	if val == nil || isNull(val) || (val.Kind == yaml.MappingNode && len(val.Content) == 0) {
		return nil
	}
	return p.errorf(val, field, "takes no settings, got %s", describe(val))
}

func (p *parser) manualApprover(n *yaml.Node, field string) (Approver, error) {
	if p.opts.Meta == nil {
		return nil, p.errorf(n, field, "manual approval needs a store to keep its queue (PolicyOptions.Meta)")
	}
	if p.manual == nil {
		p.manual = NewManual(p.opts.Meta, p.opts.ManualOptions...)
	}
	return p.manual, nil
}

func (p *parser) freeze(val *yaml.Node, field string) (Approver, error) {
	switch {
	case val == nil || isNull(val):
		return Freeze(""), nil
	case val.Kind == yaml.ScalarNode:
		return Freeze(strings.TrimSpace(val.Value)), nil
	case val.Kind == yaml.MappingNode:
		fs, err := p.fields(val, field, []string{"reason"})
		if err != nil {
			return nil, err
		}
		reason := ""
		if r, ok := fs["reason"]; ok {
			if reason, err = p.str(r, fieldPath(field, "reason")); err != nil {
				return nil, err
			}
		}
		return Freeze(reason), nil
	}
	return nil, p.errorf(val, field, "want a reason or {reason: ...}, got %s", describe(val))
}

func (p *parser) window(val *yaml.Node, field string) (Approver, error) {
	if val.Kind != yaml.MappingNode {
		return nil, p.errorf(val, field, "want a mapping with allow, deny and zone, got %s", describe(val))
	}
	fs, err := p.fields(val, field, []string{"allow", "deny", "zone"})
	if err != nil {
		return nil, err
	}
	var zone *time.Location
	if z, ok := fs["zone"]; ok {
		if zone, err = p.zone(z, fieldPath(field, "zone")); err != nil {
			return nil, err
		}
	}
	spans := map[string][]Span{}
	for _, key := range []string{"allow", "deny"} {
		v, ok := fs[key]
		if !ok {
			continue
		}
		items, err := p.list(v, fieldPath(field, key), "span ({cron, duration, zone})")
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			s, err := p.span(it, fmt.Sprintf("%s.%s[%d]", field, key, i), zone)
			if err != nil {
				return nil, err
			}
			spans[key] = append(spans[key], s)
		}
	}
	if len(spans["allow"])+len(spans["deny"]) == 0 {
		return nil, p.errorf(val, field, "needs an allow or a deny list")
	}
	w, err := NewWindow(spans["allow"], spans["deny"])
	if err != nil {
		return nil, p.wrap(val, field, err)
	}
	return w, nil
}

func (p *parser) zone(n *yaml.Node, field string) (*time.Location, error) {
	s, err := p.str(n, field)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, p.errorf(n, field, "unknown time zone %q (want an IANA name such as Europe/Berlin, or UTC)", s)
	}
	return loc, nil
}

func (p *parser) span(n *yaml.Node, field string, zone *time.Location) (Span, error) {
	if n.Kind != yaml.MappingNode {
		return Span{}, p.errorf(n, field, "want a span {cron, duration, zone}, got %s", describe(n))
	}
	fs, err := p.fields(n, field, []string{"cron", "duration", "zone"})
	if err != nil {
		return Span{}, err
	}
	cronNode, err := p.required(fs, n, field, "cron")
	if err != nil {
		return Span{}, err
	}
	expr, err := p.str(cronNode, fieldPath(field, "cron"))
	if err != nil {
		return Span{}, err
	}
	durNode, err := p.required(fs, n, field, "duration")
	if err != nil {
		return Span{}, err
	}
	d, err := p.duration(durNode, fieldPath(field, "duration"))
	if err != nil {
		return Span{}, err
	}
	if d <= 0 {
		return Span{}, p.errorf(durNode, fieldPath(field, "duration"), "duration %v must be positive", d)
	}
	loc := zone
	if z, ok := fs["zone"]; ok {
		if loc, err = p.zone(z, fieldPath(field, "zone")); err != nil {
			return Span{}, err
		}
	}
	if loc != nil && (strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=")) {
		if _, own := fs["zone"]; own {
			return Span{}, p.errorf(cronNode, fieldPath(field, "cron"), "the expression names a time zone and so does zone; give one")
		}
		loc = nil // the expression's own zone beats the window's default
	}
	s, err := NewSpan(expr, d, loc)
	if err != nil {
		return Span{}, p.wrap(cronNode, fieldPath(field, "cron"), err)
	}
	return s, nil
}

func (p *parser) promotion(val *yaml.Node, field string) (Approver, error) {
	if val.Kind != yaml.MappingNode {
		return nil, p.errorf(val, field, "want a mapping with from and soak, got %s", describe(val))
	}
	fs, err := p.fields(val, field, []string{"from", "soak"})
	if err != nil {
		return nil, err
	}
	fromNode, err := p.required(fs, val, field, "from")
	if err != nil {
		return nil, err
	}
	from, err := p.str(fromNode, fieldPath(field, "from"))
	if err != nil {
		return nil, err
	}
	soakNode, err := p.required(fs, val, field, "soak")
	if err != nil {
		return nil, err
	}
	soak, err := p.duration(soakNode, fieldPath(field, "soak"))
	if err != nil {
		return nil, err
	}
	if soak < 0 {
		return nil, p.errorf(soakNode, fieldPath(field, "soak"), "negative soak %v", soak)
	}
	if p.opts.Ledger == nil {
		return nil, p.errorf(val, field, "promotion from %s needs a ledger holding %s's results (PolicyOptions.Ledger)", from, from)
	}
	pr, err := NewPromotion(p.opts.Ledger, from, soak)
	if err != nil {
		return nil, p.wrap(val, field, err)
	}
	return pr, nil
}

func (p *parser) versions(val *yaml.Node, field string) (Approver, error) {
	items, err := p.list(val, field, "rule ({pack, constraint})")
	if err != nil {
		return nil, err
	}
	rules := make([]PolicyRule, 0, len(items))
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if it.Kind != yaml.MappingNode {
			return nil, p.errorf(it, f, "want a rule {pack, constraint}, got %s", describe(it))
		}
		fs, err := p.fields(it, f, []string{"pack", "constraint"})
		if err != nil {
			return nil, err
		}
		pn, err := p.required(fs, it, f, "pack")
		if err != nil {
			return nil, err
		}
		pattern, err := p.str(pn, fieldPath(f, "pack"))
		if err != nil {
			return nil, err
		}
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, p.errorf(pn, fieldPath(f, "pack"), "pattern %q: %v", pattern, err)
		}
		cn, err := p.required(fs, it, f, "constraint")
		if err != nil {
			return nil, err
		}
		constraint, err := p.str(cn, fieldPath(f, "constraint"))
		if err != nil {
			return nil, err
		}
		if _, err := pack.ParseConstraint(constraint); err != nil {
			return nil, p.wrap(cn, fieldPath(f, "constraint"), err)
		}
		rules = append(rules, PolicyRule{Pattern: pattern, Constraint: constraint})
	}
	pol, err := NewPolicy(rules...)
	if err != nil {
		return nil, p.wrap(val, field, err)
	}
	return pol, nil
}

func (p *parser) combine(kind string, val *yaml.Node, field string) ([]*PolicyNode, Approver, error) {
	items, err := p.list(val, field, "approver")
	if err != nil {
		return nil, nil, err
	}
	parts := make([]*PolicyNode, 0, len(items))
	approvers := make([]Approver, 0, len(items))
	for i, it := range items {
		n, err := p.node(it, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, n)
		approvers = append(approvers, n.Approver)
	}
	var c *Combined
	if kind == KindAll {
		c, err = All(approvers...)
	} else {
		c, err = Any(approvers...)
	}
	if err != nil {
		return nil, nil, p.wrap(val, field, err)
	}
	return parts, c, nil
}
