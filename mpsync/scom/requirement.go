package scom

import (
	"errors"
	"fmt"

	"mpsync.dev/mpsync/pack"
)

// Requirement is one row of the connection requirement table: how to
// recognise an Operations Manager release from its build number, and the
// minimum build it needs for the integration and for proxy support.
type Requirement struct {
	// Release names the release, e.g. "Operations Manager 2012 R2".
	Release string
	// Match is a version constraint ([pack.ParseConstraint]) that recognises
	// the release's builds, e.g. "7.1.10226" for every 2012 R2 build.
	Match string
	// Minimum is the lowest build the integration supports; zero means the
	// release is not supported at all.
	Minimum pack.Version
	// MinimumName names Minimum, e.g. "Update Rollup 2".
	MinimumName string
	// ProxyMinimum is the lowest build with proxy support; zero means the
	// same as Minimum.
	ProxyMinimum pack.Version
	// ProxyMinimumName names ProxyMinimum.
	ProxyMinimumName string
	// Source says where the numbers come from.
	Source string
}

// Requirements is the table mpsync's Engine.Connect checks a management group's
// version against; the first row whose Match accepts the version decides.
// An engine takes a replacement through mpsync.Options.Requirements.
type Requirements []Requirement

// DefaultRequirements returns the table from the connection guide's System requirements
// ("OMS only supports Operations Manager 2012 SP1 UR6 and greater, and
// Operations Manager 2012 R2 UR2 and greater. Proxy support was added in
// Operations Manager 2012 SP1 UR7 and Operations Manager 2012 R2 UR3"), with
// later releases supported from their first build.
func DefaultRequirements() Requirements {
	const (
		// Blake Drumm's SCOM build table (a Microsoft support engineer),
		// github.com/blakedrumm/SCOM-Scripts-and-SQL, Powershell/Get-ProductVersion.ps1,
		// agreeing with the community table gist.github.com/1RedOne/3e1599cb78e893cec9c374f985d4ccbd.
		community = "Get-ProductVersion.ps1 (blakedrumm/SCOM-Scripts-and-SQL) and the 1RedOne update rollup table"
		// Microsoft's "Operations Manager build versions" pages
		// (learn.microsoft.com/system-center/scom/release-build-versions).
		microsoft = "Microsoft, Operations Manager build versions"
	)
	v := pack.MustParseVersion
	return Requirements{
		{Release: "Operations Manager 2012", Match: "7.0.8560", Source: community + ": 7.0.8560.0 is 2012 RTM, before SP1"},
		{Release: "Operations Manager 2012 SP1", Match: "7.0.9538",
			Minimum: v("7.0.9538.1109"), MinimumName: "Update Rollup 6",
			ProxyMinimum: v("7.0.9538.1117"), ProxyMinimumName: "Update Rollup 7",
			Source: community + ": SP1 UR6 = 7.0.9538.1109, UR7 = 7.0.9538.1117"},
		{Release: "Operations Manager 2012 R2", Match: "7.1.10226",
			Minimum: v("7.1.10226.1015"), MinimumName: "Update Rollup 2",
			ProxyMinimum: v("7.1.10226.1037"), ProxyMinimumName: "Update Rollup 3",
			Source: community + ": R2 UR2 = 7.1.10226.1015, UR3 = 7.1.10226.1037"},
		{Release: "Operations Manager 2016", Match: "7.2.11719", Minimum: v("7.2.11719.0"), MinimumName: "RTM",
			Source: microsoft + " (2016): 7.2.11719.0, general availability"},
		{Release: "Operations Manager 1801/1807", Match: ">= 7.3.13142, < 7.4", Minimum: v("7.3.13142.0"), MinimumName: "1801",
			Source: community + ": 1801 = 7.3.13142.0, 1807 = 7.3.13261.0"},
		{Release: "Operations Manager 2019", Match: "10.19", Minimum: v("10.19.10050.0"), MinimumName: "RTM",
			Source: microsoft + " (2019): 10.19.10050.0, general availability"},
		{Release: "Operations Manager 2022", Match: "10.22", Minimum: v("10.22.10118.0"), MinimumName: "RTM",
			Source: microsoft + " (2022): 10.22.10118.0, general availability"},
		{Release: "Operations Manager 2025", Match: "10.25", Minimum: v("10.25.10132.0"), MinimumName: "RTM",
			Source: microsoft + " (2025): 10.25.10132.0, general availability"},
		{Release: "Operations Manager (a release after 2025)", Match: ">= 10.26, < 20", Minimum: v("10.26.0.0"), MinimumName: "any build",
			Source: "later releases are supported (connection guide: 2016 and on); not yet in Microsoft's table; bounded so that a year typed as a version (\"2016\") is refused"},
	}
}

// Recognise returns the row that recognises v.
func (rs Requirements) Recognise(v pack.Version) (Requirement, bool, error) {
	for _, r := range rs {
		c, err := pack.ParseConstraint(r.Match)
		if err != nil {
			return Requirement{}, false, fmt.Errorf("requirement %q: %w", r.Release, err)
		}
		if c.Check(v) {
			return r, true, nil
		}
	}
	return Requirement{}, false, nil
}

// Check returns nil when a management group at version v meets the
// requirement (with proxy support when proxy is true), and otherwise a
// [*RequirementError] naming the version, the release it was recognised as
// and the minimum needed.
func (rs Requirements) Check(v pack.Version, proxy bool) error {
	r, ok, err := rs.Recognise(v)
	if err != nil {
		return err
	}
	if !ok {
		return &RequirementError{Version: v, Proxy: proxy}
	}
	min, name := r.Minimum, r.MinimumName
	if proxy && !r.ProxyMinimum.IsZero() {
		min, name = r.ProxyMinimum, r.ProxyMinimumName
	}
	if min.IsZero() || v.Less(min) {
		return &RequirementError{Version: v, Release: r.Release, Minimum: min, MinimumName: name, Proxy: proxy}
	}
	return nil
}

// RequirementError is a management group version the integration does not
// support. It matches [ErrRequirement].
type RequirementError struct {
	Version pack.Version
	// Release is the release Version was recognised as; empty when none.
	Release string
	// Minimum is the build needed; zero when the release is not supported.
	Minimum     pack.Version
	MinimumName string
	// Proxy is true when the minimum is the one for proxy support.
	Proxy bool
}

// Error names the version, the release it was recognised as and the
// minimum needed.
func (e *RequirementError) Error() string {
	what := "the integration"
	if e.Proxy {
		what = "the integration through a proxy"
	}
	switch {
	case e.Release == "":
		return fmt.Sprintf("management group version %s is not a recognised Operations Manager release; %s needs 2012 SP1 UR6 (7.0.9538.1109), 2012 R2 UR2 (7.1.10226.1015), 2016 or later",
			e.Version, what)
	case e.Minimum.IsZero():
		return fmt.Sprintf("management group version %s is %s, which %s does not support; upgrade to 2012 SP1 UR6, 2012 R2 UR2, 2016 or later",
			e.Version, e.Release, what)
	}
	return fmt.Sprintf("management group version %s is %s below %s: %s needs %s (%s) or later",
		e.Version, e.Release, e.MinimumName, what, e.Minimum, e.MinimumName)
}

// ErrRequirement is matched by a [*RequirementError]: a management group
// version the integration does not support.
var ErrRequirement = errors.New("management group does not meet the connection requirement")

// Is reports whether target is [ErrRequirement].
func (e *RequirementError) Is(target error) bool { return target == ErrRequirement }
