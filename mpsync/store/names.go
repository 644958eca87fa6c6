package store

import (
	"fmt"

	"mpsync.dev/mpsync/storage"
)

// MaxMetaNameLength is the longest meta record name accepted, in bytes.
const MaxMetaNameLength = 128

// CheckMetaName reports whether name may name a meta record: 1 to
// [MaxMetaNameLength] characters from A-Z a-z 0-9 . _ -, not starting with a
// dot. The restriction keeps every name a plain file name in [Dir], with no
// path separators, no hidden or temporary files and no "..". Errors wrap
// [storage.ErrInvalidName].
func CheckMetaName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", storage.ErrInvalidName)
	case len(name) > MaxMetaNameLength:
		return fmt.Errorf("%w: %.40q... is %d bytes long, at most %d allowed", storage.ErrInvalidName, name, len(name), MaxMetaNameLength)
	case name[0] == '.':
		return fmt.Errorf("%w: %q starts with a dot", storage.ErrInvalidName, name)
	}
	for i, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q has %q at byte %d (allowed: A-Z a-z 0-9 . _ -)", storage.ErrInvalidName, name, r, i)
		}
	}
	return nil
}

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
