package overrides

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mpsync.dev/mpsync/pack"
)

// Identifiers of the platform elements overrides are aimed at.
const (
	// ManagementGroupClass is the class the two Advisor rules target,
	// "Operations Manager Management Group". Overrides for them must use it
	// as their Context.
	ManagementGroupClass = "Microsoft.SystemCenter.ManagementGroup"
	// ManagementGroupClassGUID is the class id of [ManagementGroupClass] as
	// public SCOM tooling records it.
	ManagementGroupClassGUID = "6b1d1be8-ebb4-b425-08dc-2385c5930b04"
	// LibraryPackID is the sealed pack that defines [ManagementGroupClass].
	LibraryPackID = "Microsoft.SystemCenter.Library"
	// AdvisorPackID is the sealed pack that holds the Advisor rules.
	AdvisorPackID = "Microsoft.SystemCenter.Advisor"
	// PublicKeyToken is the key token of Microsoft's sealed packs.
	PublicKeyToken = "31bf3856ad364e35"
)

// ErrInvalid is wrapped by every error about an override or override pack
// that cannot be used: a value that does not parse, a missing attribute, an
// alias the pack does not declare, a duplicate id.
var ErrInvalid = errors.New("invalid override")

// Error describes an invalid override: which pack, which override, which
// value, and why. It wraps [ErrInvalid] and the underlying cause.
type Error struct {
	// Pack is the id of the pack holding the override ("" when unknown).
	Pack string
	// Override is the override's ID attribute ("" when it has none).
	Override string
	// Value is the offending value or attribute text.
	Value string
	// Err is the reason.
	Err error
}

// Error returns "override X in pack Y: value "v": reason".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("override")
	if e.Override != "" {
		b.WriteString(" " + e.Override)
	}
	if e.Pack != "" {
		b.WriteString(" in pack " + e.Pack)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": value %q", e.Value)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns [ErrInvalid] and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// Kind is the element an override is written as.
type Kind int

const (
	// RuleProperty is a RulePropertyOverride: it changes a rule property;
	// for rules only Enabled can be overridden.
	RuleProperty Kind = iota + 1
	// RuleConfiguration is a RuleConfigurationOverride: it changes a
	// parameter of one of the rule's modules, such as Frequency.
	RuleConfiguration
)

// String returns the XML element name of the kind.
func (k Kind) String() string {
	switch k {
	case RuleProperty:
		return "RulePropertyOverride"
	case RuleConfiguration:
		return "RuleConfigurationOverride"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Setting names an overridable setting of a rule: the Enabled property or a
// configuration parameter such as Frequency.
type Setting string

const (
	// Enabled is the rule property that turns a rule on or off.
	Enabled Setting = "Enabled"
	// Frequency is the configuration parameter holding a rule's interval in
	// whole seconds.
	Frequency Setting = "Frequency"
)

// Kind returns the override kind that carries the setting: [RuleProperty]
// for Enabled, [RuleConfiguration] for every parameter.
func (s Setting) Kind() Kind {
	if s == Enabled {
		return RuleProperty
	}
	return RuleConfiguration
}

// Scope is how specific an override's target is. Higher is more specific.
type Scope int

const (
	// ScopeNone means the override does not apply to the management group.
	ScopeNone Scope = iota
	// ScopeClass means the override targets every instance of the
	// management group class.
	ScopeClass
	// ScopeGroup means the override targets a group the caller declared to
	// contain the management group (see [Target.Groups]).
	ScopeGroup
	// ScopeInstance means the override targets one instance
	// (ContextInstance) of the management group class.
	ScopeInstance
)

// String returns "none", "class", "group" or "instance".
func (s Scope) String() string {
	switch s {
	case ScopeClass:
		return "class"
	case ScopeGroup:
		return "group"
	case ScopeInstance:
		return "instance"
	}
	return "none"
}

// PackRef names the pack an override was read from.
type PackRef struct {
	ID      string       `json:"id"`
	Version pack.Version `json:"version"`
}

// String returns "id version".
func (p PackRef) String() string { return p.ID + " " + p.Version.String() }

// Override is one rule override, with aliases resolved through the
// References of the pack holding it.
type Override struct {
	// ID is the override's element id.
	ID string `json:"id"`
	// Kind says whether this is a property or a configuration override.
	Kind Kind `json:"kind"`
	// Rule is the full id of the rule overridden, alias removed.
	Rule string `json:"rule"`
	// RulePack is the id of the pack the Rule alias refers to; "" when the
	// rule was named without an alias (a rule of the same pack).
	RulePack string `json:"rulePack,omitempty"`
	// Property is the property overridden ("Enabled"); set for RuleProperty.
	Property string `json:"property,omitempty"`
	// Parameter is the parameter overridden ("Frequency"); set for
	// RuleConfiguration.
	Parameter string `json:"parameter,omitempty"`
	// Module is the id of the rule module whose parameter is overridden;
	// set for RuleConfiguration.
	Module string `json:"module,omitempty"`
	// Value is the text of the override's Value element.
	Value string `json:"value"`
	// Context is the full id of the class the override applies to, alias
	// removed.
	Context string `json:"context"`
	// ContextPack is the id of the pack the Context alias refers to; ""
	// when the class was named without an alias.
	ContextPack string `json:"contextPack,omitempty"`
	// ContextInstance is the GUID of the one instance the override
	// applies to; "" for the whole class.
	ContextInstance string `json:"contextInstance,omitempty"`
	// Enforced is the Enforced attribute.
	Enforced bool `json:"enforced"`
	// Comment is the optional Comment attribute.
	Comment string `json:"comment,omitempty"`
	// Pack is the pack holding the override.
	Pack PackRef `json:"pack"`
}

// Setting returns the setting the override changes: its Property for a
// property override, its Parameter for a configuration override.
func (o Override) Setting() Setting {
	if o.Kind == RuleProperty {
		return Setting(o.Property)
	}
	return Setting(o.Parameter)
}

// String returns a one-line description such as
// "override X (Frequency=3600) in pack P 1.0.0.0".
func (o Override) String() string {
	return fmt.Sprintf("override %s (%s=%s) in pack %s", o.ID, o.Setting(), o.Value, o.Pack)
}

// Bool parses the value of an Enabled override: "true" or "false", in any
// case, surrounding space ignored.
func (o Override) Bool() (bool, error) { return parseBool(o.Value) }

// Seconds parses the value of a Frequency override: a whole number of
// seconds, at least 1.
func (o Override) Seconds() (time.Duration, error) { return parseSeconds(o.Value) }

// Warning is a value that is valid but probably a mistake, such as a
// Frequency below a minute. Warnings never stop a pack from being read.
type Warning struct {
	Pack     string `json:"pack"`
	Override string `json:"override"`
	Value    string `json:"value"`
	Message  string `json:"message"`
}

// String returns "override X in pack Y: value "v": message".
func (w Warning) String() string {
	return fmt.Sprintf("override %s in pack %s: value %q: %s", w.Override, w.Pack, w.Value, w.Message)
}

// MinSensibleFrequency is the shortest Frequency that draws no [Warning]:
// below a minute, a management group would call the workspace service more
// often than the product ever does.
const MinSensibleFrequency = time.Minute

var (
	errNotBool    = errors.New(`Enabled must be "true" or "false"`)
	errNotSeconds = errors.New("Frequency must be a whole number of seconds, at least 1")
)

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errNotBool
}

// maxFrequencySeconds keeps a Frequency within what a time.Duration holds
// and what SCOM's int32 parameter accepts.
const maxFrequencySeconds = 2147483647

func parseSeconds(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 || n > maxFrequencySeconds {
		return 0, errNotSeconds
	}
	return time.Duration(n) * time.Second, nil
}

// check validates the value of o when its setting is one this package
// knows (Enabled, Frequency) and returns warnings for odd but valid values.
func check(o Override) ([]Warning, error) {
	switch o.Setting() {
	case Enabled:
		if o.Kind != RuleProperty {
			return nil, nil
		}
		if _, err := o.Bool(); err != nil {
			return nil, &Error{Pack: o.Pack.ID, Override: o.ID, Value: o.Value, Err: err}
		}
	case Frequency:
		if o.Kind != RuleConfiguration {
			return nil, nil
		}
		d, err := o.Seconds()
		if err != nil {
			return nil, &Error{Pack: o.Pack.ID, Override: o.ID, Value: o.Value, Err: err}
		}
		if d < MinSensibleFrequency {
			return []Warning{{Pack: o.Pack.ID, Override: o.ID, Value: o.Value,
				Message: fmt.Sprintf("Frequency below %d s makes the management group call the workspace service very often", int(MinSensibleFrequency/time.Second))}}, nil
		}
	}
	return nil, nil
}
