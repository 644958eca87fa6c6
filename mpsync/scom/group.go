package scom

import "mpsync.dev/mpsync/pack"

// ManagementGroup is the management group an engine keeps current: its
// name, its Operations Manager version (the 4-part build, zero when unknown)
// and its UI language code, e.g. "ENU".
type ManagementGroup struct {
	// Name names the group, as Operations Manager shows it.
	Name string `json:"name"`
	// Version is the group's Operations Manager build (see [Releases]);
	// zero when not known.
	Version pack.Version `json:"version,omitzero"`
	// Language is the group's UI language code, e.g. "ENU".
	Language string `json:"language"`
}
