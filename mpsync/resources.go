package mpsync

import (
	"fmt"

	"mpsync.dev/mpsync/pack"
)

// ResourcesPackPrefix is the id prefix of the Advisor resources pack that a
// reconnect needs, followed by the group's language code (connection guide: "re-import
// the Microsoft.SystemCenter.Advisor.Resources.<Language>.mpb management
// pack file from the most recent update rollup").
const ResourcesPackPrefix = "Microsoft.SystemCenter.Advisor.Resources."

// ResourcesFolder is where an update rollup puts the resources pack file on a
// management server (connection guide, "Remove Integration with OMS").
const ResourcesFolder = `%ProgramFiles%\System Center 2012 R2\Operations Manager\Server\Management Packs for Update Rollups`

// ResourcesPackID returns the resources pack id for a language code.
func ResourcesPackID(language string) string { return ResourcesPackPrefix + language }

func checkLanguage(code string) error {
	if err := pack.CheckID(ResourcesPackID(code)); err != nil || len(code) < 2 || len(code) > 8 {
		return fmt.Errorf("language code %q is not valid (want a code such as ENU, DEU, JPN)", code)
	}
	return nil
}
