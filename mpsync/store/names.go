package store

import (
	"mpsync.dev/mpsync/storage"
)

// MaxMetaNameLength is the longest meta record name accepted, in bytes:
// [storage.MaxMetaNameLength].
const MaxMetaNameLength = storage.MaxMetaNameLength

// CheckMetaName is [storage.CheckMetaName], the rule every store applies.
func CheckMetaName(name string) error { return storage.CheckMetaName(name) }
