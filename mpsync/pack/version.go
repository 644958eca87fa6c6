package pack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// MaxVersionPart is the largest value one part of a [Version] may hold: the
// parts are .NET System.Version components, which are non-negative int32s.
const MaxVersionPart = 2147483647

// ErrInvalidVersion is wrapped by every error [ParseVersion] returns.
var ErrInvalidVersion = errors.New("invalid management pack version")

// Version is a management pack version, Major.Minor.Build.Revision, the .NET
// System.Version form. Versions compare part by part, numerically; there are no
// pre-release tags and the fourth part matters. The zero value is 0.0.0.0.
type Version struct {
	Major, Minor, Build, Revision uint32
}

// ParseVersion parses "7.1.10226.1239". One to four parts are accepted; a
// missing part is 0, so "7.1" equals "7.1.0.0". Each part is a decimal integer
// from 0 to [MaxVersionPart], without sign or surrounding space.
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return Version{}, fmt.Errorf("%w: empty string", ErrInvalidVersion)
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return Version{}, fmt.Errorf("%w %q: %d parts, at most 4 allowed", ErrInvalidVersion, s, len(parts))
	}
	var n [4]uint32
	for i, p := range parts {
		if p == "" {
			return Version{}, fmt.Errorf("%w %q: part %d is empty", ErrInvalidVersion, s, i+1)
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return Version{}, fmt.Errorf("%w %q: part %d (%q) is not a non-negative decimal integer", ErrInvalidVersion, s, i+1, p)
			}
		}
		u, err := strconv.ParseUint(p, 10, 64)
		if err != nil || u > MaxVersionPart {
			return Version{}, fmt.Errorf("%w %q: part %d (%s) exceeds %d", ErrInvalidVersion, s, i+1, p, MaxVersionPart)
		}
		n[i] = uint32(u)
	}
	return Version{n[0], n[1], n[2], n[3]}, nil
}

// MustParseVersion is like [ParseVersion] but panics on error. It is meant for
// constants in tests and examples.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns the four-part form, "7.1.10226.1239".
func (v Version) String() string {
	var buf [4*10 + 3]byte
	b, _ := v.AppendText(buf[:0])
	return string(b)
}

// AppendText implements [encoding.TextAppender]: it appends v as
// [Version.String] writes it to b. It never fails.
func (v Version) AppendText(b []byte) ([]byte, error) {
	b = strconv.AppendUint(b, uint64(v.Major), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Minor), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Build), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(v.Revision), 10), nil
}

// IsZero reports whether v is 0.0.0.0.
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or +1 as v is lower than, equal to or higher than w.
func (v Version) Compare(w Version) int {
	a := [4]uint32{v.Major, v.Minor, v.Build, v.Revision}
	b := [4]uint32{w.Major, w.Minor, w.Build, w.Revision}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// Less reports whether v is lower than w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// Equal reports whether v and w are the same version.
func (v Version) Equal(w Version) bool { return v == w }

// MarshalText implements [encoding.TextMarshaler]; JSON encodes a Version as
// its four-part string.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseVersion].
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ErrInvalidConstraint is wrapped by every error [ParseConstraint] returns.
var ErrInvalidConstraint = errors.New("invalid version constraint")

// Constraint is a version policy such as "~7.2" or ">= 7.0.8433, < 8". It is
// evaluated with semantic-version rules (Masterminds/semver syntax) on
// Major.Minor.Build; the Revision is the tie-breaker: when a bound in the
// constraint is written with four parts (">= 7.1.10226.1239"), the revision is
// compared too, and only matters when the first three parts equal that
// bound's. A bound written with three parts or fewer ignores the revision, so
// 7.1.10226.5 satisfies "= 7.1.10226" and does not satisfy "> 7.1.10226".
//
// The zero Constraint is satisfied by no version; build one with
// [ParseConstraint]. A Constraint is immutable, safe for concurrent use, and
// encodes as its text in JSON.
type Constraint struct {
	text   string
	checks []constraintCheck
}

// constraintCheck is one alternative ("||") of a Constraint: a semver
// constraint on the first three parts plus the four-part bounds whose
// revision must be compared separately.
type constraintCheck struct {
	semver *semver.Constraints
	exact  []boundCheck
}

type boundCheck struct {
	op string
	v  Version
}

// ParseConstraint parses a constraint in Masterminds/semver syntax: the
// operators =, !=, <, <=, >, >=, ~ (same minor), ^ (same major), hyphen
// ranges ("7.0 - 7.1.10226.1239"), "," or a space between terms for "and",
// and "||" for "or". Any version in it may carry a fourth part. Errors wrap
// [ErrInvalidConstraint] and quote the constraint.
func ParseConstraint(s string) (Constraint, error) {
	if strings.TrimSpace(s) == "" {
		return Constraint{}, fmt.Errorf("%w: empty string", ErrInvalidConstraint)
	}
	c := Constraint{text: s}
	for i, alt := range strings.Split(s, "||") {
		chk, err := parseAlternative(alt)
		if err != nil {
			return Constraint{}, fmt.Errorf("%w %q: alternative %d: %w", ErrInvalidConstraint, s, i+1, err)
		}
		c.checks = append(c.checks, chk)
	}
	return c, nil
}

// MustParseConstraint is like [ParseConstraint] but panics on error. It is
// meant for constants in tests and examples.
func MustParseConstraint(s string) Constraint {
	c, err := ParseConstraint(s)
	if err != nil {
		panic(err)
	}
	return c
}

// constraintTerm is one "and" term of an alternative: an operator and a
// version, or a hyphen range.
type constraintTerm struct {
	op, ver string
	// hi is the upper bound of a hyphen range "ver - hi"; op is then "-".
	hi string
}

// splitTerms breaks one alternative into its terms. Terms are separated by
// commas or spaces; an operator may be separated from its version by spaces,
// and "a - b" is one range term.
func splitTerms(alt string) ([]constraintTerm, error) {
	var terms []constraintTerm
	for _, part := range strings.Split(alt, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			return nil, errors.New("empty term")
		}
		for i := 0; i < len(fields); i++ {
			f := fields[i]
			if f == "-" {
				if len(terms) == 0 || terms[len(terms)-1].op != "" || i+1 >= len(fields) {
					return nil, errors.New(`a range needs a version on each side of " - "`)
				}
				last := &terms[len(terms)-1]
				last.op, last.hi = "-", fields[i+1]
				i++
				continue
			}
			op, ver := splitOperator(f)
			if ver == "" {
				if i+1 >= len(fields) {
					return nil, fmt.Errorf("operator %q has no version", op)
				}
				i++
				ver = fields[i]
			}
			if _, v2 := splitOperator(ver); v2 != ver {
				return nil, fmt.Errorf("%q has two operators", f+ver)
			}
			terms = append(terms, constraintTerm{op: op, ver: ver})
		}
	}
	return terms, nil
}

// parseAlternative rewrites every four-part version in one alternative to its
// first three parts for semver, remembering the four-part bound so the
// revision can break ties.
func parseAlternative(alt string) (constraintCheck, error) {
	var chk constraintCheck
	terms, err := splitTerms(alt)
	if err != nil {
		return chk, err
	}
	var rewritten []string
	for _, t := range terms {
		if t.op == "-" {
			lo, hi := isFourPart(t.ver), isFourPart(t.hi)
			if !lo && !hi {
				rewritten = append(rewritten, t.ver+" - "+t.hi)
				continue
			}
			// Split the range into its two bounds so each may be four-part.
			for _, b := range []constraintTerm{{op: ">=", ver: t.ver}, {op: "<=", ver: t.hi}} {
				sv, err := rewriteTerm(&chk, b)
				if err != nil {
					return chk, err
				}
				rewritten = append(rewritten, sv...)
			}
			continue
		}
		sv, err := rewriteTerm(&chk, t)
		if err != nil {
			return chk, err
		}
		rewritten = append(rewritten, sv...)
	}
	if len(rewritten) == 0 {
		// Only "!=" four-part terms: every Major.Minor.Build passes semver.
		rewritten = append(rewritten, "*")
	}
	sc, err := semver.NewConstraint(strings.Join(rewritten, ", "))
	if err != nil {
		return chk, err
	}
	chk.semver = sc
	return chk, nil
}

func isFourPart(ver string) bool { return strings.Count(ver, ".") >= 3 }

// rewriteTerm returns the semver form of one term. A term with a four-part
// version becomes a semver term on its first three parts that does not
// exclude that build, plus an exact four-part bound recorded in chk.
func rewriteTerm(chk *constraintCheck, t constraintTerm) ([]string, error) {
	if !isFourPart(t.ver) {
		return []string{t.op + t.ver}, nil
	}
	v, err := ParseVersion(t.ver)
	if err != nil {
		return nil, err
	}
	xyz := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build)
	switch t.op {
	case "", "=", "==":
		chk.exact = append(chk.exact, boundCheck{op: "=", v: v})
		return []string{"=" + xyz}, nil
	case "!=":
		chk.exact = append(chk.exact, boundCheck{op: "!=", v: v})
		return nil, nil
	case "<", "<=":
		chk.exact = append(chk.exact, boundCheck{op: t.op, v: v})
		return []string{"<=" + xyz}, nil
	case ">", ">=":
		chk.exact = append(chk.exact, boundCheck{op: t.op, v: v})
		return []string{">=" + xyz}, nil
	case "~", "~>", "^":
		// ~7.1.10226.1239: at least that version, within 7.1.
		chk.exact = append(chk.exact, boundCheck{op: ">=", v: v})
		return []string{t.op + xyz}, nil
	}
	return nil, fmt.Errorf("operator %q is not supported", t.op)
}

// splitOperator separates a leading comparison operator from a version.
func splitOperator(clause string) (op, ver string) {
	// Longest first, so that ">=" is not read as ">".
	for _, o := range [...]string{"~>", ">=", "<=", "!=", "==", ">", "<", "=", "~", "^"} {
		if strings.HasPrefix(clause, o) {
			return o, strings.TrimSpace(clause[len(o):])
		}
	}
	return "", clause
}

// Check reports whether v satisfies the constraint. The zero Constraint is
// satisfied by no version.
func (c Constraint) Check(v Version) bool {
	sv := semver.New(uint64(v.Major), uint64(v.Minor), uint64(v.Build), "", "")
	for _, chk := range c.checks {
		if chk.semver.Check(sv) && checkBounds(chk.exact, v) {
			return true
		}
	}
	return false
}

func checkBounds(bounds []boundCheck, v Version) bool {
	for _, b := range bounds {
		c := v.Compare(b.v)
		ok := true
		switch b.op {
		case "=":
			ok = c == 0
		case "!=":
			ok = c != 0
		case "<":
			ok = c < 0
		case "<=":
			ok = c <= 0
		case ">":
			ok = c > 0
		case ">=":
			ok = c >= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// String returns the constraint as it was written.
func (c Constraint) String() string { return c.text }

// MarshalText implements [encoding.TextMarshaler]: the constraint as written.
func (c Constraint) MarshalText() ([]byte, error) { return []byte(c.text), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseConstraint].
func (c *Constraint) UnmarshalText(b []byte) error {
	p, err := ParseConstraint(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// Satisfies reports whether v satisfies the constraint written in s; it is
// [ParseConstraint] followed by [Constraint.Check].
func (v Version) Satisfies(s string) (bool, error) {
	c, err := ParseConstraint(s)
	if err != nil {
		return false, err
	}
	return c.Check(v), nil
}
