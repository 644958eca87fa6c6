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
	return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Build, v.Revision)
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

// Constraint is a version policy such as "~7.2" or ">= 7.0.8433, < 8". It is
// evaluated with semantic-version rules on Major.Minor.Build; the Revision is
// the tie-breaker: when a bound in the constraint is written with four parts
// ("<= 7.1.10226.1239"), the revision is compared only when the first three
// parts equal that bound's. Build it with [ParseConstraint].
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

// ParseConstraint parses a constraint in Masterminds/semver syntax (~, ^, =,
// !=, <, <=, >, >=, ranges with "-", "," for and, "||" for or), whose versions
// may carry a fourth part.
func ParseConstraint(s string) (Constraint, error) {
	if strings.TrimSpace(s) == "" {
		return Constraint{}, fmt.Errorf("invalid version constraint: empty string")
	}
	c := Constraint{text: s}
	for _, alt := range strings.Split(s, "||") {
		chk, err := parseAlternative(alt)
		if err != nil {
			return Constraint{}, fmt.Errorf("invalid version constraint %q: %w", s, err)
		}
		c.checks = append(c.checks, chk)
	}
	return c, nil
}

// parseAlternative rewrites every four-part version in one alternative to its
// first three parts for semver, remembering the four-part bound so the
// revision can break ties.
func parseAlternative(alt string) (constraintCheck, error) {
	var chk constraintCheck
	var rewritten []string
	for _, clause := range strings.Split(alt, ",") {
		clause = strings.TrimSpace(clause)
		op, ver := splitOperator(clause)
		if strings.Count(ver, ".") == 3 {
			v, err := ParseVersion(ver)
			if err != nil {
				return chk, err
			}
			switch op {
			case "", "=", "==", "!=", "<", "<=", ">", ">=":
			default:
				return chk, fmt.Errorf("operator %q cannot take a four-part version %s", op, ver)
			}
			chk.exact = append(chk.exact, boundCheck{op: op, v: v})
			// semver sees the three-part prefix with an operator that does not
			// exclude it; the exact check above decides within that build.
			loose := map[string]string{"": ">=", "=": ">=", "==": ">=", "!=": ">=", "<": "<=", "<=": "<=", ">": ">=", ">=": ">="}[op]
			if op == "" || op == "=" || op == "==" {
				rewritten = append(rewritten, fmt.Sprintf(">= %d.%d.%d, <= %d.%d.%d", v.Major, v.Minor, v.Build, v.Major, v.Minor, v.Build))
				continue
			}
			if op == "!=" {
				rewritten = append(rewritten, ">= 0.0.0")
				continue
			}
			rewritten = append(rewritten, fmt.Sprintf("%s %d.%d.%d", loose, v.Major, v.Minor, v.Build))
			continue
		}
		rewritten = append(rewritten, clause)
	}
	sc, err := semver.NewConstraint(strings.Join(rewritten, ", "))
	if err != nil {
		return chk, err
	}
	chk.semver = sc
	return chk, nil
}

// splitOperator separates a leading comparison operator from a version.
func splitOperator(clause string) (op, ver string) {
	for _, o := range []string{">=", "<=", "!=", "==", ">", "<", "=", "~", "^"} {
		if strings.HasPrefix(clause, o) {
			return o, strings.TrimSpace(clause[len(o):])
		}
	}
	return "", clause
}

// Check reports whether v satisfies the constraint.
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
		case "", "=", "==":
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

// Satisfies reports whether v satisfies the constraint written in s; it is
// [ParseConstraint] followed by [Constraint.Check].
func (v Version) Satisfies(s string) (bool, error) {
	c, err := ParseConstraint(s)
	if err != nil {
		return false, err
	}
	return c.Check(v), nil
}
