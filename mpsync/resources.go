package mpsync

import (
	"fmt"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
)

func checkLanguage(code string) error {
	if err := pack.CheckID(scom.ResourcesPackID(code)); err != nil || len(code) < 2 || len(code) > 8 {
		return fmt.Errorf("language code %q is not valid (want a code such as ENU, DEU, JPN)", code)
	}
	return nil
}
