package scom

import (
	"fmt"
	"strings"

	"mpsync.dev/mpsync/pack"
)

// Where a reconnect finds the Advisor Resources pack, by release.
//
// The connection guide ("Remove Integration with OMS") says the file comes
// "from the most recent update rollup applied to your management group" and
// is found in "%ProgramFiles%\Microsoft System Center 2012" or "System
// Center 2012 R2\Operations Manager\Server\Management Packs for Update
// Rollups". Its later revision (Microsoft, "Connect Operations Manager to
// Azure Monitor", MicrosoftDocs/azure-docs
// articles/azure-monitor/platform/om-agents.md, 2019-08-13) splits it by
// release: "On the source media under the \ManagementPacks folder for System
// Center 2016 - Operations Manager and higher", and for 2012 and 2012 R2 the
// rollup's "Management Packs for Update Rollups" folder under the
// management server's installation folder.
//
// The guide's own wording swaps the "Microsoft " prefix between the two
// releases. The folders below are the management server's default
// installation folders as Microsoft's other pages give them: 2012 SP1
// installs in "Program Files\System Center 2012\Operations Manager\Server"
// (a Microsoft troubleshooting article on ConfigService.config timeouts,
// and the SDK paths of public SCOM 2012 scripts), 2012 R2 in "Program
// Files\Microsoft System Center 2012 R2\Operations Manager\Server" (the Log
// Analytics assessment pages' "On the Operations Manager management server"
// path). A group installed elsewhere has the folder under its own
// installation folder.
const (
	// ResourcesFolder2012SP1 is where an Operations Manager 2012 SP1 update
	// rollup puts the Resources pack file on a management server.
	ResourcesFolder2012SP1 = `%ProgramFiles%\System Center 2012\Operations Manager\Server\Management Packs for Update Rollups`
	// ResourcesFolder2012R2 is where an Operations Manager 2012 R2 update
	// rollup puts the Resources pack file on a management server.
	ResourcesFolder2012R2 = `%ProgramFiles%\Microsoft System Center 2012 R2\Operations Manager\Server\Management Packs for Update Rollups`
	// ResourcesMediaFolder is the folder of the installation media that holds
	// the Resources pack file for Operations Manager 2016 and later.
	ResourcesMediaFolder = `\ManagementPacks`
)

// ResourcesPack is what a reconnect needs of the Advisor Resources pack for
// one management group: which pack, which file, where the file is, and the
// lowest version that is acceptable.
type ResourcesPack struct {
	// ID is the pack id, ResourcesPackPrefix followed by the language code.
	ID string
	// Language is the group's language code, e.g. "ENU".
	Language string
	// File is the file name Microsoft ships: ID followed by ".mpb" (a
	// management pack bundle; mpsync imports the pack extracted from it as
	// .mp or .xml).
	File string
	// Release is the group's release; zero when the group's version is not
	// known.
	Release Release
	// Folder is where the file is for Release; empty when the release is not
	// known.
	Folder string
	// OnMedia is true when Folder is a folder of the release's installation
	// media (2016 and later), false when it is on a management server.
	OnMedia bool
	// Minimum is the lowest acceptable version; zero when the group's
	// version is not known and only the pack's presence can be checked.
	Minimum pack.Version
	// MinimumReason says where Minimum comes from, or why there is none.
	MinimumReason string
}

// Resources returns what a reconnect needs of the Resources pack for a
// group with UI language language at version groupVersion (zero: unknown).
//
// The minimum version is the first build of the group's release
// ([Release.Build]): the first three parts of a management pack's version
// are the Operations Manager build it was built with (Stefan Stranger
// quoting the product group, see release.go), so the Resources pack of a
// release's update rollup carries that release's build. No source was
// found for the revision each update rollup gives the Resources pack, so
// the rollup itself is not checked: a Resources pack of an earlier release is refused,
// one of any rollup of the group's release is taken. A version no known
// release includes takes the newest release below it ([Platform]).
func Resources(language string, groupVersion pack.Version) ResourcesPack {
	id := ResourcesPackID(language)
	r := ResourcesPack{ID: id, Language: language, File: id + ".mpb"}
	if groupVersion.IsZero() {
		r.MinimumReason = "the group's version is not known, so only the pack's presence is checked"
		return r
	}
	_, rel := Platform(groupVersion)
	r.Release = rel
	r.Minimum = rel.Build
	r.MinimumReason = fmt.Sprintf("the first build of %s, the group's release", rel)
	switch rel.Name {
	case "2012 SP1":
		r.Folder = ResourcesFolder2012SP1
	case "2012 R2":
		r.Folder = ResourcesFolder2012R2
	default:
		r.Folder, r.OnMedia = ResourcesMediaFolder, true
	}
	return r
}

// Where says where the operator finds the file, in words for an error
// message ("found in ..."): the folder of the group's release, or every
// known folder when the release is not known.
func (r ResourcesPack) Where() string {
	switch {
	case r.Release.Name == "":
		return fmt.Sprintf("found, for 2012 SP1, in %s; for 2012 R2, in %s (from the latest update rollup applied to the group); for 2016 and later, in the %s folder of the installation media (the group's version is not known, so its release is not)",
			ResourcesFolder2012SP1, ResourcesFolder2012R2, ResourcesMediaFolder)
	case r.OnMedia:
		return fmt.Sprintf("found in the %s folder of the %s installation media", r.Folder, r.Release)
	}
	return fmt.Sprintf("found in %s on a management server (from the latest update rollup of %s applied to the group)", r.Folder, r.Release)
}

// ResourcesLanguage returns the language code of a Resources pack id, and
// false when id is not a Resources pack's.
func ResourcesLanguage(id string) (string, bool) {
	lang, ok := strings.CutPrefix(id, ResourcesPackPrefix)
	if !ok || lang == "" || strings.Contains(lang, ".") {
		return "", false
	}
	return lang, true
}
