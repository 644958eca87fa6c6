package pack

import (
	"errors"
	"fmt"
)

// MaxIDLength is the longest pack id accepted, in bytes.
const MaxIDLength = 256

// ErrInvalidID is wrapped by errors for pack ids that cannot be used: empty,
// too long, "." or "..", or holding characters outside A-Z a-z 0-9 . _ -.
var ErrInvalidID = errors.New("invalid management pack id")

// CheckID reports whether id is safe to use as a pack id and as a file name.
// The allowed alphabet is the one docs/protocol.md gives for catalog ids.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: %.40q... is %d characters long, at most %d allowed", ErrInvalidID, id, len(id), MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	for i, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q has %q at byte %d (allowed: A-Z a-z 0-9 . _ -)", ErrInvalidID, id, r, i)
		}
	}
	return nil
}
