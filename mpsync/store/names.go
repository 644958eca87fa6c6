package store

import (
	"mpsync.dev/mpsync/storage"
)

// MaxMetaNameLength is the longest meta record name accepted, in bytes:
// [storage.MaxMetaNameLength].
const MaxMetaNameLength = storage.MaxMetaNameLength

// CheckMetaName is [storage.CheckMetaName], the rule every store applies.
func CheckMetaName(name string) error { return storage.CheckMetaName(name) }

// isSHA256Hex reports whether s is 64 lower-case hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
